/**
 * The ROD simulator speaking Edukoppeling (SOAP 1.1, WS-Addressing, WS-Security) over real mutual TLS:
 * valid signed requests get DUO-style signed responses; each request rule broken on purpose gets its
 * fault code; business refusals; and each injection produces what it says.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { simulatorCommand } from '../../src/app/commands/simulator.js';
import type { Logger, LogFields } from '../../src/observability/log.js';
import { childElements, meldingFromXml, readResponseBody, textOf } from '../../src/feed/edukoppeling/contract.js';
import { SimulatedFeed } from '../../src/simulator/feed.js';
import { MeldingGenerator, advanceFeed } from '../../src/simulator/generate.js';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/server.js';
import { FAULTS, type Forgery } from '../../src/simulator/edukoppeling/endpoint.js';
import {
  CONTRACT,
  DUO_OIN,
  NS,
  SHA1,
  SHA256,
  buildRequest,
  children,
  leafBase64,
  parse,
  verifyResponse,
  type BuiltRequest,
  type RequestOptions,
} from '../support/edukoppeling-request.js';

const pki = inject('pkiG4');
const foreign = inject('pkiForeign');
const CLIENT_OIN = '00000001002220647000';
const OTHER_OIN = '00000001009999999000';
const NOW = new Date('2026-11-24T10:00:00+01:00');
const now = () => NOW;

let agent: Agent;
let clientCert: string;
let clientKey: string;
let serverCert: string;
const running: RunningSimulator[] = [];

beforeAll(() => {
  clientCert = readFileSync(pki.clientCert, 'utf8');
  clientKey = readFileSync(pki.clientKey, 'utf8');
  serverCert = readFileSync(pki.serverCert, 'utf8');
  agent = new Agent({ connect: { ca: readFileSync(pki.trustAnchors), cert: clientCert, key: clientKey } });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await agent.close();
});

interface Logged {
  event: string;
  fields: Record<string, unknown>;
}

function populatedFeed(seed = 3): SimulatedFeed {
  const feed = new SimulatedFeed({ seed });
  const gen = new MeldingGenerator({ seed, gemeentecode: '0344', now });
  const other = new MeldingGenerator({ seed: seed + 100, gemeentecode: '0599', now });
  advanceFeed(feed, gen, { nieuw: 12, wijzigingen: 0, intrekkingen: 0 });
  advanceFeed(feed, other, { nieuw: 4, wijzigingen: 0, intrekkingen: 0 });
  advanceFeed(feed, gen, { nieuw: 4, wijzigingen: 3, intrekkingen: 2 });
  return feed;
}

async function start(extra: Partial<SimulatorOptions> = {}, feed = populatedFeed()): Promise<RunningSimulator & { logged: Logged[] }> {
  const logged: Logged[] = [];
  const simulator = await startSimulator({
    cert: serverCert,
    key: readFileSync(pki.serverKey),
    clientCa: readFileSync(pki.trustAnchors),
    gemeenten: { '0344': { oin: CLIENT_OIN }, '0599': { oin: OTHER_OIN } },
    feed,
    protocol: 'edukoppeling',
    log: (event, fields) => logged.push({ event, fields }),
    ...extra,
  });
  running.push(simulator);
  return Object.assign(simulator, { logged });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function post(simulator: RunningSimulator, built: Pick<BuiltRequest, 'xml' | 'headers'>, url = simulator.url): Promise<Answer> {
  const response = await request(url, { method: 'POST', dispatcher: agent, headers: built.headers, body: built.xml });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

function req(options: Partial<RequestOptions> = {}): BuiltRequest {
  return buildRequest({ cert: clientCert, key: clientKey, ...options });
}

function faultcodeOf(answer: Answer): string {
  const envelope = parse(answer.text);
  const body = children(envelope, NS.soap, 'Body')[0]!;
  const fault = children(body, NS.soap, 'Fault')[0]!;
  return textOf(childElements(fault).find((c) => c.localName === 'faultcode')!).trim();
}

function expectFault(answer: Answer, code: string): void {
  expect(answer.status, answer.text).toBe(500);
  expect(answer.headers['content-type']).toBe('text/xml; charset=UTF-8');
  expect(faultcodeOf(answer)).toBe(`soapenv:${code}`);
}

/** The response's header blocks and signed body, after checking the signature with the server certificate. */
function signedParts(answer: Answer) {
  expect(answer.status, answer.text).toBe(200);
  const verified = verifyResponse(answer.text);
  expect(verified.error).toBeUndefined();
  expect(verified.valid).toBe(true);
  expect(verified.token.raw.equals(new X509Certificate(serverCert).raw)).toBe(true);
  const envelope = parse(answer.text);
  const header = childElements(envelope)[0]!;
  const wsa = (name: string) => textOf(children(header, NS.wsa, name)[0]!).trim();
  // The Body as signed: parsed from what xml-crypto verified, never searched for in the document.
  const bodyXml = verified.signedReferences.find((r) => /^<[A-Za-z0-9-]+:Body[\s>]/.test(r))!;
  const body = parse(bodyXml);
  return { verified, envelope, header, wsa, body, response: childElements(body)[0]! };
}

describe('a valid request', () => {
  it('gets a page of the feed in a response signed the way DUO signs', async () => {
    const simulator = await start();
    expect(simulator.url).toMatch(/^https:\/\/localhost:\d+\/ROD\/services\/verzuim1\.0$/);
    const built = req({ fields: { gemeentecode: '0344', vanafVolgnummer: 0, maximumAantal: 5 } });
    const answer = await post(simulator, built);
    expect(answer.headers['content-type']).toBe('text/xml; charset=UTF-8');
    const { verified, envelope, header, wsa, response } = signedParts(answer);

    // DUO's quirks: two prefixes for the SOAP namespace, ns2 for the payload, wsu declared on each signed element.
    expect(answer.text.startsWith(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="${NS.soap}"><SOAP:Header xmlns:SOAP="${NS.soap}">`)).toBe(true);
    expect(envelope.prefix).toBe('SOAP-ENV');
    expect(header.prefix).toBe('SOAP');
    expect(response.prefix).toBe('ns2');
    expect(answer.text).not.toContain('SignatureConfirmation');
    expect(verified.referenceIds).toHaveLength(7);
    for (const id of verified.referenceIds) expect(id).toMatch(/^(Id|Timestamp)-[0-9a-f-]{36}$/);
    expect(verified.digestAlgorithms.every((a) => a === SHA256)).toBe(true);
    for (const signed of verified.signedReferences) expect(signed).toContain(`xmlns:wsu="${NS.wsu}"`);
    const signedNames = verified.signedReferences.map((r) => /^<([A-Za-z0-9-]+:)?([A-Za-z]+)/.exec(r)![2]);
    expect(signedNames.sort()).toEqual(['Action', 'Body', 'From', 'MessageID', 'RelatesTo', 'Timestamp', 'To']);
    expect(answer.text).toMatch(/SecurityToken-[0-9a-f-]{36}/);

    expect(wsa('RelatesTo')).toBe(built.messageId);
    expect(wsa('Action')).toBe(built.action);
    expect(wsa('To')).toBe(`http://www.w3.org/2005/08/addressing/anonymous?oin=${CLIENT_OIN}`);
    expect(wsa('MessageID')).toMatch(/^urn:uuid:/);
    const read = readResponseBody(response, CONTRACT);
    expect(read.requestGoedgekeurd).toBe(true);
    expect(read.meerMutaties).toBe(true);
    const expected = simulator.feed.page('0344', 0, 5);
    expect(read.volgnummerTot).toBe(expected.volgnummerTot);
    // XML leaves out what JSON sends as null.
    expect(read.meldingen.map((m) => meldingFromXml(m))).toEqual(JSON.parse(JSON.stringify(expected.verzuimmeldingen, (_k, v: unknown) => (v === null ? undefined : v))));
    const echoed = childElements(response).find((c) => c.localName === 'identificatiecodeBedrijfsdocument')!;
    expect(textOf(echoed)).toBe(built.identificatiecode);
    expect(simulator.edukoppeling!.lastRequest).toBe(built.xml);
    expect(simulator.feed.requests.at(-1)).toMatchObject({ method: 'POST', status: 200, operation: 'opvragen_verzuimmutaties', oin: CLIENT_OIN });
  });

  it('pages with an exclusive vanafVolgnummer until meerMutaties is false', async () => {
    const simulator = await start();
    const all = simulator.feed.page('0344', 0, 500).verzuimmeldingen.map((m) => (m as { volgnummer: number }).volgnummer);
    const seen: number[] = [];
    let vanaf = 0;
    for (let pages = 0; pages < 20; pages++) {
      const { response } = signedParts(await post(simulator, req({ fields: { gemeentecode: '0344', vanafVolgnummer: vanaf, maximumAantal: 7 } })));
      const read = readResponseBody(response, CONTRACT);
      seen.push(...read.meldingen.map((m) => meldingFromXml(m).volgnummer as number));
      vanaf = read.volgnummerTot!;
      if (!read.meerMutaties) break;
    }
    expect(seen).toEqual(all);
  });

  it('accepts SOAPAction unquoted and a bare UUID MessageID, which RelatesTo echoes exactly', async () => {
    const simulator = await start();
    const messageId = '2B8F7C1E-5D3A-4E7B-9A0C-6D1E2F3A4B5C';
    const built = req({ messageId });
    built.headers.soapaction = built.action;
    const { wsa } = signedParts(await post(simulator, built));
    expect(wsa('RelatesTo')).toBe(messageId);
  });

  it('changes a status, and refuses a transition with V409', async () => {
    const simulator = await start();
    const nummer = simulator.feed.meldingsnummers('0344', (s) => s === 'GEREGISTREERD')[0]!;
    const ok = signedParts(await post(simulator, req({ operation: 'wijzigen_statusVerzuimmelding', fields: { meldingsnummer: nummer, status: 'IN_BEHANDELING', toelichting: 'Opgepakt' } })));
    expect(readResponseBody(ok.response, CONTRACT)).toMatchObject({ requestGoedgekeurd: true });
    expect(ok.response.localName).toBe('wijzigen_statusVerzuimmelding_response');
    expect(simulator.feed.statusWijzigingen.at(-1)).toMatchObject({ meldingsnummer: nummer, status: 'IN_BEHANDELING', toelichting: 'Opgepakt' });

    const back = signedParts(await post(simulator, req({ operation: 'wijzigen_statusVerzuimmelding', fields: { meldingsnummer: nummer, status: 'TER_KENNISGEVING_AANGENOMEN' } })));
    expect(readResponseBody(back.response, CONTRACT).requestGoedgekeurd).toBe(true);
    const refused = signedParts(await post(simulator, req({ operation: 'wijzigen_statusVerzuimmelding', fields: { meldingsnummer: nummer, status: 'IN_BEHANDELING' } })));
    expect(readResponseBody(refused.response, CONTRACT)).toMatchObject({ requestGoedgekeurd: false, foutmelding: { foutcode: 'V409' } });
  });
});

describe('business refusals: HTTP 200, signed, requestGoedgekeurd false', () => {
  const cases: Array<[string, Partial<RequestOptions>, string]> = [
    ['V403 for a gemeente the OIN in wsa:From may not read', { fields: { gemeentecode: '0599', vanafVolgnummer: 0, maximumAantal: 10 } }, 'V403'],
    ['V404 for an unknown gemeente', { fields: { gemeentecode: '0999', vanafVolgnummer: 0, maximumAantal: 10 } }, 'V404'],
    ['V404 for an unknown melding', { operation: 'wijzigen_statusVerzuimmelding', fields: { meldingsnummer: '999999999', status: 'IN_BEHANDELING' } }, 'V404'],
    ['V400 for a status the gemeente may not set', { operation: 'wijzigen_statusVerzuimmelding', fields: { meldingsnummer: 'FIRST', status: 'GEREGISTREERD' } }, 'V400'],
  ];
  it.each(cases)('%s', async (_name, options, foutcode) => {
    const simulator = await start();
    const fields = options.fields as Record<string, unknown> | undefined;
    if (fields?.meldingsnummer === 'FIRST') fields.meldingsnummer = simulator.feed.meldingsnummers('0344')[0]!;
    const { response } = signedParts(await post(simulator, req(options)));
    const read = readResponseBody(response, CONTRACT);
    expect(read.requestGoedgekeurd).toBe(false);
    expect(read.foutmelding?.foutcode).toBe(foutcode);
    expect(read.foutmelding?.fouttekst).toMatch(/^[A-Z]/);
    expect(read.meldingen).toEqual([]);
  });

  it('V403 for a melding of a gemeente the OIN may not read', async () => {
    const simulator = await start();
    const nummer = simulator.feed.meldingsnummers('0599')[0]!;
    const { response } = signedParts(await post(simulator, req({ operation: 'wijzigen_statusVerzuimmelding', fields: { meldingsnummer: nummer, status: 'IN_BEHANDELING' } })));
    expect(readResponseBody(response, CONTRACT).foutmelding?.foutcode).toBe('V403');
  });
});

describe('each request rule, broken on purpose, gets its fault', () => {
  let simulator: RunningSimulator & { logged: Logged[] };
  beforeAll(async () => {
    simulator = await start({ edukoppeling: { now: () => new Date() } });
    running.splice(running.indexOf(simulator), 1);
  });
  afterAll(async () => {
    await simulator.close();
  });

  const minutes = (n: number) => new Date(Date.now() + n * 60_000).toISOString();
  const statusOp = { operation: 'wijzigen_statusVerzuimmelding' as const, fields: { meldingsnummer: '1', status: 'IN_BEHANDELING' } };
  const removeSecurity = (xml: string) => xml.replace(/<wsse:Security[\s\S]*<\/wsse:Security>/, '');
  const signatureOf = (xml: string) => /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(xml)![0];
  /** Signature wrapping: the signed Body moves into a wrapper at `where`, a forged Body without Id takes its place. */
  const wrapBody = (where: '</soapenv:Header>' | '</wsse:Security>') => (xml: string) => {
    const body = /<soapenv:Body[\s\S]*<\/soapenv:Body>/.exec(xml)![0];
    const forged = body.replace(/ wsu:Id="[^"]*"/, '').replace('<duo:maximumAantal>100<', '<duo:maximumAantal>500<');
    return xml.replace(body, forged).replace(where, `<w:Wrapper xmlns:w="urn:example:wrapper">${body}</w:Wrapper>${where}`);
  };

  const cases: Array<[string, string, () => Partial<RequestOptions>]> = [
    // Rule 3: envelope
    ['not well-formed XML', 'DK0001', () => ({ afterSign: (x) => x.replace('</soapenv:Envelope>', '') })],
    ['a SOAP 1.2 envelope', 'DK0001', () => ({ beforeSign: (x) => x.replaceAll(NS.soap, 'http://www.w3.org/2003/05/soap-envelope') })],
    ['an encoding other than UTF-8 declared', 'DK0001', () => ({ afterSign: (x) => `<?xml version="1.0" encoding="ISO-8859-1"?>${x.replace(/^<\?xml[^>]*\?>/, '')}` })],
    ['a DOCTYPE', 'DK0001', () => ({ afterSign: (x) => x.replace(/^(<\?xml[^>]*\?>)?/, '$1<!DOCTYPE x [<!ENTITY e "e">]>') })],
    // Rule 2: content type and SOAPAction
    ['Content-Type application/soap+xml', 'DK0002', () => ({ contentType: 'application/soap+xml; charset=UTF-8' })],
    ['charset ISO-8859-1', 'DK0002', () => ({ contentType: 'text/xml; charset=ISO-8859-1' })],
    ['no charset', 'DK0002', () => ({ contentType: 'text/xml' })],
    ['no SOAPAction', 'DK0003', () => ({ soapAction: null })],
    ['SOAPAction of another operation', 'DK0003', () => ({ soapAction: `"${CONTRACT.contractNs}/wijzigen_statusVerzuimmelding"` })],
    // Rule 3: body and schema
    ['two requests in the Body', 'DK0004', () => ({ beforeSign: (x) => x.replace(/(<duo:opvragen[\s\S]*_request>)/, '$1$1') })],
    ['the request in another namespace', 'DK0004', () => ({ beforeSign: (x) => x.replace(`xmlns:duo="${CONTRACT.schemaNs}"`, 'xmlns:duo="http://duo.nl/schema/Iets_Anders"') })],
    ['a Body that does not match wsa:Action', 'DK0004', () => ({ action: `${CONTRACT.contractNs}/wijzigen_statusVerzuimmelding` })],
    ['maximumAantal 501', 'DK0005', () => ({ fields: { gemeentecode: '0344', vanafVolgnummer: 0, maximumAantal: 501 } })],
    ['a gemeentecode of three digits', 'DK0005', () => ({ fields: { gemeentecode: '344', vanafVolgnummer: 0, maximumAantal: 10 } })],
    ['a required element missing', 'DK0005', () => ({ beforeSign: (x) => x.replace('<duo:gemeentecode>0344</duo:gemeentecode>', '') })],
    ['an unknown element', 'DK0005', () => ({ beforeSign: (x) => x.replace('<duo:maximumAantal>', '<duo:extra>1</duo:extra><duo:maximumAantal>') })],
    ['an optional element sent empty', 'DK0006', () => ({ ...statusOp, beforeSign: (x) => x.replace('</duo:wijzigen_statusVerzuimmelding_request>', '<duo:toelichting/></duo:wijzigen_statusVerzuimmelding_request>') })],
    // Rule 4: business-document header
    ['identificatiecodeBedrijfsdocument not a UUID', 'DK0007', () => ({ identificatiecode: 'bericht-1' })],
    ['verzendendeInstantie other than wsa:From', 'DK0008', () => ({ verzendendeInstantie: OTHER_OIN })],
    ['ontvangendeInstantie other than DUO', 'DK0008', () => ({ ontvangendeInstantie: OTHER_OIN })],
    ['datumTijdBedrijfsdocument not in UTC', 'DK0008', () => ({ datumTijdBedrijfsdocument: '2026-11-24T09:00:00+01:00' })],
    // Rule 5: addressing
    ['wsa:To without DUO\'s OIN', 'DK0009', () => ({ to: 'https://duo.nl/ROD/services/verzuim1.0' })],
    ['wsa:To with another OIN', 'DK0009', () => ({ to: `https://duo.nl/ROD/services/verzuim1.0?oin=${OTHER_OIN}` })],
    ['wsa:To twice', 'DK0009', () => ({ extraHeader: `<wsa:To>https://duo.nl/ROD/services/verzuim1.0?oin=${DUO_OIN}</wsa:To>` })],
    ['wsa:To without wsu:Id', 'DK0009', () => ({ signedParts: ['Action', 'MessageID', 'From', 'Body', 'Timestamp'], beforeSign: (x) => x.replace('<wsa:To wsu:Id="id-To">', '<wsa:To>') })],
    ['wsa:Action of an unknown operation', 'DK0009', () => ({ action: `${CONTRACT.contractNs}/verwijderen_verzuimmelding` })],
    ['wsa:From not anonymous?oin=', 'DK0009', () => ({ beforeSign: (x) => x.replace(/<wsa:Address>[^<]*<\/wsa:Address>/, '<wsa:Address>https://gemeente.example/</wsa:Address>') })],
    ['wsa:MessageID not a UUID', 'DK0010', () => ({ messageId: 'bericht-1' })],
    ['wsa:MessageID missing', 'DK0010', () => ({ signedParts: ['To', 'Action', 'From', 'Body', 'Timestamp'], beforeSign: (x) => x.replace(/<wsa:MessageID[^>]*>[^<]*<\/wsa:MessageID>/, '') })],
    ['a wsa:ReplyTo header', 'DK0011', () => ({ extraHeader: '<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>' })],
    ['a header block of its own', 'DK0011', () => ({ extraHeader: '<x:Trace xmlns:x="urn:example:trace">1</x:Trace>' })],
    // Rule 6: Security
    ['no wsse:Security', 'EK0020', () => ({ afterSign: removeSecurity })],
    ['two wsse:Security headers', 'EK0020', () => ({ afterSign: (x) => x.replace('</soapenv:Header>', `<wsse:Security xmlns:wsse="${NS.wsse}"/></soapenv:Header>`) })],
    ['Expires 11 minutes after Created', 'EK0021', () => ({ created: minutes(0), expires: minutes(11) })],
    ['Expires before Created', 'EK0021', () => ({ created: minutes(0), expires: minutes(-1) })],
    ['a Timestamp not in UTC', 'EK0021', () => ({ created: '2026-11-24T09:00:00+01:00', expires: '2026-11-24T09:05:00+01:00' })],
    ['no Timestamp', 'EK0021', () => ({ signedParts: ['To', 'Action', 'MessageID', 'From', 'Body'], beforeSign: (x) => x.replace(/<wsu:Timestamp[\s\S]*<\/wsu:Timestamp>/, '') })],
    ['an expired Timestamp', 'EK0022', () => ({ created: minutes(-20), expires: minutes(-15) })],
    ['a Timestamp created in the future', 'EK0022', () => ({ created: minutes(20), expires: minutes(25) })],
    ['a token with another ValueType', 'EK0023', () => ({ tokenValueType: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509PKIPathv1' })],
    ['a token with another EncodingType', 'EK0023', () => ({ tokenEncodingType: 'http://example/hex' })],
    ['a token with the chain, not the leaf only', 'EK0023', () => ({ tokenBase64: Buffer.concat(pemCertificates(clientCert).map((c) => c.raw)).toString('base64') })],
    ['a token that is no certificate', 'EK0023', () => ({ tokenBase64: Buffer.from('geen certificaat').toString('base64') })],
    ['a token and key other than the TLS certificate', 'EK0024', () => ({ tokenPem: serverCert, key: readFileSync(pki.serverKey, 'utf8') })],
    ['no Signature', 'EK0025', () => ({ afterSign: (x) => x.replace(signatureOf(x), '') })],
    ['two Signatures', 'EK0025', () => ({ afterSign: (x) => x.replace('</wsse:Security>', `${signatureOf(x)}</wsse:Security>`) })],
    ['SHA-1 digests', 'EK0026', () => ({ digest: SHA1 })],
    ['RSA-SHA1', 'EK0026', () => ({ signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' })],
    ['RSA-PSS', 'EK0026', () => ({ signatureAlgorithm: 'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1' })],
    ['inclusive C14N for SignedInfo', 'EK0026', () => ({ canonicalization: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315' })],
    ['an inclusive C14N transform', 'EK0026', () => ({ transforms: ['http://www.w3.org/TR/2001/REC-xml-c14n-20010315'] })],
    ['the Timestamp not signed', 'EK0027', () => ({ signedParts: ['To', 'Action', 'MessageID', 'From', 'Body'] })],
    ['wsa:From not signed', 'EK0027', () => ({ signedParts: ['To', 'Action', 'MessageID', 'Body', 'Timestamp'] })],
    ['the Body not signed', 'EK0027', () => ({ signedParts: ['To', 'Action', 'MessageID', 'From', 'Timestamp'] })],
    ['the token signed too', 'EK0027', () => ({ signedParts: ['To', 'Action', 'MessageID', 'From', 'Body', 'Timestamp', 'Token'] })],
    ['KeyInfo with the certificate instead of a reference', 'EK0028', () => ({ keyInfo: `<ds:X509Data><ds:X509Certificate>${leafBase64(clientCert)}</ds:X509Certificate></ds:X509Data>` })],
    ['a SecurityTokenReference to another Id', 'EK0028', () => ({ keyInfo: `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#X509-elders"/></wsse:SecurityTokenReference>` })],
    ['a wsu:Id used twice', 'EK0029', () => ({ afterSign: (x) => x.replace('<duo:opvragen_verzuimmutaties_request ', '<duo:opvragen_verzuimmutaties_request wsu:Id="id-Timestamp" ') })],
    ['a Reference URI that is not #<Id>', 'EK0029', () => ({ afterSign: (x) => x.replace('URI="#id-To"', 'URI="https://elders.example/#id-To"') })],
    ['wsa:From an OIN the certificate may not act for', 'EK0030', () => ({ fromOin: OTHER_OIN })],
    ['the signed Body wrapped in a header, a forged one in its place', 'DK0011', () => ({ afterSign: wrapBody('</soapenv:Header>') })],
    ['the signed Body wrapped inside wsse:Security', 'EK0020', () => ({ afterSign: wrapBody('</wsse:Security>') })],
    ['a second, forged Body', 'DK0001', () => ({ afterSign: (x) => x.replace('</soapenv:Envelope>', `<soapenv:Body><duo:x xmlns:duo="${CONTRACT.schemaNs}">1</duo:x></soapenv:Body></soapenv:Envelope>`) })],
    ['the Body changed after signing', 'EK0031', () => ({ afterSign: (x) => x.replace('<duo:maximumAantal>100<', '<duo:maximumAantal>500<') })],
    ['wsa:To changed after signing', 'EK0031', () => ({ afterSign: (x) => x.replace('services/verzuim1.0?oin=', 'services/verzuim1.0/?oin=') })],
    ['a SignatureValue that does not match', 'EK0031', () => ({ afterSign: (x) => x.replace(/<ds:SignatureValue>(.)/, (_m, c: string) => `<ds:SignatureValue>${c === 'A' ? 'B' : 'A'}`) })],
    ['signed with another key than the token\'s', 'EK0031', () => ({ key: readFileSync(foreign.clientKey, 'utf8') })],
  ];

  it('has a broken request for every code in the fault table', () => {
    expect([...new Set(cases.map((c) => c[1]))].sort()).toEqual(Object.keys(FAULTS).sort());
  });

  it.each(cases)('%s: %s', async (_name, code, options) => {
    const answer = await post(simulator, req(options()));
    expectFault(answer, `Client.${code}`);
    const logged = simulator.logged.filter((l) => l.event === 'simulator.edukoppeling.refused').at(-1);
    expect(logged?.fields).toMatchObject({ faultcode: `Client.${code}`, check: expect.stringMatching(/^check[A-Z]/) });
    expect(simulator.edukoppeling!.refusals.at(-1)?.faultcode).toBe(`Client.${code}`);
  });

  it('refuses a repeated MessageID and a repeated identificatiecodeBedrijfsdocument', async () => {
    const first = req();
    expect((await post(simulator, first)).status).toBe(200);
    expectFault(await post(simulator, req({ messageId: first.messageId })), 'Client.DK0010');
    expectFault(await post(simulator, req({ identificatiecode: first.identificatiecode })), 'Client.DK0007');
  });

  it('refuses a request over HTTP with the wrong path or method without SOAP', async () => {
    const wrongPath = await post(simulator, req(), simulator.url.replace('verzuim1.0', 'verzuim2.0'));
    expect(wrongPath.status).toBe(404);
    const get = await request(simulator.url, { dispatcher: agent });
    await get.body.text();
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });
});

function pemCertificates(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
}

describe('authorisation by the OIN in wsa:From', () => {
  it('lets a certificate act for another OIN when ROD registered that, and then authorises that OIN', async () => {
    const simulator = await start({ edukoppeling: { actingFor: { [CLIENT_OIN]: [OTHER_OIN] } } });
    const forOther = signedParts(await post(simulator, req({ fromOin: OTHER_OIN, fields: { gemeentecode: '0599', vanafVolgnummer: 0, maximumAantal: 10 } })));
    expect(readResponseBody(forOther.response, CONTRACT)).toMatchObject({ requestGoedgekeurd: true });
    expect(forOther.wsa('To')).toBe(`http://www.w3.org/2005/08/addressing/anonymous?oin=${OTHER_OIN}`);
    const notOwn = signedParts(await post(simulator, req({ fromOin: OTHER_OIN, fields: { gemeentecode: '0344', vanafVolgnummer: 0, maximumAantal: 10 } })));
    expect(readResponseBody(notOwn.response, CONTRACT).foutmelding?.foutcode).toBe('V403');
  });
});

describe('injections for the client\'s tests', () => {
  async function startForging() {
    return start({
      edukoppeling: {
        otherOinSigner: { cert: clientCert, key: clientKey },
        untrustedSigner: { cert: readFileSync(foreign.serverCert), key: readFileSync(foreign.serverKey) },
      },
    });
  }

  it('answers a queued fault once, for a request that passes the checks', async () => {
    const simulator = await start();
    simulator.edukoppeling!.faultNext('Client.EK0030');
    simulator.edukoppeling!.faultNext('Server.DK0050', { faultstring: 'Onderhoud' });
    expectFault(await post(simulator, req()), 'Client.EK0030');
    const second = await post(simulator, req());
    expectFault(second, 'Server.DK0050');
    expect(second.text).toContain('<faultstring>Onderhoud</faultstring>');
    expect((await post(simulator, req())).status).toBe(200);
    // A broken request still gets its own fault, and does not use up the injection.
    simulator.edukoppeling!.faultNext('Server.DK0051');
    expectFault(await post(simulator, req({ contentType: 'text/plain' })), 'Client.DK0002');
    expectFault(await post(simulator, req()), 'Server.DK0051');
  });

  it('answers a queued business refusal, signed', async () => {
    const simulator = await start();
    simulator.edukoppeling!.refuseNext('V403', { fouttekst: 'Niet geautoriseerd' });
    const { response } = signedParts(await post(simulator, req()));
    expect(readResponseBody(response, CONTRACT)).toMatchObject({ requestGoedgekeurd: false, foutmelding: { foutcode: 'V403', fouttekst: 'Niet geautoriseerd' } });
  });

  it('503 with Retry-After and no SOAP for maintenance and throttling; a Server fault for a 500', async () => {
    const simulator = await start();
    simulator.feed.failNext(503, { retryAfter: '120' });
    simulator.feed.failNext(429);
    simulator.feed.failNext(500);
    const maintenance = await post(simulator, req());
    expect(maintenance).toMatchObject({ status: 503, text: '' });
    expect(maintenance.headers['retry-after']).toBe('120');
    const throttled = await post(simulator, req());
    expect(throttled.status).toBe(503);
    expect(throttled.headers['retry-after']).toBe('1');
    expectFault(await post(simulator, req()), 'Server.DK0051');
  });

  const responseOf = async (forgery: Forgery) => {
    const simulator = await startForging();
    simulator.edukoppeling!.forgeNext(forgery);
    const built = req();
    const answer = await post(simulator, built);
    expect(answer.status).toBe(200);
    const envelope = parse(answer.text);
    const header = childElements(envelope).find((c) => c.localName === 'Header')!;
    return { built, answer, envelope, header, verified: verifyResponse(answer.text), wsa: (name: string) => children(header, NS.wsa, name)[0]! };
  };
  const idOf = (el: { getAttributeNS(ns: string, name: string): string | null }) => el.getAttributeNS(NS.wsu, 'Id') ?? '';

  it('body-altered: the signature no longer verifies', async () => {
    const { verified } = await responseOf('body-altered');
    expect(verified.valid).toBe(false);
  });

  it('other-oin-signer: verifies, but the token carries another OIN', async () => {
    const { verified } = await responseOf('other-oin-signer');
    expect(verified.valid).toBe(true);
    expect(verified.token.subject).toContain(`serialNumber=${CLIENT_OIN}`);
    expect(verified.token.subject).not.toContain(DUO_OIN);
  });

  it('untrusted-signer: verifies, but the token does not chain to the anchors', async () => {
    const { verified } = await responseOf('untrusted-signer');
    expect(verified.valid).toBe(true);
    const intermediates = pemCertificates(readFileSync(pki.intermediates, 'utf8'));
    expect(intermediates.length).toBeGreaterThan(0);
    expect(intermediates.some((ca) => verified.token.checkIssued(ca))).toBe(false);
  });

  it('wrapped-body: the signed Body sits in a header wrapper, a forged Body without Id in its place', async () => {
    const { envelope, header, verified } = await responseOf('wrapped-body');
    expect(verified.valid).toBe(true);
    const bodies = children(envelope, NS.soap, 'Body');
    expect(bodies).toHaveLength(1);
    expect(idOf(bodies[0]!)).toBe('');
    const wrapper = childElements(header).find((c) => c.localName === 'Wrapper')!;
    const signedBody = children(wrapper, NS.soap, 'Body')[0]!;
    expect(verified.referenceIds).toContain(idOf(signedBody));
    const tot = (body: typeof signedBody) => readResponseBody(childElements(body)[0]!, CONTRACT).volgnummerTot;
    expect(tot(bodies[0]!)).not.toBe(tot(signedBody));
  });

  it('two-bodies: a forged Body without Id before the signed one', async () => {
    const { envelope, verified } = await responseOf('two-bodies');
    expect(verified.valid).toBe(true);
    const bodies = children(envelope, NS.soap, 'Body');
    expect(bodies.map(idOf)).toEqual(['', expect.stringMatching(/^Id-/)]);
  });

  it('wrong-relates-to: signed, but RelatesTo names another request', async () => {
    const { verified, wsa, built } = await responseOf('wrong-relates-to');
    expect(verified.valid).toBe(true);
    expect(verified.referenceIds).toContain(idOf(wsa('RelatesTo')));
    expect(textOf(wsa('RelatesTo'))).toMatch(/^urn:uuid:/);
    expect(textOf(wsa('RelatesTo'))).not.toBe(built.messageId);
  });

  it('expired-timestamp: signed, but Expires has passed', async () => {
    const { verified, answer } = await responseOf('expired-timestamp');
    expect(verified.valid).toBe(true);
    const expires = /<wsu:Expires>([^<]+)<\/wsu:Expires>/.exec(answer.text)![1]!;
    expect(Date.parse(expires)).toBeLessThan(Date.now());
  });

  it('sha1-digest: every digest SHA-1', async () => {
    const { verified } = await responseOf('sha1-digest');
    expect(verified.valid).toBe(true);
    expect(verified.digestAlgorithms).toEqual(Array(7).fill(SHA1));
  });

  it('timestamp-unsigned and from-unsigned: that part is missing from the references', async () => {
    const ts = await responseOf('timestamp-unsigned');
    expect(ts.verified.valid).toBe(true);
    const timestampId = /<wsu:Timestamp wsu:Id="([^"]+)"/.exec(ts.answer.text)![1]!;
    expect(ts.verified.referenceIds).toHaveLength(6);
    expect(ts.verified.referenceIds).not.toContain(timestampId);

    const from = await responseOf('from-unsigned');
    expect(from.verified.valid).toBe(true);
    expect(from.verified.referenceIds).toHaveLength(6);
    expect(from.verified.referenceIds).not.toContain(idOf(from.wsa('From')));
  });

  it('refuses an unknown forgery name', async () => {
    const simulator = await start();
    expect(() => simulator.edukoppeling!.forgeNext('nonsense' as Forgery)).toThrow(/unknown forgery/);
  });
});

describe('verzuim-relay simulator --protocol edukoppeling', () => {
  function capture(): { logger: Logger; lines: LogFields[] } {
    const lines: LogFields[] = [];
    const at = (level: string) => (event: string, fields: LogFields = {}) => void lines.push({ level, event, ...fields });
    const logger: Logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger, flush() {} };
    return { logger, lines };
  }
  const base = () => ['--cert', pki.serverCert, '--key', pki.serverKey, '--client-ca', pki.trustAnchors, '--port', '0'];

  it('serves SOAP at the given path, signs with the given certificate and logs refusals with their rule', async () => {
    const { logger, lines } = capture();
    const stop = new AbortController();
    const errors: string[] = [];
    const run = simulatorCommand(
      [...base(), '--protocol', 'edukoppeling', '--soap-path', '/soap/verzuim', '--oin', CLIENT_OIN, '--meldingen', '6', '--signing-cert', pki.serverCert, '--signing-key', pki.serverKey],
      { logger, signal: stop.signal, err: (t) => errors.push(t) },
    );
    const listening = await vi.waitFor(() => {
      const line = lines.find((l) => l.event === 'simulator.listening');
      if (!line) throw new Error('not listening yet');
      return line;
    });
    expect(errors).toEqual([]);
    expect(listening).toMatchObject({ protocol: 'edukoppeling' });
    const url = String(listening.url);
    expect(url).toMatch(/^https:\/\/localhost:\d+\/soap\/verzuim$/);
    const ok = await request(url, { method: 'POST', dispatcher: agent, ...(({ xml, headers }) => ({ body: xml, headers }))(req({ fields: { gemeentecode: '0344', vanafVolgnummer: 0, maximumAantal: 500 } })) });
    const text = await ok.body.text();
    expect(ok.statusCode).toBe(200);
    expect(verifyResponse(text).valid).toBe(true);
    const refused = await request(url, { method: 'POST', dispatcher: agent, body: req().xml, headers: { 'content-type': 'text/xml' } });
    await refused.body.text();
    expect(refused.statusCode).toBe(500);
    stop.abort();
    expect(await run).toBe(0);
    expect(lines.find((l) => l.event === 'simulator.edukoppeling.refused')).toMatchObject({ faultcode: 'Client.DK0002', check: 'checkContentType' });
  });

  it('refuses Edukoppeling options without --protocol edukoppeling, and bad values', async () => {
    const cases: [string[], RegExp][] = [
      [['--duo-oin', DUO_OIN], /--duo-oin needs --protocol edukoppeling/],
      [['--protocol', 'soap'], /--protocol/],
      [['--protocol', 'edukoppeling', '--duo-oin', '123'], /--duo-oin.*20 digits/],
      [['--protocol', 'edukoppeling', '--acting-for', 'x'], /--acting-for.*20 digits/],
      [['--protocol', 'edukoppeling', '--signing-cert', pki.serverCert], /--signing-cert and --signing-key go together/],
    ];
    for (const [argv, message] of cases) {
      const err: string[] = [];
      expect(await simulatorCommand([...base(), ...argv], { err: (t) => err.push(t), logger: capture().logger })).toBe(64);
      expect(err.join('\n')).toMatch(message);
    }
  });
});

describe('certificates DUO has registered', () => {
  const fingerprint = () => new X509Certificate(clientCert).fingerprint256;

  it('refuses a valid request with an unregistered certificate as EK0030, and serves it once registered', async () => {
    const simulator = await start({ certificates: { registered: ['ab'.repeat(32)] } });
    expectFault(await post(simulator, req()), 'Client.EK0030');
    expect(simulator.edukoppeling!.refusals.at(-1)).toMatchObject({ faultcode: 'Client.EK0030', check: 'checkRegistered' });
    simulator.certificates!.register(fingerprint());
    signedParts(await post(simulator, req()));
    simulator.certificates!.unregister(fingerprint().toLowerCase().replaceAll(':', ''));
    expectFault(await post(simulator, req()), 'Client.EK0030');
  });
});
