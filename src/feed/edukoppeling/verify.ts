/**
 * Verifying a response before one byte of it is used (response rules 2–4).
 *
 * The order matters. The structure is checked first (one Envelope, Header,
 * Body, Security and Signature; unique Ids), so that a reference can only
 * resolve to one element. The signing certificate is then found by following
 * the SecurityTokenReference ourselves — xml-crypto does not, and must never
 * take a key from the message it is judging — and judged: chain to
 * tls.trustAnchors, validity, DUO's OIN, or a pinned certificate. Only then
 * does xml-crypto check the signature with that certificate, with its
 * algorithm tables cut down to exc-c14n, RSA-SHA256 and SHA-256.
 *
 * What is used afterwards is what xml-crypto verified: the elements its
 * references resolved to, in the one parse whose structure and Ids were
 * checked (xml-crypto is handed that parse, not the text to parse again), and
 * the Body, RelatesTo, Action and Timestamp are read from those elements —
 * never found by searching the document, which is what signature wrapping
 * exploits. The position of every signed part in the envelope is checked
 * too, so that a signed Body moved aside for a forged one is refused, not
 * merely ignored. One parse also means no two parsers that could read the
 * same bytes differently (the class of attack behind several SAML bypasses);
 * it is saxes' reading built into the relay's light DOM (strict-xml.ts, dom.ts).
 * Exclusive C14N, the only transform allowed, digests an element's content
 * without comments; what is read skips comments as well (contract.ts textOf
 * and childElements), and a melding is stored as its canonical XML.
 */
import { X509Certificate } from 'node:crypto';
import type { LightDocument, LightElement } from './dom.js';
import { SignedXml } from 'xml-crypto';
import { buildChain } from '../../certs/chain.js';
import { attribute, certFields, commonName, OID, sameCertificate } from '../../certs/x509-fields.js';
import { cleanOutsideText } from '../../observability/outside-text.js';
import { RodError } from '../errors.js';
import { childElements, textOf } from './contract.js';
import { pkcs1VerifyingKey } from '../../certs/signing-key.js';
import { ALG, NS, RESPONSE_ADDRESSING, TOKEN } from './wire.js';
import { parseStrictXml } from './strict-xml.js';
import { canonicalSignedInfo, indexedReferences, internalsOf, loadSignatureFromChildren, PARSED_BY_CALLER } from './xml-crypto-parts.js';

export interface ResponseExpectations {
  /** The request's MessageID exactly as sent. */
  messageId: string;
  /** The request's wsa:Action. */
  action: string;
  /** tls.trustAnchors. */
  anchors: X509Certificate[];
  /** CA certificates that may complete the signer's chain (DUO sends its leaf only). */
  intermediates: X509Certificate[];
  /** rod.edukoppeling.signerOin. */
  signerOin: string;
  /** rod.edukoppeling.signerCertificates: accepted as they are, without the chain and OIN check. */
  pinned: X509Certificate[];
  clockSkewSeconds: number;
  now: Date;
}

export interface VerifiedResponse {
  /** The signed Body: the element xml-crypto's reference resolved to and verified, in its place in the envelope. */
  body: LightElement;
  /** The signing certificate, for the log. */
  signer: X509Certificate;
}

const REQUIRED_PARTS = ['Body', 'Timestamp', ...RESPONSE_ADDRESSING] as const;
type Part = (typeof REQUIRED_PARTS)[number];

/** Where each signed part must be, by namespace URI: Body under Envelope, Timestamp under Security, the rest under Header. */
const PART_OF: Record<string, { part: Part; parent: 'Envelope' | 'Header' | 'Security' }> = {
  [`${NS.soap}|Body`]: { part: 'Body', parent: 'Envelope' },
  [`${NS.wsu}|Timestamp`]: { part: 'Timestamp', parent: 'Security' },
  ...Object.fromEntries(RESPONSE_ADDRESSING.map((name) => [`${NS.wsa}|${name}`, { part: name, parent: 'Header' as const }])),
};

const refuse = (what: string) => new RodError('unverified', `ROD's response did not verify: ${what}; nothing of it was used`);

const key = (el: LightElement) => `${el.namespaceURI ?? ''}|${el.localName ?? ''}`;

export function verifyResponse(text: string, expected: ResponseExpectations): VerifiedResponse {
  const doc = parseStrict(text, 'the response');
  const { counts, ids } = surveyMessage(doc);
  const { envelope, header, security, signature } = envelopeStructure(doc, counts);

  const signer = signingCertificate(signature, security, ids, expected);
  checkSignatureAlgorithms(signature);
  const signed = checkSignature(doc, signature, signer, ids);

  // Every required part signed, each where it belongs.
  const parents: Record<'Envelope' | 'Header' | 'Security', LightElement> = { Envelope: envelope, Header: header, Security: security };
  const byPart = new Map<Part, LightElement>();
  for (const element of signed) {
    const where = PART_OF[key(element)];
    if (!where) continue;
    if (element.parentNode !== parents[where.parent]) throw refuse(`the signed ${where.part} is not in its place in the envelope (signature wrapping)`);
    if (byPart.has(where.part)) throw refuse(`${where.part} is signed twice`);
    byPart.set(where.part, element);
  }
  const missing = REQUIRED_PARTS.filter((p) => !byPart.has(p));
  if (missing.length > 0) throw refuse(`the signature does not cover ${missing.join(', ')}`);

  // Exactly one of each addressing header, and it is the signed one (checked above by position and Id).
  for (const name of RESPONSE_ADDRESSING) {
    const count = childElements(header).filter((c) => key(c) === `${NS.wsa}|${name}`).length;
    if (count !== 1) throw refuse(`the header holds ${count} wsa:${name} elements`);
  }

  const relatesTo = textOf(byPart.get('RelatesTo')!).trim();
  if (relatesTo !== expected.messageId) throw refuse(`wsa:RelatesTo is ${clip(relatesTo)}, not this request's MessageID ${expected.messageId}`);
  const action = textOf(byPart.get('Action')!).trim();
  if (action !== expected.action) throw refuse(`wsa:Action is ${clip(action)}, not ${expected.action}`);
  checkTimestamp(byPart.get('Timestamp')!, expected);

  return { body: byPart.get('Body')!, signer };
}

/** A parse that refuses a DOCTYPE (entities) and anything not well-formed (strict-xml.ts). */
export function parseStrict(text: string, what: string): LightDocument {
  // A DTD could declare entities that expand into the signed content; DUO never sends one.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw refuse(`${what} contains a DOCTYPE or entity declaration`);
  let doc: LightDocument;
  try {
    doc = parseStrictXml(text);
  } catch (err) {
    throw refuse(`${what} is not well-formed XML (${clip((err as Error).message)})`);
  }
  if (!doc.documentElement) throw refuse(`${what} has no root element`);
  return doc;
}

/** The elements a message must hold exactly one of, by namespace URI and local name. */
const UNIQUE_ELEMENTS = [
  ...['Envelope', 'Header', 'Body'].map((name) => ({ key: `${NS.soap}|${name}`, what: `SOAP ${name} elements` })),
  { key: `${NS.ds}|Signature`, what: 'signatures' },
  { key: `${NS.wsse}|Security`, what: 'wsse:Security headers' },
];
const UNIQUE_LOCAL_NAMES = new Set(UNIQUE_ELEMENTS.map((u) => u.key.split('|')[1]!));

/**
 * One walk of the whole message (a page of 500 meldingen is some 20,000
 * elements): how often each element in UNIQUE_ELEMENTS occurs, and every
 * Id-like attribute, which must be unique. xml-crypto resolves a reference by
 * any attribute whose local name is Id, ID or id, so all of those count,
 * whatever their namespace.
 */
function surveyMessage(doc: LightDocument): { counts: Map<string, number>; ids: Map<string, LightElement> } {
  const counts = new Map<string, number>();
  const ids = new Map<string, LightElement>();
  const stack: LightElement[] = [doc.documentElement!];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (UNIQUE_LOCAL_NAMES.has(el.localName ?? '')) counts.set(key(el), (counts.get(key(el)) ?? 0) + 1);
    for (let i = 0; i < el.attributes.length; i++) {
      const attr = el.attributes.item(i)!;
      const name = attr.localName ?? attr.name;
      if (name !== 'Id' && name !== 'ID' && name !== 'id') continue;
      if (ids.has(attr.value)) throw refuse(`the Id ${clip(attr.value)} occurs more than once`);
      ids.set(attr.value, el);
    }
    // Children pushed last first: the walk goes in document order.
    for (let child = el.lastChild; child; child = child.previousSibling) if (child.nodeType === 1) stack.push(child as LightElement);
  }
  return { counts, ids };
}

function envelopeStructure(doc: LightDocument, counts: Map<string, number>): { envelope: LightElement; header: LightElement; security: LightElement; signature: LightElement } {
  const envelope = doc.documentElement!;
  if (key(envelope) !== `${NS.soap}|Envelope`) throw refuse('the root element is not a SOAP 1.1 Envelope');
  for (const { key: k, what } of UNIQUE_ELEMENTS) {
    const count = counts.get(k) ?? 0;
    if (count !== 1) throw refuse(`the message holds ${count} ${what}`);
  }
  const children = childElements(envelope);
  if (children.length !== 2 || key(children[0]!) !== `${NS.soap}|Header` || key(children[1]!) !== `${NS.soap}|Body`) {
    throw refuse('the Envelope does not hold exactly a Header and a Body');
  }
  const header = children[0]!;
  const security = childElements(header).find((c) => key(c) === `${NS.wsse}|Security`);
  if (!security) throw refuse('the Header holds no wsse:Security');
  const signature = childElements(security).find((c) => key(c) === `${NS.ds}|Signature`);
  if (!signature) throw refuse('the Signature is not in the wsse:Security header');
  return { envelope, header, security, signature };
}

/** The BinarySecurityToken the KeyInfo points at, judged before its key is used. */
function signingCertificate(signature: LightElement, security: LightElement, ids: Map<string, LightElement>, expected: ResponseExpectations): X509Certificate {
  const keyInfo = childElements(signature).find((c) => key(c) === `${NS.ds}|KeyInfo`);
  const str = keyInfo && childElements(keyInfo).find((c) => key(c) === `${NS.wsse}|SecurityTokenReference`);
  const reference = str && childElements(str).find((c) => key(c) === `${NS.wsse}|Reference`);
  const uri = reference?.getAttribute('URI') ?? '';
  if (!uri.startsWith('#')) throw refuse('the signature\'s KeyInfo holds no SecurityTokenReference to a BinarySecurityToken');
  const token = ids.get(uri.slice(1));
  if (!token || key(token) !== `${NS.wsse}|BinarySecurityToken` || token.parentNode !== security) {
    throw refuse(`the SecurityTokenReference ${clip(uri)} does not point at a BinarySecurityToken in the Security header`);
  }
  if (token.getAttribute('ValueType') !== TOKEN.x509v3) throw refuse('the BinarySecurityToken is not an X509v3 certificate');
  const encoding = token.getAttribute('EncodingType');
  if (encoding && encoding !== TOKEN.base64Binary) throw refuse('the BinarySecurityToken is not Base64Binary');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(textOf(token).replace(/\s+/g, ''), 'base64'));
  } catch {
    throw refuse('the BinarySecurityToken does not hold a readable certificate');
  }

  const { notBefore, notAfter } = certFields(cert);
  if (expected.now < notBefore || expected.now > notAfter) {
    throw refuse(`the signing certificate '${commonName(cert)}' is not valid now (${notBefore.toISOString()} – ${notAfter.toISOString()})`);
  }
  if (expected.pinned.some((p) => sameCertificate(p, cert))) return cert;

  const chain = buildChain(cert, expected.intermediates, expected.anchors, expected.now);
  if (!chain.root || chain.problems.length > 0) {
    const why = chain.problems.map((p) => p.message).join('; ') || 'it does not reach a trust anchor';
    throw refuse(`the signing certificate '${commonName(cert)}' does not chain to tls.trustAnchors (${why})`);
  }
  const oin = attribute(certFields(cert).subject, OID.serialNumber);
  if (oin !== expected.signerOin) {
    throw refuse(
      `the signing certificate '${commonName(cert)}' carries OIN ${oin ?? '(none)'}, not rod.edukoppeling.signerOin ${expected.signerOin}` +
        ' (DUO\'s test environment signs as 00000099800866472000; or pin its certificate in rod.edukoppeling.signerCertificates)',
    );
  }
  return cert;
}

/** Refuses SHA-1 and any other algorithm before xml-crypto sees the signature, with a message that names it. */
function checkSignatureAlgorithms(signature: LightElement): void {
  const signedInfos = childElements(signature).filter((c) => key(c) === `${NS.ds}|SignedInfo`);
  if (signedInfos.length !== 1) throw refuse(`the signature holds ${signedInfos.length} SignedInfo elements`);
  const signedInfo = signedInfos[0]!;
  const algorithmOf = (parent: LightElement, name: string) =>
    childElements(parent).filter((c) => key(c) === `${NS.ds}|${name}`).map((c) => c.getAttribute('Algorithm') ?? '');
  const c14n = algorithmOf(signedInfo, 'CanonicalizationMethod');
  if (c14n.length !== 1 || c14n[0] !== ALG.excC14n) throw refuse(`SignedInfo is canonicalised with ${c14n.join(', ') || 'nothing'}, not exclusive C14N`);
  const method = algorithmOf(signedInfo, 'SignatureMethod');
  if (method.length !== 1 || method[0] !== ALG.rsaSha256) throw refuse(`the signature method is ${method.join(', ') || 'missing'}, not RSA-SHA256`);
  for (const ref of childElements(signedInfo).filter((c) => key(c) === `${NS.ds}|Reference`)) {
    const digest = algorithmOf(ref, 'DigestMethod');
    if (digest.length !== 1 || digest[0] !== ALG.sha256) throw refuse(`reference ${clip(ref.getAttribute('URI') ?? '')} is digested with ${digest.join(', ') || 'nothing'}, not SHA-256`);
    const transforms = childElements(ref).filter((c) => key(c) === `${NS.ds}|Transforms`);
    const list = transforms.length === 1 ? algorithmOf(transforms[0]!, 'Transform') : [];
    if (list.length !== 1 || list[0] !== ALG.excC14n) throw refuse(`reference ${clip(ref.getAttribute('URI') ?? '')} is not transformed with exclusive C14N alone`);
  }
}

/**
 * xml-crypto's check with the judged certificate only, over `doc`: the
 * references are resolved and canonicalised in this parse (indexedReferences
 * with the caller's parse), so xml-crypto parses only a placeholder. Returns
 * the element each verified reference resolved to, in Reference order.
 */
function checkSignature(doc: LightDocument, signature: LightElement, signer: X509Certificate, ids: Map<string, LightElement>): LightElement[] {
  const sig = new SignedXml({
    publicCert: pkcs1VerifyingKey(signer),
    // Never a key from the message itself: the certificate above was judged, KeyInfo's contents are not trusted.
    getCertFromKeyInfo: () => null,
    idMode: 'wssecurity',
  });
  // Only the algorithms the profile allows exist for this verifier: anything else cannot validate.
  sig.CanonicalizationAlgorithms = pick(sig.CanonicalizationAlgorithms, [ALG.excC14n]);
  sig.HashAlgorithms = pick(sig.HashAlgorithms, [ALG.sha256]);
  sig.SignatureAlgorithms = pick(sig.SignatureAlgorithms, [ALG.rsaSha256]);
  const release = indexedReferences(sig, doc);
  signedInfoInScope(sig, signature);
  let valid = false;
  try {
    // Its parts from the Signature's children, not by XPath (xml-crypto-parts.ts).
    loadSignatureFromChildren(sig, signature);
    valid = sig.checkSignature(PARSED_BY_CALLER);
  } catch (err) {
    throw refuse(`the signature is invalid (${clip((err as Error).message)})`);
  } finally {
    release();
  }
  if (!valid) {
    const failed = sig.getReferences().find((r) => r.validationError)?.validationError?.message;
    throw refuse(`the signature is invalid${failed ? ` (${clip(failed)})` : ''}`);
  }
  if (sig.signatureAlgorithm !== ALG.rsaSha256 || sig.canonicalizationAlgorithm !== ALG.excC14n) throw refuse('the signature uses an algorithm the profile does not allow');

  return sig.getReferences().map((ref) => {
    if (ref.signedReference === undefined || ref.digestAlgorithm !== ALG.sha256) throw refuse(`reference ${clip(ref.uri)} was not verified`);
    if (!ref.uri.startsWith('#')) throw refuse(`reference ${clip(ref.uri)} is not a same-document Id reference`);
    // The one element with this Id (surveyMessage refused a repeat under any of Id, ID, id): the one digested.
    const element = ids.get(ref.uri.slice(1));
    if (!element) throw refuse(`reference ${clip(ref.uri)} resolves to no element`);
    return element;
  });
}

/**
 * xml-crypto canonicalises the SignedInfo of the signature it loaded (ours)
 * with the namespaces in scope of the first element named SignedInfo that an
 * XPath scan of its whole parse finds: one more scan of the page for every
 * response. The namespaces in scope of that same SignedInfo, found by walking
 * up from it, are what the scan is for (the profile allows one Signature, so
 * it is the same element); the canonicalisation stays xml-crypto's
 * (getCanonXml with the loaded algorithm), as in its getCanonSignedInfoXml.
 */
function signedInfoInScope(sig: SignedXml, signature: LightElement): void {
  internalsOf(sig).getCanonSignedInfoXml = () => canonicalSignedInfo(sig, signature);
}

function pick<T>(table: Record<string, T>, allowed: string[]): Record<string, T> {
  return Object.fromEntries(allowed.filter((a) => table[a] !== undefined).map((a) => [a, table[a]!]));
}

function checkTimestamp(timestamp: LightElement, expected: ResponseExpectations): void {
  const field = (name: string) => {
    const els = childElements(timestamp).filter((c) => key(c) === `${NS.wsu}|${name}`);
    return els.length === 1 ? Date.parse(textOf(els[0]!).trim()) : Number.NaN;
  };
  const created = field('Created');
  const expires = field('Expires');
  if (Number.isNaN(created) || Number.isNaN(expires)) throw refuse('the wsu:Timestamp lacks a readable Created or Expires');
  const skew = expected.clockSkewSeconds * 1000;
  const now = expected.now.getTime();
  if (now - skew > expires) throw refuse(`the response expired at ${new Date(expires).toISOString()} (check this machine's clock, or rod.edukoppeling.clockSkewSeconds)`);
  if (created - skew > now) throw refuse(`the response was created in the future (${new Date(created).toISOString()}; check this machine's clock)`);
}

/** A value from the message, for an error message: no control characters, at most 120 characters. */
/** A value from the unverified response, for a refusal message: outside text, so cleaned. */
function clip(value: string): string {
  return cleanOutsideText(value, { max: 120 });
}
