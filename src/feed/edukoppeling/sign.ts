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

/** The order of the references, as in DUO's example request. */
export const SIGNED_PARTS: readonly SignedPart[] = [...REQUEST_ADDRESSING, 'Body', 'Timestamp'];

/** The element with this wsu:Id, selected by namespace URI and local name (never by prefix). */
const byWsuId = (id: string) => `//*[@*[local-name(.)='Id' and namespace-uri(.)='${NS.wsu}']='${id}']`;

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
      xpath: byWsuId(envelope.ids[part]),
      transforms: [ALG.excC14n],
      digestAlgorithm: ALG.sha256,
      uri: `#${envelope.ids[part]}`,
    });
  }
  sig.computeSignature(envelope.xml, {
    prefix: 'ds',
    // After the token it refers to, before the timestamp, as in DUO's example request.
    location: { reference: `//*[local-name(.)='Timestamp' and namespace-uri(.)='${NS.wsu}']`, action: 'before' },
    existingPrefixes: { wsse: NS.wsse, wsu: NS.wsu },
  });
  return sig.getSignedXml();
}
