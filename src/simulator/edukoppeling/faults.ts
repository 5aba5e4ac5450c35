/**
 * The technical refusals of the simulated ROD over Edukoppeling: one fault
 * code per request rule, in one table. A request that breaks a rule gets HTTP
 * 500 with a SOAP 1.1 Fault carrying `Client.<code>`; DK codes are message
 * errors (envelope, content type, SOAPAction, schema, addressing), EK codes
 * identity and security errors, as DUO's gateway divides them.
 *
 * | code   | README request rule | what is refused |
 * | ------ | ------------------- | --------------- |
 * | DK0001 | 3 envelope          | not well-formed XML, not UTF-8, a DOCTYPE, or no SOAP 1.1 Envelope with one Header and one Body |
 * | DK0002 | 2 content type      | Content-Type other than text/xml; charset=UTF-8 |
 * | DK0003 | 2 SOAPAction        | SOAPAction missing, or not equal to wsa:Action |
 * | DK0004 | 3 body              | not exactly one Body child, or it is not a known `<operation>_request` in the schema namespace |
 * | DK0005 | 3 schema            | the request element's content breaks the schema (missing, unknown or misplaced element, bad value) |
 * | DK0006 | 3 empty elements    | an element sent without a value |
 * | DK0007 | 4 document id       | identificatiecodeBedrijfsdocument not a UUID, or repeated |
 * | DK0008 | 4 instanties, time  | verzendendeInstantie ≠ the OIN in wsa:From, ontvangendeInstantie ≠ DUO's OIN, datumTijdBedrijfsdocument not UTC |
 * | DK0009 | 5 addressing        | wsa:To, wsa:Action, wsa:From missing, repeated, without wsu:Id or wrong (To not `…?oin=<DUO>`, Action not contract namespace + operation, From not anonymous?oin=<OIN>) |
 * | DK0010 | 5 MessageID         | wsa:MessageID missing, without wsu:Id, not urn:uuid:<UUID> (or a bare UUID), or repeated |
 * | DK0011 | 5 other headers     | a header block other than WS-Addressing and wsse:Security |
 * | EK0020 | 6 Security          | no wsse:Security header, or more than one |
 * | EK0021 | 6 Timestamp         | wsu:Timestamp missing, repeated, without wsu:Id, times not UTC, Expires not after Created or more than 10 minutes after it |
 * | EK0022 | 6 Timestamp         | the Timestamp has expired, or was created in the future (beyond the clock skew) |
 * | EK0023 | 6 token             | BinarySecurityToken missing, repeated, without wsu:Id, wrong ValueType/EncodingType, not exactly one X.509 certificate |
 * | EK0024 | 7 signing key       | the token's certificate is not the TLS client certificate |
 * | EK0025 | 6 Signature         | no ds:Signature in wsse:Security, more than one Signature in the message, or no SignedInfo/SignatureValue |
 * | EK0026 | 6 algorithms        | C14N not exc-c14n, SignatureMethod not RSA-SHA256, a Reference without exactly the exc-c14n transform, a digest not SHA-256 |
 * | EK0027 | 6 signed parts      | the References are not exactly To, Action, MessageID, From, Body, Timestamp (one each; the token is not signed) |
 * | EK0028 | 6 KeyInfo           | KeyInfo without a SecurityTokenReference to the BinarySecurityToken |
 * | EK0029 | 6 Ids               | a wsu:Id (or other Id attribute) value used twice, or a Reference URI that is not `#<Id>` |
 * | EK0030 | identity            | the TLS certificate may not act for the OIN in wsa:From, or that OIN is unknown to ROD |
 * | EK0031 | 6/7 signature       | a digest or the signature value does not verify with the token's certificate |
 *
 * Business refusals (requestGoedgekeurd false: V400, V403, V404, V409) are not
 * faults; handlers.ts answers them with HTTP 200 and a signed response.
 */
import { escapeXml } from '../../feed/edukoppeling/contract.js';
import { NS } from './wire.js';

export const FAULTS = {
  DK0001: 'Het bericht is geen geldige SOAP 1.1-envelop in UTF-8',
  DK0002: 'Content-Type moet text/xml; charset=UTF-8 zijn',
  DK0003: 'SOAPAction ontbreekt of is niet gelijk aan wsa:Action',
  DK0004: 'De Body bevat niet precies één bekend verzoek in de schemanamespace',
  DK0005: 'Het verzoek voldoet niet aan het schema',
  DK0006: 'Het bericht bevat een leeg element',
  DK0007: 'identificatiecodeBedrijfsdocument ontbreekt, is geen UUID of is al eerder ontvangen',
  DK0008: 'De kop van het bedrijfsdocument klopt niet (instanties of tijdstip)',
  DK0009: 'De WS-Addressing-headers zijn onvolledig of onjuist',
  DK0010: 'wsa:MessageID ontbreekt, is ongeldig of is al eerder ontvangen',
  DK0011: 'Het bericht bevat een onbekende header',
  EK0020: 'De wsse:Security-header ontbreekt of komt meer dan eens voor',
  EK0021: 'De wsu:Timestamp ontbreekt of is ongeldig',
  EK0022: 'De wsu:Timestamp is verlopen of ligt in de toekomst',
  EK0023: 'Het BinarySecurityToken ontbreekt of is ongeldig',
  EK0024: 'Het certificaat in het bericht is niet het TLS-clientcertificaat',
  EK0025: 'De ondertekening ontbreekt of komt meer dan eens voor',
  EK0026: 'De ondertekening gebruikt een algoritme dat niet is toegestaan',
  EK0027: 'De ondertekening dekt niet precies de voorgeschreven onderdelen',
  EK0028: 'KeyInfo verwijst niet naar het BinarySecurityToken',
  EK0029: 'Een Id komt dubbel voor of een verwijzing is ongeldig',
  EK0030: 'Niet geautoriseerd voor dit OIN',
  EK0031: 'De ondertekening van het bericht is ongeldig',
} as const;

export type FaultCode = keyof typeof FAULTS;

/** A request rule that was broken: the fault to answer and what to log. */
export class RuleViolation extends Error {
  constructor(
    readonly code: FaultCode,
    /** The named check that failed, e.g. 'checkContentType'. */
    readonly check: string,
    /** Why, for the log (no personal data). */
    readonly reason: string,
  ) {
    super(`${code} ${check}: ${reason}`);
  }
}

export function violation(code: FaultCode, check: string, reason: string): never {
  throw new RuleViolation(code, check, reason);
}

/** A SOAP 1.1 Fault envelope, e.g. faultcode `Client.EK0031` or `Server.DK0050`. */
export function faultXml(faultcode: string, faultstring: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soapenv:Envelope xmlns:soapenv="${NS.soap}"><soapenv:Body><soapenv:Fault>` +
    `<faultcode>soapenv:${escapeXml(faultcode)}</faultcode><faultstring>${escapeXml(faultstring)}</faultstring>` +
    `</soapenv:Fault></soapenv:Body></soapenv:Envelope>`
  );
}
