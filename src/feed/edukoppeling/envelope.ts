/**
 * The SOAP 1.1 request envelope of Edukoppeling, before it is signed: the
 * WS-Addressing headers (request rule 5), the WS-Security header with the
 * timestamp and the client certificate (rule 6), and the contract's request
 * element as the only child of the Body (rules 3 and 4).
 *
 * Every part that will be signed carries its own fresh `wsu:Id`, so a
 * reference can never point at two elements; `sign.ts` then adds the
 * signature over exactly these parts.
 */
import { randomUUID, type X509Certificate } from 'node:crypto';
import {
  actionOf,
  escapeXml,
  requestBodyXml,
  type Contract,
  type FetchRequest,
  type Operation,
  type StatusRequest,
} from './contract.js';
import { ANONYMOUS, NS, REQUEST_ADDRESSING, TIMESTAMP_LIFETIME_MS, TOKEN } from './wire.js';

export interface EnvelopeParties {
  /** `rod.edukoppeling.to`: DUO's logical address, without the `?oin=` part. */
  to: string;
  duoOin: string;
  /** `municipality.oin`: the organisation the relay acts for (wsa:From, verzendendeInstantie). */
  fromOin: string;
  contract: Contract;
}

export interface RequestEnvelope {
  /** The unsigned envelope, UTF-8 text. */
  xml: string;
  /** `urn:uuid:<uuid>` exactly as sent: the response's RelatesTo must equal it. */
  messageId: string;
  action: string;
  /** The wsu:Id of each part to sign, by part name. */
  ids: SignedPartIds;
  /** The wsu:Id of the BinarySecurityToken the signature's KeyInfo points at. */
  tokenId: string;
}

export type SignedPart = (typeof REQUEST_ADDRESSING)[number] | 'Body' | 'Timestamp';
export type SignedPartIds = Record<SignedPart, string>;

/** `<to>?oin=<duoOin>`: the address carries the OIN of whom it names (Digikoppeling). */
export function addressWithOin(address: string, oin: string): string {
  return `${address}${address.includes('?') ? '&' : '?'}oin=${oin}`;
}

/** A fresh Id per part and per request: `<Part>-<uuid>`, like DUO's `Id-<uuid>`. */
function freshIds(): SignedPartIds {
  const parts: SignedPart[] = [...REQUEST_ADDRESSING, 'Body', 'Timestamp'];
  return Object.fromEntries(parts.map((p) => [p, `${p}-${randomUUID()}`])) as SignedPartIds;
}

/** ISO 8601 in UTC with milliseconds, as DUO writes it. */
const utc = (d: Date) => d.toISOString();

export function buildRequestEnvelope(
  parties: EnvelopeParties,
  operation: Operation,
  fields: FetchRequest | StatusRequest,
  certificate: X509Certificate,
  now: Date,
): RequestEnvelope {
  const ids = freshIds();
  const tokenId = `X509-${randomUUID()}`;
  const messageId = `urn:uuid:${randomUUID()}`;
  const action = actionOf(parties.contract, operation);
  const expires = new Date(now.getTime() + TIMESTAMP_LIFETIME_MS);

  const body = requestBodyXml(
    parties.contract,
    operation,
    {
      // DUO refuses a repeated identificatiecodeBedrijfsdocument: new for every request, also a retry of the same page.
      identificatiecodeBedrijfsdocument: randomUUID(),
      verzendendeInstantie: parties.fromOin,
      ontvangendeInstantie: parties.duoOin,
      datumTijdBedrijfsdocument: utc(now),
    },
    fields,
  );

  const wsuId = (part: SignedPart) => `wsu:Id="${escapeXml(ids[part])}"`;
  const header =
    `<soapenv:Header xmlns:wsa="${NS.wsa}">` +
    `<wsse:Security xmlns:wsse="${NS.wsse}">` +
    `<wsse:BinarySecurityToken wsu:Id="${tokenId}" EncodingType="${TOKEN.base64Binary}" ValueType="${TOKEN.x509v3}">` +
    // The leaf only (rule 6): DUO knows the chain; the registered certificate is what it compares.
    certificate.raw.toString('base64') +
    `</wsse:BinarySecurityToken>` +
    `<wsu:Timestamp ${wsuId('Timestamp')}><wsu:Created>${utc(now)}</wsu:Created><wsu:Expires>${utc(expires)}</wsu:Expires></wsu:Timestamp>` +
    `</wsse:Security>` +
    `<wsa:To ${wsuId('To')}>${escapeXml(addressWithOin(parties.to, parties.duoOin))}</wsa:To>` +
    `<wsa:Action ${wsuId('Action')}>${escapeXml(action)}</wsa:Action>` +
    `<wsa:MessageID ${wsuId('MessageID')}>${messageId}</wsa:MessageID>` +
    `<wsa:From ${wsuId('From')}><wsa:Address>${escapeXml(addressWithOin(ANONYMOUS, parties.fromOin))}</wsa:Address></wsa:From>` +
    `</soapenv:Header>`;

  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soapenv:Envelope xmlns:soapenv="${NS.soap}" xmlns:wsu="${NS.wsu}">` +
    header +
    `<soapenv:Body ${wsuId('Body')}>${body}</soapenv:Body>` +
    `</soapenv:Envelope>`;
  return { xml, messageId, action, ids, tokenId };
}
