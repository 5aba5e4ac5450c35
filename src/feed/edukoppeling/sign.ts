/**
 * The WS-Security signature over a request envelope (request rules 6 and 7):
 * exclusive C14N, RSA-SHA256 with PKCS#1 v1.5, one SHA-256 reference per
 * signed part — exactly To, Action, MessageID, From, Body and Timestamp, not
 * the token — and a KeyInfo that points at the BinarySecurityToken through a
 * SecurityTokenReference. Canonicalisation and digests are xml-crypto's.
 */
import type { KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import type { RequestEnvelope, SignedPart } from './envelope.js';
import { ALG, NS, REQUEST_ADDRESSING, TOKEN } from './wire.js';
import { canonicalReference, canonicalSignedInfo, internalsOf } from './xml-crypto-parts.js';

/** The order of the references, as in DUO's example request. */
export const SIGNED_PARTS: readonly SignedPart[] = [...REQUEST_ADDRESSING, 'Body', 'Timestamp'];

/**
 * Where each part is in the envelope buildRequestEnvelope writes, by
 * namespace URI (the prefixes resolve through PREFIXES, never the
 * document's), and which wsu:Id it must carry. xml-crypto evaluates these
 * with the `xpath` package, cold code in a process that signs one request a
 * cycle: a path down the children costs a few steps, where the search of
 * every element's every attribute by Id (`//*[@*[…]]`) cost tens of
 * milliseconds a request. The Id in the predicate keeps the selection
 * exact: a part that is not where it belongs, or not the one with that Id,
 * is not found, and xml-crypto refuses to sign.
 */
const PATHS: Record<SignedPart, string> = {
  To: '/soap:Envelope/soap:Header/wsa:To',
  Action: '/soap:Envelope/soap:Header/wsa:Action',
  MessageID: '/soap:Envelope/soap:Header/wsa:MessageID',
  From: '/soap:Envelope/soap:Header/wsa:From',
  Body: '/soap:Envelope/soap:Body',
  Timestamp: '/soap:Envelope/soap:Header/wsse:Security/wsu:Timestamp',
};
const PREFIXES = { soap: NS.soap, wsa: NS.wsa, wsse: NS.wsse, wsu: NS.wsu };
const byPathAndId = (part: SignedPart, id: string) => `${PATHS[part]}[@wsu:Id='${id}']`;

/**
 * Where the signature goes: after the token it refers to, before the
 * timestamp, as in DUO's example request. xml-crypto selects this one
 * without a namespace resolver, so each step names its namespace URI.
 */
const step = (ns: string, name: string) => `*[local-name(.)='${name}' and namespace-uri(.)='${ns}']`;
const BEFORE_TIMESTAMP = `/${step(NS.soap, 'Envelope')}/${step(NS.soap, 'Header')}/${step(NS.wsse, 'Security')}/${step(NS.wsu, 'Timestamp')}`;

/**
 * Signs the envelope with the key of the TLS client certificate. `key` must be
 * an 'rsa' KeyObject (see keys.ts for a G4 key that is 'rsa-pss').
 */
export function signEnvelope(envelope: RequestEnvelope, key: KeyObject): string {
  const sig = new SignedXml({
    idMode: 'wssecurity',
    privateKey: key,
    signatureAlgorithm: ALG.rsaSha256,
    canonicalizationAlgorithm: ALG.excC14n,
    getKeyInfoContent: () =>
      `<wsse:SecurityTokenReference><wsse:Reference URI="#${envelope.tokenId}" ValueType="${TOKEN.x509v3}"/></wsse:SecurityTokenReference>`,
  });
  for (const part of SIGNED_PARTS) {
    sig.addReference({
      xpath: byPathAndId(part, envelope.ids[part]),
      transforms: [ALG.excC14n],
      digestAlgorithm: ALG.sha256,
      uri: `#${envelope.ids[part]}`,
    });
  }
  // The element each reference found is canonicalised as it is, and the
  // SignedInfo with the namespaces in scope where it stands, instead of
  // xml-crypto's deep copy and its XPath scans (xml-crypto-parts.ts).
  const internals = internalsOf(sig);
  const hash = internals.findHashAlgorithm(ALG.sha256);
  internals.calculateReferenceDigest = (ref, node) => hash.getHash(canonicalReference(sig, ref, node));
  internals.getCanonSignedInfoXml = () => {
    if (!internals.signatureNode) throw new Error('xml-crypto has not placed the signature yet');
    return canonicalSignedInfo(sig, internals.signatureNode);
  };
  sig.computeSignature(envelope.xml, {
    prefix: 'ds',
    location: { reference: BEFORE_TIMESTAMP, action: 'before' },
    // Resolves the prefixes of the reference paths; wsse and wsu are also declared where the signature goes.
    existingPrefixes: PREFIXES,
  });
  return sig.getSignedXml();
}
