/**
 * Responses the way DUO's gateway signs them, for the Edukoppeling client's
 * tests: `SOAP-ENV:Envelope` with a `SOAP:Header` (two prefixes for one
 * namespace), wsu declared on every signed element, Ids `Id-<uuid>`, the
 * signature in the default namespace, the payload under `ns2:`. Signed with
 * xml-crypto and the test PKI's ROD server certificate as DUO's signer.
 *
 * Every knob a test needs to forge a bad response is an option; what cannot
 * be expressed as an option (moving a signed Body) the test does on the text.
 */
import { randomUUID, type KeyObject, type X509Certificate } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { actionOf, contractNamed, meldingToXml, OPERATIONS, type Operation } from '../../src/feed/edukoppeling/contract.js';
import { ALG, NS, TOKEN } from '../../src/feed/edukoppeling/wire.js';

export interface DuoResponseOptions {
  signerCert: X509Certificate;
  /** An 'rsa' KeyObject (see src/feed/edukoppeling/keys.ts). */
  signerKey: KeyObject;
  relatesTo: string;
  operation?: Operation;
  /** Overrides the wsa:Action (default: the operation's). */
  action?: string;
  /** The payload: the children of the response element, in the schema namespace under `ns2:`. */
  payload?: string;
  created?: Date;
  expires?: Date;
  /** The parts to sign, default all seven. */
  sign?: Array<'To' | 'Action' | 'MessageID' | 'RelatesTo' | 'From' | 'Body' | 'Timestamp'>;
  digestAlgorithm?: string;
  fromOin?: string;
  toOin?: string;
}

export const MELDING = {
  meldingsnummer: '2026004711',
  volgnummer: 88120,
  gemeentecode: '0344',
  verzuimsoort: 'ZESTIEN_UUR',
  status: 'GEREGISTREERD',
  melddatum: '2026-11-24T08:41:12+01:00',
  gewijzigdOp: '2026-11-24T08:41:12+01:00',
  verzuimperiode: { begindatum: '2026-10-28', einddatum: '2026-11-21' },
  aantalUrenVerzuim: 16.5,
  vermoedelijkeReden: 'Onbekend; ouders niet bereikbaar',
  leerling: {
    bsn: '999990019',
    voornamen: 'Sanne Maria',
    voorvoegsel: 'van der',
    geslachtsnaam: 'Berg',
    geboortedatum: '2012-03-14',
    geslacht: 'V',
    adres: { straatnaam: 'Oudegracht', huisnummer: 112, huisletter: 'a', postcode: '3511AX', woonplaats: 'Utrecht' },
  },
  instelling: { instellingscode: '21XY', vestigingsnummer: '00', onderwijslocatiecode: '123X456', naam: 'Voorbeeldcollege', sector: 'VO' },
};

/** The payload of a goedgekeurd fetch response with the given meldingen. */
export function fetchPayload(meldingen: Record<string, unknown>[] = [MELDING], volgnummerTot = 88120, meer = false): string {
  return (
    `<ns2:requestGoedgekeurd>true</ns2:requestGoedgekeurd><ns2:volgnummerTot>${volgnummerTot}</ns2:volgnummerTot>` +
    `<ns2:meerMutaties>${meer}</ns2:meerMutaties>${meldingen.map((m) => meldingToXml(m, 'ns2')).join('')}`
  );
}

export function refusalPayload(foutcode: string, fouttekst: string): string {
  return `<ns2:requestGoedgekeurd>false</ns2:requestGoedgekeurd><ns2:foutmelding><ns2:foutcode>${foutcode}</ns2:foutcode><ns2:fouttekst>${fouttekst}</ns2:fouttekst></ns2:foutmelding>`;
}

const wsuDecl = `xmlns:wsu="${NS.wsu}"`;

export function duoResponse(options: DuoResponseOptions): string {
  const contract = contractNamed();
  const operation = options.operation ?? OPERATIONS.fetch;
  const id = () => `Id-${randomUUID()}`;
  const ids = { To: id(), Action: id(), MessageID: id(), RelatesTo: id(), From: id(), Body: id(), Timestamp: `Timestamp-${randomUUID()}` };
  const tokenId = `SecurityToken-${randomUUID()}`;
  const created = options.created ?? new Date();
  const expires = options.expires ?? new Date(created.getTime() + 5 * 60 * 1000);
  const fromOin = options.fromOin ?? '00000001800866472000';
  const toOin = options.toOin ?? '00000001002220647000';
  const wsa = (name: keyof typeof ids, content: string) =>
    `<wsa:${name} wsu:Id="${ids[name]}" xmlns:wsa="${NS.wsa}" ${wsuDecl}>${content}</wsa:${name}>`;

  const header =
    `<SOAP:Header xmlns:SOAP="${NS.soap}">` +
    wsa('To', `http://www.w3.org/2005/08/addressing/anonymous?oin=${toOin}`) +
    wsa('Action', options.action ?? actionOf(contract, operation)) +
    wsa('MessageID', `urn:uuid:${randomUUID()}`) +
    wsa('RelatesTo', options.relatesTo) +
    wsa('From', `<wsa:Address>http://www.w3.org/2005/08/addressing/anonymous?oin=${fromOin}</wsa:Address>`) +
    `<wsse:Security xmlns:wsse="${NS.wsse}">` +
    `<wsu:Timestamp wsu:Id="${ids.Timestamp}" ${wsuDecl}><wsu:Created>${created.toISOString()}</wsu:Created><wsu:Expires>${expires.toISOString()}</wsu:Expires></wsu:Timestamp>` +
    `<wsse:BinarySecurityToken wsu:Id="${tokenId}" EncodingType="${TOKEN.base64Binary}" ValueType="${TOKEN.x509v3}" ${wsuDecl}>${options.signerCert.raw.toString('base64')}</wsse:BinarySecurityToken>` +
    `</wsse:Security></SOAP:Header>`;
  const element = `${operation}_response`;
  const body =
    `<SOAP-ENV:Body wsu:Id="${ids.Body}" ${wsuDecl}><ns2:${element} xmlns:ns2="${contract.schemaNs}">` +
    `<ns2:identificatiecodeBedrijfsdocument>${randomUUID()}</ns2:identificatiecodeBedrijfsdocument>` +
    `<ns2:verzendendeInstantie>${fromOin}</ns2:verzendendeInstantie><ns2:ontvangendeInstantie>${toOin}</ns2:ontvangendeInstantie>` +
    `<ns2:datumTijdBedrijfsdocument>${created.toISOString()}</ns2:datumTijdBedrijfsdocument>` +
    (options.payload ?? fetchPayload()) +
    `</ns2:${element}></SOAP-ENV:Body>`;
  const xml = `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${NS.soap}">${header}${body}</SOAP-ENV:Envelope>`;

  const sig = new SignedXml({
    idMode: 'wssecurity',
    privateKey: options.signerKey,
    signatureAlgorithm: ALG.rsaSha256,
    canonicalizationAlgorithm: ALG.excC14n,
    getKeyInfoContent: () =>
      `<wsse:SecurityTokenReference xmlns=""><wsse:Reference URI="#${tokenId}" ValueType="${TOKEN.x509v3}"/></wsse:SecurityTokenReference>`,
  });
  const parts = options.sign ?? (['To', 'Action', 'MessageID', 'RelatesTo', 'From', 'Body', 'Timestamp'] as const);
  for (const part of parts) {
    sig.addReference({
      xpath: `//*[@*[local-name(.)='Id']='${ids[part]}']`,
      transforms: [ALG.excC14n],
      digestAlgorithm: options.digestAlgorithm ?? ALG.sha256,
      uri: `#${ids[part]}`,
    });
  }
  sig.computeSignature(xml, {
    location: { reference: `//*[local-name(.)='Security']`, action: 'append' },
    existingPrefixes: { wsse: NS.wsse },
  });
  return sig.getSignedXml();
}
