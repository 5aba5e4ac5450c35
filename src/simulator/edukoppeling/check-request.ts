/**
 * The strict checker of an Edukoppeling request: one named check per rule of
 * the README's "A request, rule by rule". Each check throws a RuleViolation
 * (faults.ts holds the code per rule); a request that passes every check is
 * returned as what the handlers need, read from the verified message only.
 */
import { constants, verify, X509Certificate } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import {
  OPERATIONS,
  actionOf,
  childElements,
  requestElement,
  textOf,
  type Bedrijfsdocument,
  type Contract,
  type FetchRequest,
  type Operation,
  type StatusRequest,
} from '../../feed/edukoppeling/contract.js';
import { canonicalSignedInfo, indexedReferences, internalsOf, loadSignatureFromChildren, PARSED_BY_CALLER } from '../../feed/edukoppeling/xml-crypto-parts.js';
import { violation } from './faults.js';
import { ALG, NS, OIN, TOKEN, UUID, allElements, childrenNamed, isIn, oinOfAnonymous, parseXml, pemOfDer, trimmedText, utcDateTime, wsuId } from './wire.js';

export interface CheckContext {
  contract: Contract;
  duoOin: string;
  /** When set, wsa:To must be exactly `<to>?oin=<duoOin>`; otherwise any absolute URL with that query. */
  to: string | undefined;
  now: Date;
  clockSkewSeconds: number;
  /** DER of the TLS client certificate (leaf). */
  tlsCertificate: Buffer;
  /** The OIN in the TLS certificate's subject serialNumber. */
  tlsOin: string | undefined;
  /** May the holder of the TLS certificate act for the organisation in wsa:From? */
  mayActFor(tlsOin: string | undefined, fromOin: string): boolean;
  /** MessageIDs and document ids already received (a repeat is refused). */
  seen: ReplayGuard;
}

export interface RawRequest {
  contentType: string | undefined;
  soapAction: string | undefined;
  body: Buffer;
}

export interface CheckedRequest {
  operation: Operation;
  action: string;
  /** Exactly as sent: the response's RelatesTo. */
  messageId: string;
  fromOin: string;
  bedrijfsdocument: Bedrijfsdocument;
  fields: FetchRequest | StatusRequest;
}

/** Remembers recent ids; a repeat within the window is a replay. */
export class ReplayGuard {
  private readonly ids = new Set<string>();
  constructor(private readonly limit = 100_000) {}
  has(kind: string, id: string): boolean {
    return this.ids.has(`${kind}:${id.toLowerCase()}`);
  }
  add(kind: string, id: string): void {
    if (this.ids.size >= this.limit) this.ids.delete(this.ids.values().next().value!);
    this.ids.add(`${kind}:${id.toLowerCase()}`);
  }
}

/** Every rule, in the order a gateway meets them: transport, envelope, addressing, security, body. */
export function checkRequest(raw: RawRequest, x: CheckContext): CheckedRequest {
  checkContentType(raw.contentType);
  const { text, doc } = checkEnvelope(raw.body);
  const envelope = doc.documentElement!;
  const [header, body] = childElements(envelope) as [Element, Element];
  const addressing = checkAddressingHeaders(header, x);
  checkSoapAction(raw.soapAction, addressing.action);
  const security = checkSecurityHeader(header);
  checkTimestamp(security.timestamp, x);
  const certificate = checkBinarySecurityToken(security.token);
  checkSigningKeyIsTlsKey(certificate, x.tlsCertificate);
  checkSignatureStructure(doc, security.signature);
  checkIds(doc);
  checkSignedParts(doc, security.signature, [addressing.to, addressing.actionEl, addressing.messageIdEl, addressing.fromEl, body, security.timestamp]);
  checkKeyInfo(security.signature, security.token);
  const signedReferences = checkSignatureVerifies(doc, security.signature, certificate);
  // From here on the Body is read from what xml-crypto verified, never from the document it came in.
  const signedBody = signedBodyOf(signedReferences, wsuId(body)!);
  const requestEl = checkBodyChild(signedBody, addressing.operation, x.contract);
  checkNoEmptyElements(signedBody);
  const parsed = checkSchema(requestEl, addressing.operation, x.contract);
  checkBedrijfsdocument(parsed.bedrijfsdocument, addressing.fromOin, x);
  checkMayActFor(x, addressing.fromOin);
  x.seen.add('MessageID', addressing.messageId);
  x.seen.add('document', parsed.bedrijfsdocument.identificatiecodeBedrijfsdocument);
  return {
    operation: addressing.operation,
    action: addressing.action,
    messageId: addressing.messageId,
    fromOin: addressing.fromOin,
    bedrijfsdocument: parsed.bedrijfsdocument,
    fields: parsed.fields,
  };
}

// Rule 2 ------------------------------------------------------------------

export function checkContentType(contentType: string | undefined): void {
  const parts = (contentType ?? '').split(';').map((p) => p.trim().toLowerCase());
  const charset = parts.slice(1).filter((p) => p.startsWith('charset='));
  const value = charset[0]?.slice('charset='.length).replace(/^"(.*)"$/, '$1');
  if (parts[0] !== 'text/xml' || charset.length !== 1 || value !== 'utf-8') {
    violation('DK0002', 'checkContentType', `Content-Type is "${(contentType ?? '').slice(0, 80)}"`);
  }
}

export function checkSoapAction(soapAction: string | undefined, action: string): void {
  if (soapAction === undefined) violation('DK0003', 'checkSoapAction', 'no SOAPAction header');
  const unquoted = /^"(.*)"$/.exec(soapAction)?.[1] ?? soapAction;
  if (unquoted !== action) violation('DK0003', 'checkSoapAction', `SOAPAction "${soapAction.slice(0, 120)}" is not wsa:Action`);
}

// Rule 3 ------------------------------------------------------------------

export function checkEnvelope(bytes: Buffer): { text: string; doc: Document } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    violation('DK0001', 'checkEnvelope', 'the body is not UTF-8');
  }
  const declared = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/.exec(text)?.[1];
  if (declared !== undefined && declared.toUpperCase() !== 'UTF-8') violation('DK0001', 'checkEnvelope', `declared encoding ${declared}`);
  if (/<!DOCTYPE/i.test(text)) violation('DK0001', 'checkEnvelope', 'a DOCTYPE is not allowed');
  let doc: Document;
  try {
    doc = parseXml(text);
  } catch (error) {
    violation('DK0001', 'checkEnvelope', `not well-formed: ${(error as Error).message.split('\n')[0]!.slice(0, 120)}`);
  }
  const envelope = doc.documentElement;
  if (!envelope || !isIn(envelope, NS.soap, 'Envelope')) violation('DK0001', 'checkEnvelope', 'the root is not a SOAP 1.1 Envelope');
  const children = childElements(envelope);
  if (children.length !== 2 || !isIn(children[0]!, NS.soap, 'Header') || !isIn(children[1]!, NS.soap, 'Body')) {
    violation('DK0001', 'checkEnvelope', 'the Envelope must hold one Header followed by one Body');
  }
  return { text, doc };
}

export function checkBodyChild(body: Element, operation: Operation, contract: Contract): Element {
  const children = childElements(body);
  if (children.length !== 1) violation('DK0004', 'checkBodyChild', `the Body holds ${children.length} elements`);
  const child = children[0]!;
  if (!isIn(child, contract.schemaNs, requestElement(operation))) {
    violation('DK0004', 'checkBodyChild', `the Body holds {${child.namespaceURI ?? ''}}${child.localName ?? ''}, expected ${requestElement(operation)}`);
  }
  return child;
}

export function checkNoEmptyElements(body: Element): void {
  for (const el of allElements(body).slice(1)) {
    if (childElements(el).length === 0 && textOf(el).trim() === '') violation('DK0006', 'checkNoEmptyElements', `<${el.localName}> is empty`);
  }
}

interface FieldRule {
  name: string;
  optional?: boolean;
  valid: (text: string) => boolean;
}

const text = () => true;
const integerIn = (min: number, max: number) => (t: string) => /^[0-9]{1,16}$/.test(t) && Number(t) >= min && Number(t) <= max;

const BEDRIJFSDOCUMENT: FieldRule[] = [
  { name: 'identificatiecodeBedrijfsdocument', valid: text },
  { name: 'verzendendeInstantie', valid: (t) => OIN.test(t) },
  { name: 'ontvangendeInstantie', valid: (t) => OIN.test(t) },
  { name: 'datumTijdBedrijfsdocument', valid: (t) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(t) },
];

const SCHEMA: Record<Operation, FieldRule[]> = {
  [OPERATIONS.fetch]: [
    ...BEDRIJFSDOCUMENT,
    { name: 'gemeentecode', valid: (t) => /^[0-9]{4}$/.test(t) },
    { name: 'vanafVolgnummer', valid: integerIn(0, Number.MAX_SAFE_INTEGER) },
    { name: 'maximumAantal', valid: integerIn(1, 500) },
  ],
  [OPERATIONS.setStatus]: [
    ...BEDRIJFSDOCUMENT,
    { name: 'meldingsnummer', valid: (t) => /^[0-9]{1,12}$/.test(t) },
    { name: 'status', valid: (t) => /^[A-Z0-9_]{1,40}$/.test(t) },
    { name: 'toelichting', optional: true, valid: text },
  ],
};

/** The request element against the stand-in XSD: the sequence, one element each, simple values. */
export function checkSchema(request: Element, operation: Operation, contract: Contract): { bedrijfsdocument: Bedrijfsdocument; fields: FetchRequest | StatusRequest } {
  for (let n = request.firstChild; n; n = n.nextSibling) {
    if ((n.nodeType === 3 || n.nodeType === 4) && (n.nodeValue ?? '').trim() !== '') violation('DK0005', 'checkSchema', 'text directly in the request element');
  }
  const values: Record<string, string> = {};
  const children = childElements(request);
  let i = 0;
  for (const rule of SCHEMA[operation]) {
    const child = children[i];
    if (child && isIn(child, contract.schemaNs, rule.name)) {
      if (childElements(child).length > 0) violation('DK0005', 'checkSchema', `<${rule.name}> must hold a value, not elements`);
      const value = rule.name === 'toelichting' ? textOf(child) : textOf(child).trim();
      if (!rule.valid(value)) violation('DK0005', 'checkSchema', `<${rule.name}> has an invalid value`);
      values[rule.name] = value;
      i++;
    } else if (!rule.optional) {
      violation('DK0005', 'checkSchema', `<${rule.name}> missing or out of order`);
    }
  }
  if (i < children.length) violation('DK0005', 'checkSchema', `unexpected element <${children[i]!.localName}>`);
  const bedrijfsdocument: Bedrijfsdocument = {
    identificatiecodeBedrijfsdocument: values.identificatiecodeBedrijfsdocument!,
    verzendendeInstantie: values.verzendendeInstantie!,
    ontvangendeInstantie: values.ontvangendeInstantie!,
    datumTijdBedrijfsdocument: values.datumTijdBedrijfsdocument!,
  };
  const fields: FetchRequest | StatusRequest =
    operation === OPERATIONS.fetch
      ? { gemeentecode: values.gemeentecode!, vanafVolgnummer: Number(values.vanafVolgnummer), maximumAantal: Number(values.maximumAantal) }
      : { meldingsnummer: values.meldingsnummer!, status: values.status!, ...(values.toelichting !== undefined ? { toelichting: values.toelichting } : {}) };
  return { bedrijfsdocument, fields };
}

// Rule 4 ------------------------------------------------------------------

export function checkBedrijfsdocument(doc: Bedrijfsdocument, fromOin: string, x: CheckContext): void {
  const id = doc.identificatiecodeBedrijfsdocument;
  if (!UUID.test(id)) violation('DK0007', 'checkBedrijfsdocument', 'identificatiecodeBedrijfsdocument is not a UUID');
  if (x.seen.has('document', id)) violation('DK0007', 'checkBedrijfsdocument', 'identificatiecodeBedrijfsdocument was received before');
  if (doc.verzendendeInstantie !== fromOin) violation('DK0008', 'checkBedrijfsdocument', 'verzendendeInstantie is not the OIN in wsa:From');
  if (doc.ontvangendeInstantie !== x.duoOin) violation('DK0008', 'checkBedrijfsdocument', "ontvangendeInstantie is not DUO's OIN");
  if (!utcDateTime(doc.datumTijdBedrijfsdocument)) violation('DK0008', 'checkBedrijfsdocument', 'datumTijdBedrijfsdocument is not in UTC');
}

// Rule 5 ------------------------------------------------------------------

interface Addressing {
  to: Element;
  actionEl: Element;
  messageIdEl: Element;
  fromEl: Element;
  action: string;
  operation: Operation;
  messageId: string;
  fromOin: string;
}

const ADDRESSING_HEADERS = ['To', 'Action', 'MessageID', 'From'] as const;

export function checkAddressingHeaders(header: Element, x: CheckContext): Addressing {
  const found: Record<string, Element[]> = { To: [], Action: [], MessageID: [], From: [] };
  for (const child of childElements(header)) {
    if (child.namespaceURI === NS.wsa && (ADDRESSING_HEADERS as readonly string[]).includes(child.localName ?? '')) found[child.localName!]!.push(child);
    else if (!isIn(child, NS.wsse, 'Security')) violation('DK0011', 'checkAddressingHeaders', `unexpected header {${child.namespaceURI ?? ''}}${child.localName ?? ''}`);
  }
  for (const name of ADDRESSING_HEADERS) {
    const code = name === 'MessageID' ? 'DK0010' : 'DK0009';
    if (found[name]!.length !== 1) violation(code, 'checkAddressingHeaders', `wsa:${name} occurs ${found[name]!.length} times`);
    if (!wsuId(found[name]![0]!)) violation(code, 'checkAddressingHeaders', `wsa:${name} has no wsu:Id`);
  }
  const [to, actionEl, messageIdEl, fromEl] = ADDRESSING_HEADERS.map((n) => found[n]![0]!) as [Element, Element, Element, Element];

  const toValue = trimmedText(to);
  const toOk = x.to !== undefined ? toValue === `${x.to}?oin=${x.duoOin}` : /^https?:\/\/[^?#\s]+\?oin=([0-9A-Z]{20})$/.exec(toValue)?.[1] === x.duoOin;
  if (!toOk) violation('DK0009', 'checkAddressingHeaders', `wsa:To "${toValue.slice(0, 120)}" does not address DUO's OIN`);

  const action = trimmedText(actionEl);
  const operation = Object.values(OPERATIONS).find((op) => actionOf(x.contract, op) === action);
  if (!operation) violation('DK0009', 'checkAddressingHeaders', `wsa:Action "${action.slice(0, 120)}" is not an operation of ${x.contract.name}`);

  const messageId = textOf(messageIdEl);
  const bare = /^urn:uuid:(.*)$/.exec(messageId)?.[1] ?? messageId;
  if (!UUID.test(bare)) violation('DK0010', 'checkAddressingHeaders', 'wsa:MessageID is not urn:uuid:<UUID>');
  if (x.seen.has('MessageID', messageId)) violation('DK0010', 'checkAddressingHeaders', 'wsa:MessageID was received before');

  const addresses = childElements(fromEl);
  const address = addresses.length === 1 && isIn(addresses[0]!, NS.wsa, 'Address') ? trimmedText(addresses[0]!) : '';
  const fromOin = oinOfAnonymous(address);
  if (!fromOin) violation('DK0009', 'checkAddressingHeaders', 'wsa:From is not one wsa:Address anonymous?oin=<OIN>');
  return { to, actionEl, messageIdEl, fromEl, action, operation, messageId, fromOin };
}

// Rule 6 ------------------------------------------------------------------

interface Security {
  timestamp: Element;
  token: Element;
  signature: Element;
}

export function checkSecurityHeader(header: Element): Security {
  const blocks = childrenNamed(header, NS.wsse, 'Security');
  if (blocks.length !== 1) violation('EK0020', 'checkSecurityHeader', `wsse:Security occurs ${blocks.length} times`);
  const security = blocks[0]!;
  const pick = (ns: string, name: string, code: 'EK0021' | 'EK0023' | 'EK0025') => {
    const found = childrenNamed(security, ns, name);
    if (found.length !== 1) violation(code, 'checkSecurityHeader', `${name} occurs ${found.length} times in wsse:Security`);
    return found[0]!;
  };
  for (const child of childElements(security)) {
    const known = isIn(child, NS.wsu, 'Timestamp') || isIn(child, NS.wsse, 'BinarySecurityToken') || isIn(child, NS.ds, 'Signature');
    if (!known) violation('EK0020', 'checkSecurityHeader', `unexpected {${child.namespaceURI ?? ''}}${child.localName ?? ''} in wsse:Security`);
  }
  return { timestamp: pick(NS.wsu, 'Timestamp', 'EK0021'), token: pick(NS.wsse, 'BinarySecurityToken', 'EK0023'), signature: pick(NS.ds, 'Signature', 'EK0025') };
}

const MINUTE = 60_000;

export function checkTimestamp(timestamp: Element, x: CheckContext): void {
  if (!wsuId(timestamp)) violation('EK0021', 'checkTimestamp', 'the Timestamp has no wsu:Id');
  const parts = childElements(timestamp);
  if (parts.length !== 2 || !isIn(parts[0]!, NS.wsu, 'Created') || !isIn(parts[1]!, NS.wsu, 'Expires')) {
    violation('EK0021', 'checkTimestamp', 'the Timestamp must hold Created and Expires');
  }
  const created = utcDateTime(trimmedText(parts[0]!));
  const expires = utcDateTime(trimmedText(parts[1]!));
  if (!created || !expires) violation('EK0021', 'checkTimestamp', 'Created and Expires must be UTC xs:dateTime');
  const lifetime = expires.getTime() - created.getTime();
  if (lifetime <= 0 || lifetime > 10 * MINUTE) violation('EK0021', 'checkTimestamp', `Expires is ${lifetime / 1000} s after Created (allowed: up to 600)`);
  const skew = x.clockSkewSeconds * 1000;
  if (expires.getTime() <= x.now.getTime()) violation('EK0022', 'checkTimestamp', 'the Timestamp has expired');
  if (created.getTime() > x.now.getTime() + skew) violation('EK0022', 'checkTimestamp', 'the Timestamp was created in the future');
}

export function checkBinarySecurityToken(token: Element): Buffer {
  if (!wsuId(token)) violation('EK0023', 'checkBinarySecurityToken', 'the token has no wsu:Id');
  if (token.getAttribute('ValueType') !== TOKEN.x509v3) violation('EK0023', 'checkBinarySecurityToken', 'ValueType is not X509v3');
  if (token.getAttribute('EncodingType') !== TOKEN.base64) violation('EK0023', 'checkBinarySecurityToken', 'EncodingType is not Base64Binary');
  const base64 = textOf(token).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) violation('EK0023', 'checkBinarySecurityToken', 'the token is not base64');
  const der = Buffer.from(base64, 'base64');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
  } catch {
    violation('EK0023', 'checkBinarySecurityToken', 'the token is not an X.509 certificate');
  }
  if (certificate.raw.length !== der.length) violation('EK0023', 'checkBinarySecurityToken', 'the token holds more than the leaf certificate');
  return der;
}

export function checkSignatureStructure(doc: Document, signature: Element): void {
  const all = doc.getElementsByTagNameNS(NS.ds, 'Signature');
  if (all.length !== 1) violation('EK0025', 'checkSignatureStructure', `the message holds ${all.length} Signatures`);
  const parts = childElements(signature);
  const signedInfo = childrenNamed(signature, NS.ds, 'SignedInfo');
  if (signedInfo.length !== 1 || childrenNamed(signature, NS.ds, 'SignatureValue').length !== 1 || childrenNamed(signature, NS.ds, 'KeyInfo').length !== 1 || parts.length !== 3) {
    violation('EK0025', 'checkSignatureStructure', 'the Signature must hold SignedInfo, SignatureValue and KeyInfo');
  }
  const info = signedInfo[0]!;
  const c14n = childrenNamed(info, NS.ds, 'CanonicalizationMethod');
  if (c14n.length !== 1 || c14n[0]!.getAttribute('Algorithm') !== ALG.excC14n) violation('EK0026', 'checkSignatureStructure', 'SignedInfo is not canonicalised with exc-c14n');
  const method = childrenNamed(info, NS.ds, 'SignatureMethod');
  if (method.length !== 1 || method[0]!.getAttribute('Algorithm') !== ALG.rsaSha256) {
    violation('EK0026', 'checkSignatureStructure', `SignatureMethod is ${method[0]?.getAttribute('Algorithm') ?? 'missing'}`);
  }
  for (const reference of childrenNamed(info, NS.ds, 'Reference')) {
    const transforms = childrenNamed(reference, NS.ds, 'Transforms').flatMap((t) => childElements(t));
    if (transforms.length !== 1 || !isIn(transforms[0]!, NS.ds, 'Transform') || transforms[0]!.getAttribute('Algorithm') !== ALG.excC14n) {
      violation('EK0026', 'checkSignatureStructure', `Reference ${reference.getAttribute('URI')} must have exactly the exc-c14n transform`);
    }
    const digest = childrenNamed(reference, NS.ds, 'DigestMethod');
    if (digest.length !== 1 || digest[0]!.getAttribute('Algorithm') !== ALG.sha256) {
      violation('EK0026', 'checkSignatureStructure', `Reference ${reference.getAttribute('URI')} digest is ${digest[0]?.getAttribute('Algorithm') ?? 'missing'}`);
    }
  }
}

/** No Id value twice in the message, in any Id attribute a verifier might follow. */
export function checkIds(doc: Document): void {
  const seen = new Set<string>();
  for (const el of allElements(doc.documentElement!)) {
    const attributes = el.attributes;
    for (let i = 0; i < attributes.length; i++) {
      const attr = attributes.item(i)!;
      if (!['Id', 'ID', 'id'].includes(attr.localName ?? '')) continue;
      if (seen.has(attr.value)) violation('EK0029', 'checkIds', `the Id "${attr.value.slice(0, 80)}" occurs more than once`);
      seen.add(attr.value);
    }
  }
}

export function checkSignedParts(doc: Document, signature: Element, required: Element[]): void {
  const info = childrenNamed(signature, NS.ds, 'SignedInfo')[0]!;
  const byId = new Map<string, Element>();
  for (const el of allElements(doc.documentElement!)) {
    const id = wsuId(el);
    if (id) byId.set(id, el);
  }
  const covered: Element[] = [];
  for (const reference of childrenNamed(info, NS.ds, 'Reference')) {
    const uri = reference.getAttribute('URI') ?? '';
    if (!/^#[^#'"\s]+$/.test(uri)) violation('EK0029', 'checkSignedParts', `Reference URI "${uri.slice(0, 80)}" is not #<wsu:Id>`);
    const target = byId.get(uri.slice(1));
    if (!target) violation('EK0027', 'checkSignedParts', `Reference ${uri} points at no element with that wsu:Id`);
    if (covered.includes(target)) violation('EK0027', 'checkSignedParts', `${target.localName} is referenced twice`);
    covered.push(target);
  }
  const missing = required.filter((el) => !covered.includes(el)).map((el) => el.localName);
  const extra = covered.filter((el) => !required.includes(el)).map((el) => el.localName);
  if (missing.length || extra.length) {
    violation('EK0027', 'checkSignedParts', `${missing.length ? `not signed: ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `signed but not allowed: ${extra.join(', ')}` : ''}`);
  }
}

export function checkKeyInfo(signature: Element, token: Element): void {
  const keyInfo = childrenNamed(signature, NS.ds, 'KeyInfo')[0]!;
  const children = childElements(keyInfo);
  const str = children.length === 1 && isIn(children[0]!, NS.wsse, 'SecurityTokenReference') ? children[0]! : undefined;
  const refs = str ? childrenNamed(str, NS.wsse, 'Reference') : [];
  if (refs.length !== 1 || refs[0]!.getAttribute('URI') !== `#${wsuId(token) ?? ''}`) {
    violation('EK0028', 'checkKeyInfo', 'KeyInfo must hold one SecurityTokenReference to the BinarySecurityToken');
  }
  const valueType = refs[0]!.getAttribute('ValueType');
  if (valueType && valueType !== TOKEN.x509v3) violation('EK0028', 'checkKeyInfo', 'the SecurityTokenReference ValueType is not X509v3');
}

/** The verified canonical XML of each signed part, in Reference order. */
export function checkSignatureVerifies(doc: Document, signature: Element, certificate: Buffer): string[] {
  // xml-crypto does not follow a SecurityTokenReference: the certificate is handed over, KeyInfo is never read.
  const verifier = new SignedXml({ publicCert: pemOfDer(certificate), idMode: 'wssecurity', getCertFromKeyInfo: () => null });
  verifier.SignatureAlgorithms[ALG.rsaSha256] = Pkcs1v15Sha256;
  // The relay's lookup of each reference by its Id and of the SignedInfo's namespaces, instead of
  // xml-crypto's XPath scans of the whole request (tens of milliseconds a request, every cycle of an
  // idle relay), in the parse whose structure was checked above rather than a second one;
  // checkIds() above has refused a repeated Id, which that lookup relies on.
  const release = indexedReferences(verifier, doc);
  internalsOf(verifier).getCanonSignedInfoXml = () => canonicalSignedInfo(verifier, signature);
  let valid = false;
  try {
    // Its parts from the Signature's children, not by XPath (xml-crypto-parts.ts).
    loadSignatureFromChildren(verifier, signature);
    valid = verifier.checkSignature(PARSED_BY_CALLER);
  } catch (error) {
    violation('EK0031', 'checkSignatureVerifies', (error as Error).message.slice(0, 160));
  } finally {
    release();
  }
  if (!valid) violation('EK0031', 'checkSignatureVerifies', 'a digest does not match');
  const signed = verifier.getSignedReferences();
  if (signed.length !== 6) violation('EK0031', 'checkSignatureVerifies', 'not every reference was verified');
  return signed;
}

/** The Body as xml-crypto verified it (its canonical form, parsed on its own). */
export function signedBodyOf(signedReferences: string[], bodyId: string): Element {
  for (const canonical of signedReferences) {
    const root = parseXml(canonical).documentElement;
    if (root && isIn(root, NS.soap, 'Body') && wsuId(root) === bodyId) return root;
  }
  return violation('EK0031', 'signedBodyOf', 'the Body is not among the verified references');
}

/**
 * RSA-SHA256 with PKCS#1 v1.5 padding only. xml-crypto's own verifier lets the key decide the padding,
 * so a key marked RSA-PSS would be verified with PSS, which Edukoppeling does not accept.
 */
class Pkcs1v15Sha256 {
  getAlgorithmName(): string {
    return ALG.rsaSha256;
  }
  getSignature(): string {
    throw new Error('verification only');
  }
  verifySignature(material: string, key: string, signatureValue: string): boolean {
    try {
      return verify('sha256', Buffer.from(material), { key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(signatureValue, 'base64'));
    } catch {
      return false;
    }
  }
}

// Rule 7 ------------------------------------------------------------------

export function checkSigningKeyIsTlsKey(token: Buffer, tlsCertificate: Buffer): void {
  if (!token.equals(tlsCertificate)) violation('EK0024', 'checkSigningKeyIsTlsKey', 'the BinarySecurityToken is not the TLS client certificate');
}

// Identity ----------------------------------------------------------------

export function checkMayActFor(x: CheckContext, fromOin: string): void {
  if (!x.mayActFor(x.tlsOin, fromOin)) violation('EK0030', 'checkMayActFor', `the certificate (OIN ${x.tlsOin ?? 'none'}) may not act for OIN ${fromOin}`);
}
