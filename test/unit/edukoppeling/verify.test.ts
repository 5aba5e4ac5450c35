/**
 * A response is used only when it verifies: signature, signer, coverage,
 * addressing and time. Each forgery below must end in RodError 'unverified'.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { childElements, contractNamed, meldingFromXml, readResponseBody } from '../../../src/feed/edukoppeling/contract.js';
import { pkcs1SigningKey } from '../../../src/certs/signing-key.js';
import { verifyResponse, type ResponseExpectations } from '../../../src/feed/edukoppeling/verify.js';
import { NS } from '../../../src/feed/edukoppeling/wire.js';
import { exclusiveCanonicalXml } from '../../../src/feed/edukoppeling/xml-crypto-parts.js';
import { storedItem, validateItem } from '../../../src/feed/contract.js';
import { RodError } from '../../../src/feed/errors.js';
import { duoResponse, fetchPayload, MELDING, type DuoResponseOptions } from '../../support/edukoppeling-response.js';

const g4 = inject('pkiG4');
const foreign = inject('pkiForeign');
const MESSAGE_ID = 'urn:uuid:2b8f7c1e-5d3a-4e7b-9a0c-6d1e2f3a4b5c';
const ACTION = 'http://duo.nl/contract/DUO_ROD_Verzuim_Gemeente_V1/opvragen_verzuimmutaties';

const certsIn = (file: string) =>
  (readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
const signer = (certFile: string, keyFile: string) => ({
  signerCert: certsIn(certFile)[0]!,
  signerKey: pkcs1SigningKey(createPrivateKey(readFileSync(keyFile))),
});
const duo = signer(g4.serverCert, g4.serverKey);

const expectations = (overrides: Partial<ResponseExpectations> = {}): ResponseExpectations => ({
  messageId: MESSAGE_ID,
  action: ACTION,
  anchors: certsIn(g4.trustAnchors),
  intermediates: certsIn(g4.intermediates),
  signerOin: '00000001800866472000',
  pinned: [],
  clockSkewSeconds: 300,
  now: new Date(),
  ...overrides,
});

const response = (options: Partial<DuoResponseOptions> = {}) => duoResponse({ ...duo, relatesTo: MESSAGE_ID, ...options });

function refused(text: string, pattern: RegExp, overrides: Partial<ResponseExpectations> = {}): void {
  let error: unknown;
  try {
    verifyResponse(text, expectations(overrides));
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(RodError);
  expect((error as RodError).kind).toBe('unverified');
  expect((error as RodError).message).toMatch(pattern);
}

const bodyOf = (xml: string) => xml.match(/<SOAP-ENV:Body[\s\S]*<\/SOAP-ENV:Body>/)![0];

describe('verifying a DUO response', () => {
  it('accepts a response signed like DUO\'s gateway and yields the signed Body only', () => {
    const text = response();
    expect(text).toContain('<SOAP:Header');
    const { body } = verifyResponse(text, expectations());
    expect(`${body.namespaceURI}|${body.localName}`).toBe(`${NS.soap}|Body`);
    const [element] = childElements(body);
    const read = readResponseBody(element!, contractNamed());
    expect(read).toMatchObject({ requestGoedgekeurd: true, volgnummerTot: 88120, meerMutaties: false });
    expect(read.meldingen).toHaveLength(1);
    const raw = exclusiveCanonicalXml(read.meldingen[0]!);
    // What is stored reads back to the same melding, and it passes the feed contract.
    expect(storedItem(raw).value).toEqual(meldingFromXml(read.meldingen[0]!));
    const checked = validateItem(storedItem(raw).value);
    expect(checked.ok).toBe(true);
    expect(meldingFromXml(read.meldingen[0]!)).toMatchObject({ meldingsnummer: MELDING.meldingsnummer, volgnummer: 88120 });
  });

  it('reads a signed Body with a comment or CDATA in it as what was digested: comments out, CDATA as text', () => {
    // Exclusive C14N digests neither comments nor the CDATA markup: both leave the signature valid,
    // so what is read and stored must not see them either.
    for (const [altered, street] of [
      ['Oude<!-- niet ondertekend -->gracht', 'Oudegracht'],
      ['<![CDATA[Oudegracht & co]]>', 'Oudegracht & co'],
    ] as const) {
      const signedWith = (s: string) => response({ payload: fetchPayload([{ ...MELDING, leerling: { ...MELDING.leerling, adres: { ...MELDING.leerling.adres, straatnaam: s } } }]) });
      const text = street === 'Oudegracht' ? response().replace('Oudegracht', altered) : signedWith(street).replace('Oudegracht &amp; co', altered);
      expect(text).toContain(altered);
      const { body } = verifyResponse(text, expectations());
      const melding = readResponseBody(childElements(body)[0]!, contractNamed()).meldingen[0]!;
      expect(meldingFromXml(melding)).toMatchObject({ leerling: { adres: { straatnaam: street } } });
      const raw = exclusiveCanonicalXml(melding);
      expect(raw).not.toContain('<!--');
      expect(raw).not.toContain('CDATA');
      expect(storedItem(raw).value).toEqual(meldingFromXml(melding));
    }
  });

  it('refuses a body altered after signing', () => {
    refused(response().replace('Oudegracht', 'Elders'), /signature is invalid|digest/);
  });

  it('refuses a signer with another OIN', () => {
    // The municipality's own certificate chains to the same anchors but is not DUO.
    refused(response(signer(g4.clientCert, g4.clientKey)), /OIN 00000001002220647000, not rod.edukoppeling.signerOin/);
  });

  it('refuses a signer outside the trust anchors, and accepts it once pinned', () => {
    const other = signer(foreign.serverCert, foreign.serverKey);
    const text = response(other);
    refused(text, /does not chain to tls.trustAnchors/);
    expect(() => verifyResponse(text, expectations({ pinned: [other.signerCert] }))).not.toThrow();
  });

  it('refuses a signed Body moved into a wrapper with a forged Body in its place', () => {
    const text = response();
    const original = bodyOf(text);
    const forged = original.replace(/wsu:Id="[^"]+"/, '').replace('Oudegracht', 'Elders');
    const wrapped = text.replace(original, forged).replace('</SOAP:Header>', `<w:Wrapper xmlns:w="urn:wrap">${original}</w:Wrapper></SOAP:Header>`);
    refused(wrapped, /SOAP Body elements|not in its place/);
  });

  it('refuses a SignatureValue that is not the signature of the SignedInfo', () => {
    const text = response();
    // One character of the value changed: the SignedInfo (and every digest in it) is as signed.
    const forged = text.replace(/(<(?:[\w-]+:)?SignatureValue>)([A-Za-z0-9+/])/, (_m, open: string, c: string) => `${open}${c === 'A' ? 'B' : 'A'}`);
    expect(forged).not.toBe(text);
    refused(forged, /signature is invalid/);
  });

  it('reads the SignatureValue from the Signature itself: line breaks in it are allowed, a second one or a decoy elsewhere is refused', () => {
    const text = response();
    const value = /<((?:[\w-]+:)?)SignatureValue>([^<]+)</.exec(text)!;
    const [prefix, signatureValue] = [value[1]!, value[2]!];
    // Base64 wrapped at 64 characters, as some signers write it.
    const wrapped = text.replace(signatureValue, signatureValue.replace(/(.{64})/g, '$1\r\n'));
    expect(wrapped).not.toBe(text);
    expect(() => verifyResponse(wrapped, expectations())).not.toThrow();
    const second = text.replace(`</${prefix}SignatureValue>`, `</${prefix}SignatureValue><${prefix}SignatureValue>${signatureValue}</${prefix}SignatureValue>`);
    refused(second, /SignatureValue/);
    // A SignatureValue outside XML-DSig's namespace, before the real one, is not the signature's.
    const decoy = text.replace(`<${prefix}SignatureValue>`, `<x:SignatureValue xmlns:x="urn:decoy">AAAA</x:SignatureValue><${prefix}SignatureValue>`);
    expect(() => verifyResponse(decoy, expectations())).not.toThrow();
  });

  it('refuses a reference to an Id that no element carries any more', () => {
    // The Body's Id renamed: the signature names an element the message no longer holds.
    const text = response();
    const id = /<SOAP-ENV:Body[^>]*wsu:Id="([^"]+)"/.exec(text)![1]!;
    refused(text.replace(`wsu:Id="${id}"`, `wsu:Id="${id}-gone"`), /signature is invalid \(the signature references #/);
  });

  it('refuses two Bodies', () => {
    const text = response();
    const original = bodyOf(text);
    refused(text.replace(original, original + original.replace(/wsu:Id="[^"]+"/, '')), /SOAP Body elements|Envelope does not hold/);
  });

  it('refuses a RelatesTo of another request', () => {
    refused(response({ relatesTo: 'urn:uuid:00000000-0000-4000-8000-000000000000' }), /RelatesTo/);
  });

  it('refuses an Action other than the request\'s', () => {
    refused(response({ action: 'http://duo.nl/contract/DUO_ROD_Verzuim_Gemeente_V1/wijzigen_statusVerzuimmelding' }), /wsa:Action/);
  });

  it('refuses an expired Timestamp, beyond the clock skew', () => {
    const now = Date.now();
    refused(response({ created: new Date(now - 20 * 60_000), expires: new Date(now - 15 * 60_000) }), /expired/);
    // Within the skew it is accepted.
    expect(() => verifyResponse(response({ created: new Date(now - 6 * 60_000), expires: new Date(now - 60_000) }), expectations())).not.toThrow();
  });

  it('refuses a SHA-1 digest', () => {
    refused(response({ digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1' }), /not SHA-256/);
  });

  it('refuses a response whose Timestamp is not signed', () => {
    refused(response({ sign: ['To', 'Action', 'MessageID', 'RelatesTo', 'From', 'Body'] }), /does not cover Timestamp/);
  });

  it('refuses a response whose From is not signed', () => {
    refused(response({ sign: ['To', 'Action', 'MessageID', 'RelatesTo', 'Body', 'Timestamp'] }), /does not cover From/);
  });

  it('refuses duplicate Ids', () => {
    const text = response();
    const bodyId = /<SOAP-ENV:Body wsu:Id="([^"]+)"/.exec(text)![1]!;
    const twice = text.replace('</SOAP:Header>', `<x:Extra xmlns:x="urn:x" xmlns:wsu="${NS.wsu}" wsu:Id="${bodyId}">x</x:Extra></SOAP:Header>`);
    refused(twice, /occurs more than once/);
  });

  it('refuses a DOCTYPE', () => {
    refused(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>${response()}`, /DOCTYPE/);
  });

  it('refuses an unsigned message, such as a fault on HTTP 200', () => {
    refused(
      `<soapenv:Envelope xmlns:soapenv="${NS.soap}"><soapenv:Header/><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client.EK0031</faultcode><faultstring>x</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
      /0 signatures/,
    );
  });
});
