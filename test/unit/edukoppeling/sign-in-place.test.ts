/**
 * signInPlace (xml-crypto-parts.ts) writes the signature xml-crypto's own
 * computeSignature writes for the same references, byte for byte: RSA with
 * PKCS#1 v1.5 is deterministic, so the two signed documents must be equal.
 * xml-crypto, unchanged and finding everything by XPath, is the oracle.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { describe, expect, inject, it } from 'vitest';
import { buildRequestEnvelope } from '../../../src/feed/edukoppeling/envelope.js';
import { SIGNED_PARTS, signEnvelope } from '../../../src/feed/edukoppeling/sign.js';
import { pkcs1SigningKey } from '../../../src/certs/signing-key.js';
import { contractNamed, OPERATIONS } from '../../../src/feed/edukoppeling/contract.js';
import { ALG, NS, TOKEN } from '../../../src/feed/edukoppeling/wire.js';
import { signWsSecurity } from '../../../src/simulator/edukoppeling/sign-response.js';

const contract = contractNamed();
const parties = { to: 'https://duo.nl/ROD/services/verzuim1.0', duoOin: '00000001800866472000', fromOin: '00000001002220647000', contract };

function keys(style: 'pkiG4' | 'pkiG1') {
  const pki = inject(style);
  return { cert: new X509Certificate(readFileSync(pki.clientCert)), key: pkcs1SigningKey(createPrivateKey(readFileSync(pki.clientKey))) };
}

/** The request signed by xml-crypto's computeSignature alone, every node found by its XPath. */
function oracleRequest(envelope: ReturnType<typeof buildRequestEnvelope>, key: ReturnType<typeof keys>['key']): string {
  const sig = new SignedXml({
    idMode: 'wssecurity',
    privateKey: key,
    signatureAlgorithm: ALG.rsaSha256,
    canonicalizationAlgorithm: ALG.excC14n,
    getKeyInfoContent: () => `<wsse:SecurityTokenReference><wsse:Reference URI="#${envelope.tokenId}" ValueType="${TOKEN.x509v3}"/></wsse:SecurityTokenReference>`,
  });
  for (const part of SIGNED_PARTS) {
    sig.addReference({ xpath: `//*[@wsu:Id='${envelope.ids[part]}']`, transforms: [ALG.excC14n], digestAlgorithm: ALG.sha256 });
  }
  sig.computeSignature(envelope.xml, {
    prefix: 'ds',
    location: { reference: `//*[local-name(.)='Timestamp' and namespace-uri(.)='${NS.wsu}']`, action: 'before' },
    existingPrefixes: { soap: NS.soap, wsa: NS.wsa, wsse: NS.wsse, wsu: NS.wsu },
  });
  return sig.getSignedXml();
}

describe('signInPlace', () => {
  for (const style of ['pkiG4', 'pkiG1'] as const) {
    it(`signs a request exactly as xml-crypto's computeSignature does (${style})`, () => {
      const { cert, key } = keys(style);
      for (const [operation, fields] of [
        [OPERATIONS.fetch, { gemeentecode: '0344', vanafVolgnummer: 88100, maximumAantal: 500 }],
        [OPERATIONS.setStatus, { meldingsnummer: '2026004711', status: 'IN_BEHANDELING', toelichting: 'a & b < c "d"\r\n' }],
      ] as const) {
        const envelope = buildRequestEnvelope(parties, operation, fields, cert, new Date('2026-11-24T08:00:00.000Z'));
        const signed = signEnvelope(envelope, key);
        expect(signed).toContain('<ds:SignatureValue>');
        expect(signed).toBe(oracleRequest(envelope, key));
      }
    });
  }

  it('signs a response exactly as xml-crypto does, no prefix, appended to Security', () => {
    const { cert, key } = keys('pkiG4');
    const ids = ['Id-1', 'Id-2', 'Timestamp-3'];
    const xml =
      `<S:Envelope xmlns:S="${NS.soap}"><S:Header><wsse:Security xmlns:wsse="${NS.wsse}">` +
      `<wsu:Timestamp xmlns:wsu="${NS.wsu}" wsu:Id="Timestamp-3"><wsu:Created>2026-11-24T08:00:00Z</wsu:Created></wsu:Timestamp>` +
      `<wsse:BinarySecurityToken xmlns:wsu="${NS.wsu}" wsu:Id="Token-4">${cert.raw.toString('base64')}</wsse:BinarySecurityToken></wsse:Security>` +
      `<wsa:To xmlns:wsa="${NS.wsa}" xmlns:wsu="${NS.wsu}" wsu:Id="Id-1">x</wsa:To></S:Header>` +
      `<S:Body xmlns:wsu="${NS.wsu}" wsu:Id="Id-2"><p:a xmlns:p="urn:p"><!-- kept --><p:b q="1">t&amp;t</p:b></p:a></S:Body></S:Envelope>`;
    const keyInfo = `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#Token-4" ValueType="${TOKEN.x509v3}"/></wsse:SecurityTokenReference>`;
    const oracle = new SignedXml({ privateKey: key, idMode: 'wssecurity', canonicalizationAlgorithm: ALG.excC14n, signatureAlgorithm: ALG.rsaSha256, getKeyInfoContent: () => keyInfo });
    for (const id of ids) oracle.addReference({ xpath: `//*[@*[local-name(.)='Id' and namespace-uri(.)='${NS.wsu}']='${id}']`, transforms: [ALG.excC14n], digestAlgorithm: ALG.sha256 });
    oracle.computeSignature(xml, { location: { reference: `//*[local-name(.)='Security' and namespace-uri(.)='${NS.wsse}']`, action: 'append' } });
    expect(signWsSecurity(xml, { references: ids, digest: ALG.sha256, tokenId: 'Token-4', key })).toBe(oracle.getSignedXml());
  });

  it('refuses a part that does not carry the wsu:Id it was given', () => {
    const { cert, key } = keys('pkiG4');
    const envelope = buildRequestEnvelope(parties, OPERATIONS.fetch, { gemeentecode: '0344', vanafVolgnummer: 1, maximumAantal: 1 }, cert, new Date());
    const moved = { ...envelope, ids: { ...envelope.ids, Body: envelope.ids.To } };
    expect(() => signEnvelope(moved, key)).toThrow(/Body does not carry the wsu:Id/);
  });

  it('refuses an element to sign that has no wsu:Id', () => {
    const { key } = keys('pkiG4');
    const xml = `<S:Envelope xmlns:S="${NS.soap}"><S:Header><wsse:Security xmlns:wsse="${NS.wsse}"/></S:Header><S:Body/></S:Envelope>`;
    expect(() => signWsSecurity(xml, { references: ['Id-9'], digest: ALG.sha256, tokenId: 'T', key })).toThrow(/Id-9/);
  });
});
