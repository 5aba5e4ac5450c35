/**
 * Requests over Edukoppeling: the envelope, the WS-Addressing headers and the
 * WS-Security signature, for a G4 (RSASSA-PSS hierarchy) and a G1 client.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, constants, createPrivateKey, createPublicKey, createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { describe, expect, inject, it } from 'vitest';
import { buildRequestEnvelope } from '../../../src/feed/edukoppeling/envelope.js';
import { signEnvelope } from '../../../src/feed/edukoppeling/sign.js';
import { pkcs1PublicKey, pkcs1SigningKey, pkcs1VerifyingKey } from '../../../src/certs/signing-key.js';
import { childElements, contractNamed, OPERATIONS, textOf } from '../../../src/feed/edukoppeling/contract.js';
import { ALG, NS, TOKEN } from '../../../src/feed/edukoppeling/wire.js';

const MUNICIPALITY_OIN = '00000001002220647000';
const DUO_OIN = '00000001800866472000';
const contract = contractNamed();
const parties = { to: 'https://duo.nl/ROD/services/verzuim1.0', duoOin: DUO_OIN, fromOin: MUNICIPALITY_OIN, contract };
const NOW = new Date('2026-11-24T08:00:00.000Z');

function clientOf(style: 'pkiG4' | 'pkiG1') {
  const pki = inject(style);
  const cert = new X509Certificate(readFileSync(pki.clientCert));
  const key = pkcs1SigningKey(createPrivateKey(readFileSync(pki.clientKey)));
  return { cert, key };
}

function signedRequest(style: 'pkiG4' | 'pkiG1' = 'pkiG4') {
  const { cert, key } = clientOf(style);
  const envelope = buildRequestEnvelope(parties, OPERATIONS.fetch, { gemeentecode: '0344', vanafVolgnummer: 88100, maximumAantal: 100 }, cert, NOW);
  const xml = signEnvelope(envelope, key);
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  return { envelope, xml, doc, cert };
}

const ns = (el: Element) => `${el.namespaceURI}|${el.localName}`;

describe('an Edukoppeling request', () => {
  for (const style of ['pkiG4', 'pkiG1'] as const) {
    it(`is signed over exactly the six parts, and verifies with the client certificate (${style})`, () => {
      const { xml, doc, cert, envelope } = signedRequest(style);
      const signatures = doc.getElementsByTagNameNS(NS.ds, 'Signature');
      expect(signatures.length).toBe(1);
      const signature = signatures.item(0)!;
      const refs = Array.from(signature.getElementsByTagNameNS(NS.ds, 'Reference'));
      expect(refs.map((r) => r.getAttribute('URI'))).toEqual(
        ['To', 'Action', 'MessageID', 'From', 'Body', 'Timestamp'].map((p) => `#${envelope.ids[p as keyof typeof envelope.ids]}`),
      );
      for (const ref of refs) {
        const transforms = Array.from(ref.getElementsByTagNameNS(NS.ds, 'Transform')).map((t) => t.getAttribute('Algorithm'));
        expect(transforms).toEqual([ALG.excC14n]);
        expect(ref.getElementsByTagNameNS(NS.ds, 'DigestMethod').item(0)!.getAttribute('Algorithm')).toBe(ALG.sha256);
      }
      expect(signature.getElementsByTagNameNS(NS.ds, 'CanonicalizationMethod').item(0)!.getAttribute('Algorithm')).toBe(ALG.excC14n);
      expect(signature.getElementsByTagNameNS(NS.ds, 'SignatureMethod').item(0)!.getAttribute('Algorithm')).toBe(ALG.rsaSha256);
      // KeyInfo → SecurityTokenReference → the BinarySecurityToken, which holds the leaf only.
      const str = signature.getElementsByTagNameNS(NS.wsse, 'Reference').item(0)!;
      expect(str.getAttribute('URI')).toBe(`#${envelope.tokenId}`);
      const token = doc.getElementsByTagNameNS(NS.wsse, 'BinarySecurityToken').item(0)!;
      expect(token.getAttributeNS(NS.wsu, 'Id')).toBe(envelope.tokenId);
      expect(token.getAttribute('ValueType')).toBe(TOKEN.x509v3);
      expect(token.getAttribute('EncodingType')).toBe(TOKEN.base64Binary);
      expect(Buffer.from(textOf(token), 'base64').equals(cert.raw)).toBe(true);

      // An independent check with xml-crypto and the certificate's public key.
      const verifier = new SignedXml({ publicCert: pkcs1VerifyingKey(cert), getCertFromKeyInfo: () => null, idMode: 'wssecurity' });
      verifier.loadSignature(signature as unknown as Parameters<SignedXml['loadSignature']>[0]);
      expect(verifier.checkSignature(xml)).toBe(true);
      expect(verifier.getSignedReferences()).toHaveLength(6);
      // PKCS#1 v1.5 also for G4: the SignatureValue verifies with the RSA padding the rules require.
      expect(verifier.signatureAlgorithm).toBe(ALG.rsaSha256);
    });
  }

  it('carries the addressing headers and the business-document header as the rules say', () => {
    const { doc, envelope } = signedRequest();
    const root = doc.documentElement!;
    expect(ns(root)).toBe(`${NS.soap}|Envelope`);
    const [header, body, ...rest] = childElements(root);
    expect(rest).toHaveLength(0);
    expect(ns(header!)).toBe(`${NS.soap}|Header`);
    expect(childElements(header!).map(ns)).toEqual([
      `${NS.wsse}|Security`,
      `${NS.wsa}|To`,
      `${NS.wsa}|Action`,
      `${NS.wsa}|MessageID`,
      `${NS.wsa}|From`,
    ]);
    const [, to, action, messageId, from] = childElements(header!);
    expect(textOf(to!)).toBe(`https://duo.nl/ROD/services/verzuim1.0?oin=${DUO_OIN}`);
    expect(textOf(action!)).toBe(`${contract.contractNs}/opvragen_verzuimmutaties`);
    expect(textOf(messageId!)).toBe(envelope.messageId);
    expect(envelope.messageId).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(textOf(childElements(from!)[0]!)).toBe(`http://www.w3.org/2005/08/addressing/anonymous?oin=${MUNICIPALITY_OIN}`);
    const ids = [to, action, messageId, from, body].map((el) => el!.getAttributeNS(NS.wsu, 'Id'));
    expect(new Set(ids).size).toBe(5);

    const timestamp = doc.getElementsByTagNameNS(NS.wsu, 'Timestamp').item(0)!;
    const [created, expires] = childElements(timestamp).map(textOf);
    expect(created).toBe('2026-11-24T08:00:00.000Z');
    expect(expires).toBe('2026-11-24T08:05:00.000Z');

    const [request, ...more] = childElements(body!);
    expect(more).toHaveLength(0);
    expect(ns(request!)).toBe(`${contract.schemaNs}|opvragen_verzuimmutaties_request`);
    const fields = Object.fromEntries(childElements(request!).map((c) => [c.localName, textOf(c)]));
    expect(fields).toMatchObject({
      verzendendeInstantie: MUNICIPALITY_OIN,
      ontvangendeInstantie: DUO_OIN,
      datumTijdBedrijfsdocument: '2026-11-24T08:00:00.000Z',
      gemeentecode: '0344',
      vanafVolgnummer: '88100',
      maximumAantal: '100',
    });
    expect(fields.identificatiecodeBedrijfsdocument).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('uses a fresh MessageID, document id and wsu:Ids for every request', () => {
    const a = signedRequest();
    const b = signedRequest();
    expect(a.envelope.messageId).not.toBe(b.envelope.messageId);
    expect(a.envelope.ids.Body).not.toBe(b.envelope.ids.Body);
    const docId = (x: typeof a) => textOf(x.doc.getElementsByTagNameNS(contract.schemaNs, 'identificatiecodeBedrijfsdocument').item(0)!);
    expect(docId(a)).not.toBe(docId(b));
  });

  it('leaves an optional element without a value out', () => {
    const { cert, key } = clientOf('pkiG4');
    const envelope = buildRequestEnvelope(parties, OPERATIONS.setStatus, { meldingsnummer: '2026004711', status: 'IN_BEHANDELING', toelichting: '' }, cert, NOW);
    const xml = signEnvelope(envelope, key);
    expect(xml).not.toContain('toelichting');
    expect(xml).toContain(`<wsa:Action wsu:Id="${envelope.ids.Action}">${contract.contractNs}/wijzigen_statusVerzuimmelding</wsa:Action>`);
  });
});

describe('a key that is RSASSA-PSS only', () => {
  it('signs PKCS#1 v1.5 with the same key material', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha256' });
    // Node refuses PKCS#1 v1.5 padding for an 'rsa-pss' key object.
    expect(() => createSign('RSA-SHA256').update('x').sign({ key: privateKey, padding: constants.RSA_PKCS1_PADDING })).toThrow();
    const rsa = pkcs1SigningKey(privateKey);
    expect(rsa.asymmetricKeyType).toBe('rsa');
    const signature = createSign('RSA-SHA256').update('signed info').sign({ key: rsa, padding: constants.RSA_PKCS1_PADDING });
    // The same public key (modulus) verifies it: nothing but the algorithm identifier changed.
    const pub = createPublicKey(rsa);
    const rsaPublicKey = pub.export({ type: 'pkcs1', format: 'der' });
    expect(publicKey.export({ type: 'spki', format: 'der' }).includes(rsaPublicKey)).toBe(true);
    expect(createVerify('RSA-SHA256').update('signed info').verify(pub, signature)).toBe(true);
    // A signer's 'rsa-pss' public key verifies PKCS#1 v1.5 the same way once converted.
    const verifying = pkcs1PublicKey(publicKey);
    expect(verifying.asymmetricKeyType).toBe('rsa');
    expect(createVerify('RSA-SHA256').update('signed info').verify({ key: verifying, padding: constants.RSA_PKCS1_PADDING }, signature)).toBe(true);
  });
});
