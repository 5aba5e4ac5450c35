/**
 * The WS-Security signature over a request envelope (request rules 6 and 7):
 * exclusive C14N, RSA-SHA256 with PKCS#1 v1.5, one SHA-256 reference per
 * signed part — exactly To, Action, MessageID, From, Body and Timestamp, not
 * the token — and a KeyInfo that points at the BinarySecurityToken through a
 * SecurityTokenReference. Canonicalisation, digests and the signature value
 * are xml-crypto's (xml-crypto-parts.ts signInPlace).
 */
import type { KeyObject } from 'node:crypto';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { childElements } from './contract.js';
import type { RequestEnvelope, SignedPart } from './envelope.js';
import { ALG, NS, REQUEST_ADDRESSING, TOKEN } from './wire.js';
import { serializeSigned, signInPlace } from './xml-crypto-parts.js';

/** The order of the references, as in DUO's example request. */
export const SIGNED_PARTS: readonly SignedPart[] = [...REQUEST_ADDRESSING, 'Body', 'Timestamp'];

/**
 * Signs the envelope with the key of the TLS client certificate. `key` must be
 * an 'rsa' KeyObject (see keys.ts for a G4 key that is 'rsa-pss').
 */
export function signEnvelope(envelope: RequestEnvelope, key: KeyObject): string {
  const doc = new DOMParser().parseFromString(envelope.xml, 'text/xml');
  const root = doc.documentElement;
  if (!root) throw new Error('the request envelope has no root element');
  const header = child(root, NS.soap, 'Header');
  const security = child(header, NS.wsse, 'Security');
  const timestamp = child(security, NS.wsu, 'Timestamp');
  // Each part where buildRequestEnvelope writes it, and only with the wsu:Id
  // it was given: a part that is elsewhere, or is not the one with that Id,
  // is not signed and the request is not sent.
  const where: Record<SignedPart, Element> = {
    To: child(header, NS.wsa, 'To'),
    Action: child(header, NS.wsa, 'Action'),
    MessageID: child(header, NS.wsa, 'MessageID'),
    From: child(header, NS.wsa, 'From'),
    Body: child(root, NS.soap, 'Body'),
    Timestamp: timestamp,
  };
  const references = SIGNED_PARTS.map((part) => {
    const element = where[part];
    if (element.getAttributeNS(NS.wsu, 'Id') !== envelope.ids[part]) throw new Error(`the request's ${part} does not carry the wsu:Id ${envelope.ids[part]}`);
    return element;
  });
  signInPlace(doc, {
    references,
    digestAlgorithm: ALG.sha256,
    signatureAlgorithm: ALG.rsaSha256,
    key,
    prefix: 'ds',
    keyInfoContent: `<wsse:SecurityTokenReference><wsse:Reference URI="#${envelope.tokenId}" ValueType="${TOKEN.x509v3}"/></wsse:SecurityTokenReference>`,
    // Declared on Security and the Envelope, where the signature goes.
    prefixesInScope: { wsse: NS.wsse, wsu: NS.wsu },
    // After the token it refers to, before the timestamp, as in DUO's example request.
    place: (signature) => security.insertBefore(signature, timestamp),
  });
  return serializeSigned(doc);
}

/** The one child element of `parent` with this namespace and local name. */
function child(parent: Element, ns: string, localName: string): Element {
  const found = childElements(parent).filter((c) => c.namespaceURI === ns && c.localName === localName);
  if (found.length !== 1) throw new Error(`the request envelope's ${parent.localName} has ${found.length} ${localName} elements, not one`);
  return found[0]!;
}
