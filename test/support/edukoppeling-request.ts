/**
 * Builds Edukoppeling requests for the simulator's tests, the way the README
 * says a client must send them, with a knob per rule so a test can break
 * exactly one. Written independently of the simulator's checker and of the
 * relay's client: only the contract module and xml-crypto are shared.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { actionOf, childElements, contractNamed, requestBodyXml, type FetchRequest, type Operation, type StatusRequest } from '../../src/feed/edukoppeling/contract.js';

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
export const X509V3 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
export const BASE64 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
export const DUO_OIN = '00000001800866472000';
export const CONTRACT = contractNamed();

export type Part = 'To' | 'Action' | 'MessageID' | 'From' | 'Body' | 'Timestamp' | 'Token';
export const SIGNED_PARTS: readonly Part[] = ['To', 'Action', 'MessageID', 'From', 'Body', 'Timestamp'];

export interface RequestOptions {
  /** PEM of the client certificate (leaf first) and its key: the token and the signing key. */
  cert: string;
  key: string;
  operation?: Operation;
  fields?: FetchRequest | StatusRequest;
  fromOin?: string;
  /** The whole wsa:To value. */
  to?: string;
  action?: string;
  /** The SOAPAction header as sent (default the action, quoted); null leaves it out. */
  soapAction?: string | null;
  contentType?: string;
  messageId?: string;
  identificatiecode?: string;
  verzendendeInstantie?: string;
  ontvangendeInstantie?: string;
  datumTijdBedrijfsdocument?: string;
  created?: string;
  expires?: string;
  /** PEM whose first certificate goes in the token (default cert); or the raw base64 content. */
  tokenPem?: string;
  tokenBase64?: string;
  tokenValueType?: string;
  tokenEncodingType?: string;
  signedParts?: readonly Part[];
  digest?: string;
  signatureAlgorithm?: string;
  canonicalization?: string;
  transforms?: string[];
  /** Replaces the KeyInfo content. */
  keyInfo?: string;
  /** XML put in the Header after the addressing headers. */
  extraHeader?: string;
  /** Replaces what the Body holds. */
  bodyXml?: string;
  /** Edits the unsigned envelope text. */
  beforeSign?: (xml: string) => string;
  /** Edits the signed envelope text. */
  afterSign?: (xml: string) => string;
}

export interface BuiltRequest {
  xml: string;
  headers: Record<string, string>;
  messageId: string;
  identificatiecode: string;
  action: string;
}

const ID = { To: 'id-To', Action: 'id-Action', MessageID: 'id-MessageID', From: 'id-From', Body: 'id-Body', Timestamp: 'id-Timestamp' } as const;

export function leafBase64(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64');
}

export function buildRequest(o: RequestOptions): BuiltRequest {
  const operation = o.operation ?? 'opvragen_verzuimmutaties';
  const fields = o.fields ?? (operation === 'opvragen_verzuimmutaties' ? { gemeentecode: '0344', vanafVolgnummer: 0, maximumAantal: 100 } : { meldingsnummer: '1', status: 'IN_BEHANDELING' });
  const fromOin = o.fromOin ?? '00000001002220647000';
  const action = o.action ?? actionOf(CONTRACT, operation);
  const messageId = o.messageId ?? `urn:uuid:${randomUUID()}`;
  const identificatiecode = o.identificatiecode ?? randomUUID();
  const now = new Date();
  const created = o.created ?? now.toISOString();
  const expires = o.expires ?? new Date(Date.parse(created) + 5 * 60_000).toISOString();
  const tokenId = `X509-${randomUUID()}`;
  const token = o.tokenBase64 ?? leafBase64(o.tokenPem ?? o.cert);
  const body =
    o.bodyXml ??
    requestBodyXml(
      CONTRACT,
      operation,
      {
        identificatiecodeBedrijfsdocument: identificatiecode,
        verzendendeInstantie: o.verzendendeInstantie ?? fromOin,
        ontvangendeInstantie: o.ontvangendeInstantie ?? DUO_OIN,
        datumTijdBedrijfsdocument: o.datumTijdBedrijfsdocument ?? now.toISOString(),
      },
      fields,
    );
  let xml =
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soapenv:Envelope xmlns:soapenv="${NS.soap}" xmlns:wsu="${NS.wsu}">` +
    `<soapenv:Header xmlns:wsa="${NS.wsa}">` +
    `<wsse:Security xmlns:wsse="${NS.wsse}">` +
    `<wsse:BinarySecurityToken wsu:Id="${tokenId}" EncodingType="${o.tokenEncodingType ?? BASE64}" ValueType="${o.tokenValueType ?? X509V3}">${token}</wsse:BinarySecurityToken>` +
    `<wsu:Timestamp wsu:Id="${ID.Timestamp}"><wsu:Created>${created}</wsu:Created><wsu:Expires>${expires}</wsu:Expires></wsu:Timestamp>` +
    `</wsse:Security>` +
    `<wsa:To wsu:Id="${ID.To}">${o.to ?? `https://duo.nl/ROD/services/verzuim1.0?oin=${DUO_OIN}`}</wsa:To>` +
    `<wsa:Action wsu:Id="${ID.Action}">${action}</wsa:Action>` +
    `<wsa:MessageID wsu:Id="${ID.MessageID}">${messageId}</wsa:MessageID>` +
    `<wsa:From wsu:Id="${ID.From}"><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous?oin=${fromOin}</wsa:Address></wsa:From>` +
    (o.extraHeader ?? '') +
    `</soapenv:Header>` +
    `<soapenv:Body wsu:Id="${ID.Body}">${body}</soapenv:Body>` +
    `</soapenv:Envelope>`;
  if (o.beforeSign) xml = o.beforeSign(xml);

  const signer = new SignedXml({
    privateKey: o.key,
    idMode: 'wssecurity',
    canonicalizationAlgorithm: o.canonicalization ?? EXC_C14N,
    signatureAlgorithm: o.signatureAlgorithm ?? RSA_SHA256,
    getKeyInfoContent: () =>
      o.keyInfo ?? `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#${tokenId}" ValueType="${X509V3}"/></wsse:SecurityTokenReference>`,
  });
  for (const part of o.signedParts ?? SIGNED_PARTS) {
    const id = part === 'Token' ? tokenId : ID[part];
    signer.addReference({ xpath: `//*[@*[local-name(.)='Id' and namespace-uri(.)='${NS.wsu}']='${id}']`, transforms: o.transforms ?? [EXC_C14N], digestAlgorithm: o.digest ?? SHA256 });
  }
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: `//*[local-name(.)='Security']`, action: 'append' } });
  let signed = signer.getSignedXml();
  if (o.afterSign) signed = o.afterSign(signed);

  const headers: Record<string, string> = { 'content-type': o.contentType ?? 'text/xml; charset=UTF-8' };
  if (o.soapAction !== null) headers.soapaction = o.soapAction ?? `"${action}"`;
  return { xml: signed, headers, messageId, identificatiecode, action };
}

/** What a test checks of a response after verifying it with a certificate it trusts. */
export interface VerifiedResponse {
  valid: boolean;
  error?: string;
  /** The canonical XML of each signed part, as xml-crypto verified it. */
  signedReferences: string[];
  /** The Reference URIs (without '#'). */
  referenceIds: string[];
  digestAlgorithms: string[];
  /** The certificate in the BinarySecurityToken. */
  token: X509Certificate;
}

function elementsNS(root: Element, ns: string, name: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(ns, name) as unknown as ArrayLike<Element>);
}

/** Verifies a response's signature with the certificate from its BinarySecurityToken (found by namespace, not via KeyInfo). */
export function verifyResponse(xml: string): VerifiedResponse {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const root = doc.documentElement!;
  const [token] = elementsNS(root, NS.wsse, 'BinarySecurityToken');
  const certificate = new X509Certificate(Buffer.from(token!.textContent!.trim(), 'base64'));
  const [signature] = elementsNS(root, NS.ds, 'Signature');
  const references = elementsNS(signature!, NS.ds, 'Reference');
  const verifier = new SignedXml({ publicCert: certificate.toString(), idMode: 'wssecurity', getCertFromKeyInfo: () => null });
  verifier.loadSignature(signature as unknown as Parameters<SignedXml['loadSignature']>[0]);
  let valid = false;
  let error: string | undefined;
  try {
    valid = verifier.checkSignature(xml);
  } catch (e) {
    error = (e as Error).message;
  }
  return {
    valid,
    ...(error !== undefined ? { error } : {}),
    signedReferences: verifier.getSignedReferences(),
    referenceIds: references.map((r) => (r.getAttribute('URI') ?? '').replace(/^#/, '')),
    digestAlgorithms: references.map((r) => elementsNS(r, NS.ds, 'DigestMethod')[0]!.getAttribute('Algorithm') ?? ''),
    token: certificate,
  };
}

/** Parses a response text (tests only look at structure with it, after verifyResponse). */
export function parse(xml: string): Element {
  return new DOMParser().parseFromString(xml, 'text/xml').documentElement!;
}

export function children(element: Element, ns: string, name: string): Element[] {
  return childElements(element).filter((c) => c.namespaceURI === ns && c.localName === name);
}
