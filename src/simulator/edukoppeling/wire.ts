/**
 * The Edukoppeling wire vocabulary the simulated ROD checks and answers with:
 * namespaces, algorithm URIs, and small DOM helpers that select by namespace
 * URI (never by prefix). Nothing here depends on the verzuim contract; that
 * lives in src/feed/edukoppeling/contract.ts.
 */
import { DOMParser, onWarningStopParsing, type Document, type Element } from '@xmldom/xmldom';
import { childElements, textOf } from '../../feed/edukoppeling/contract.js';

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export const ALG = {
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
} as const;

export const TOKEN = {
  x509v3: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3',
  base64: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary',
} as const;

/** The anonymous WS-Addressing address that carries an OIN: `…/anonymous?oin=<OIN>`. */
export const ANONYMOUS = 'http://www.w3.org/2005/08/addressing/anonymous';

/** DUO's OIN (production and test environment alike). */
export const DUO_OIN = '00000001800866472000';

/** Where the simulator serves SOAP by default, as DUO's endpoint path. */
export const DEFAULT_SOAP_PATH = '/ROD/services/verzuim1.0';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const OIN = /^[0-9A-Z]{20}$/;

/** Parses XML strictly: any warning or error stops parsing (and throws). */
export function parseXml(text: string): Document {
  return new DOMParser({ onError: onWarningStopParsing }).parseFromString(text, 'text/xml');
}

export function isIn(element: Element, ns: string, localName: string): boolean {
  return element.namespaceURI === ns && element.localName === localName;
}

/** Child elements with this namespace and local name. */
export function childrenNamed(element: Element, ns: string, localName: string): Element[] {
  return childElements(element).filter((c) => isIn(c, ns, localName));
}

/** Every element below (and including) a node, in document order. */
export function allElements(root: Element): Element[] {
  const out: Element[] = [root];
  for (const child of childElements(root)) out.push(...allElements(child));
  return out;
}

export function wsuId(element: Element): string | null {
  return element.getAttributeNS(NS.wsu, 'Id') || null;
}

export function trimmedText(element: Element): string {
  return textOf(element).trim();
}

/** The OIN in `…/anonymous?oin=<OIN>`; undefined when the address has another form. */
export function oinOfAnonymous(address: string): string | undefined {
  const prefix = `${ANONYMOUS}?oin=`;
  if (!address.startsWith(prefix)) return undefined;
  const oin = address.slice(prefix.length);
  return OIN.test(oin) ? oin : undefined;
}

/** An xs:dateTime in UTC (ending in Z), as a Date; undefined otherwise. */
export function utcDateTime(text: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(text)) return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export function derOfPem(pem: string | Buffer): Buffer {
  const text = pem.toString();
  const match = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
  if (!match) throw new Error('no certificate in PEM');
  return Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
}

export function pemOfDer(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
