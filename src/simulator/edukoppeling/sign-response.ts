/**
 * Responses the way DUO's gateway writes and signs them: `SOAP-ENV:Envelope`
 * with a `SOAP:Header` (two prefixes, one namespace), `wsu` declared on every
 * signed element, Ids `Id-<uuid>` / `Timestamp-<uuid>` / `SecurityToken-<uuid>`,
 * the payload under `ns2:`, a BinarySecurityToken with the signing
 * certificate and a KeyInfo that refers to it, no SignatureConfirmation.
 * Signed with exc-c14n, RSA-SHA256 and SHA-256 digests over To, Action,
 * MessageID, RelatesTo, From, Body and Timestamp.
 *
 * The forgeries a client must refuse are made here too, from a correctly
 * signed response, so each differs from the real thing in one way only.
 */
import { randomUUID, X509Certificate, type KeyLike } from 'node:crypto';
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import { idIndex, serializeSigned, signInPlace } from '../../feed/edukoppeling/xml-crypto-parts.js';
import { childElements, escapeXml, textOf, type Contract } from '../../feed/edukoppeling/contract.js';
import { ALG, ANONYMOUS, NS, TOKEN, childrenNamed, derOfPem, isIn, parseXml } from './wire.js';

/** A certificate (PEM, leaf first) and its private key that sign responses. */
export interface ResponseSigner {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Ways a response can be forged, for the client's tests (see README "A response, rule by rule", rule 2). */
export const FORGERIES = [
  /** The Body is changed after signing: its digest no longer matches. */
  'body-altered',
  /** Signed correctly, by a certificate that chains to the anchors but carries another OIN (option edukoppeling.otherOinSigner). */
  'other-oin-signer',
  /** Signed correctly, by a certificate outside the trust anchors (option edukoppeling.untrustedSigner). */
  'untrusted-signer',
  /** The signed Body is moved into a wrapper header element and a forged Body, without Id, takes its place. */
  'wrapped-body',
  /** A forged second Body, without Id, is put before the signed one. */
  'two-bodies',
  /** RelatesTo names another request's MessageID (signed). */
  'wrong-relates-to',
  /** The Timestamp expired five minutes ago (signed). */
  'expired-timestamp',
  /** Every digest is SHA-1. */
  'sha1-digest',
  /** The Timestamp is not among the signed references. */
  'timestamp-unsigned',
  /** wsa:From is not among the signed references. */
  'from-unsigned',
] as const;
export type Forgery = (typeof FORGERIES)[number];

export interface ResponseInput {
  contract: Contract;
  /** The request's action; the response carries the same. */
  action: string;
  /** The request's MessageID exactly as sent. */
  relatesTo: string;
  /** The OIN of the requester (wsa:From of the request): the response's To. */
  requesterOin: string;
  duoOin: string;
  now: Date;
  /** The response element's local name, e.g. opvragen_verzuimmutaties_response. */
  responseElement: string;
  /** The response element's content, with `ns2:` as the schema prefix. */
  content: string;
}

const WSU_DECL = `xmlns:wsu="${NS.wsu}"`;
const WSA_DECL = `xmlns:wsa="${NS.wsa}"`;

interface Ids {
  to: string;
  action: string;
  messageId: string;
  relatesTo: string;
  from: string;
  timestamp: string;
  token: string;
  body: string;
}

function newIds(): Ids {
  return {
    to: `Id-${randomUUID()}`,
    action: `Id-${randomUUID()}`,
    messageId: `Id-${randomUUID()}`,
    relatesTo: `Id-${randomUUID()}`,
    from: `Id-${randomUUID()}`,
    timestamp: `Timestamp-${randomUUID()}`,
    token: `SecurityToken-${randomUUID()}`,
    body: `Id-${randomUUID()}`,
  };
}

/** xs:dateTime in UTC without milliseconds, as DUO writes the Timestamp. */
function utcSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function wsaHeader(name: string, id: string, inner: string): string {
  return `<wsa:${name} wsu:Id="${id}" ${WSA_DECL} ${WSU_DECL}>${inner}</wsa:${name}>`;
}

/** The unsigned envelope, with a Security header holding Timestamp and token; the Signature is appended to it. */
function envelopeXml(input: ResponseInput, ids: Ids, certDer: Buffer, created: Date, expires: Date): string {
  const headers = [
    wsaHeader('To', ids.to, escapeXml(`${ANONYMOUS}?oin=${input.requesterOin}`)),
    wsaHeader('Action', ids.action, escapeXml(input.action)),
    wsaHeader('MessageID', ids.messageId, `urn:uuid:${randomUUID()}`),
    wsaHeader('RelatesTo', ids.relatesTo, escapeXml(input.relatesTo)),
    wsaHeader('From', ids.from, `<wsa:Address>${escapeXml(`${ANONYMOUS}?oin=${input.duoOin}`)}</wsa:Address>`),
  ].join('');
  const security =
    `<wsse:Security xmlns:wsse="${NS.wsse}">` +
    `<wsu:Timestamp wsu:Id="${ids.timestamp}" ${WSU_DECL}><wsu:Created>${utcSeconds(created)}</wsu:Created><wsu:Expires>${utcSeconds(expires)}</wsu:Expires></wsu:Timestamp>` +
    `<wsse:BinarySecurityToken wsu:Id="${ids.token}" EncodingType="${TOKEN.base64}" ValueType="${TOKEN.x509v3}" ${WSU_DECL}>${certDer.toString('base64')}</wsse:BinarySecurityToken>` +
    `</wsse:Security>`;
  const el = input.responseElement;
  return (
    `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${NS.soap}"><SOAP:Header xmlns:SOAP="${NS.soap}">${headers}${security}</SOAP:Header>` +
    `<SOAP-ENV:Body wsu:Id="${ids.body}" ${WSU_DECL}><ns2:${el} xmlns:ns2="${input.contract.schemaNs}">${input.content}</ns2:${el}></SOAP-ENV:Body></SOAP-ENV:Envelope>`
  );
}

interface SignOptions {
  /** The wsu:Ids to sign, in this order. */
  references: string[];
  digest: string;
  tokenId: string;
  key: KeyLike;
}

/**
 * Appends a ds:Signature to wsse:Security over the given wsu:Ids, with KeyInfo
 * pointing at the token. Each Id names one element, found through idIndex in
 * one walk of the document (xml-crypto's XPath search of every attribute, once
 * per reference, took most of the time of signing a page of 500);
 * xml-crypto-parts.ts signInPlace writes the signature as xml-crypto's
 * computeSignature does.
 */
export function signWsSecurity(xml: string, options: SignOptions): string {
  const doc = parseXml(xml);
  const header = childrenNamed(doc.documentElement!, NS.soap, 'Header')[0];
  const security = header && childrenNamed(header, NS.wsse, 'Security')[0];
  if (!security) throw new Error('the response has no wsse:Security in its Header to sign in');
  const byId = idIndex(doc);
  const references = options.references.map((id) => {
    const found = byId.get(id) ?? [];
    if (found.length !== 1) throw new Error(`${found.length} elements carry the wsu:Id ${id}, not one`);
    return found[0]!;
  });
  signInPlace(doc, {
    references,
    digestAlgorithm: options.digest,
    signatureAlgorithm: ALG.rsaSha256,
    key: options.key,
    keyInfoContent: `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#${options.tokenId}" ValueType="${TOKEN.x509v3}"/></wsse:SecurityTokenReference>`,
    place: (signature) => security.appendChild(signature),
  });
  return serializeSigned(doc);
}

export interface Signers {
  /** The gateway's own signer (default: the server certificate and key). */
  duo: ResponseSigner;
  otherOin?: ResponseSigner;
  untrusted?: ResponseSigner;
}

/** A signed response; with a forgery, the forged variant of it. */
export function signedResponse(input: ResponseInput, signers: Signers, forgery?: Forgery): string {
  const ids = newIds();
  const signer = pickSigner(signers, forgery);
  const certDer = derOfPem(signer.cert);
  new X509Certificate(certDer); // fail early on a bad signing certificate
  const MINUTE = 60_000;
  const expired = forgery === 'expired-timestamp';
  const created = new Date(input.now.getTime() - (expired ? 10 * MINUTE : 0));
  const expires = new Date(created.getTime() + 5 * MINUTE);
  const relatesTo = forgery === 'wrong-relates-to' ? `urn:uuid:${randomUUID()}` : input.relatesTo;
  const unsigned = envelopeXml({ ...input, relatesTo }, ids, certDer, created, expires);
  const references = [ids.to, ids.action, ids.messageId, ids.relatesTo, ids.from, ids.body, ids.timestamp].filter(
    (id) => !(forgery === 'timestamp-unsigned' && id === ids.timestamp) && !(forgery === 'from-unsigned' && id === ids.from),
  );
  const signed = signWsSecurity(unsigned, { references, digest: forgery === 'sha1-digest' ? ALG.sha1 : ALG.sha256, tokenId: ids.token, key: signer.key });
  switch (forgery) {
    case 'body-altered':
      return alterBody(signed);
    case 'wrapped-body':
      return wrapBody(signed);
    case 'two-bodies':
      return addSecondBody(signed);
    default:
      return signed;
  }
}

function pickSigner(signers: Signers, forgery: Forgery | undefined): ResponseSigner {
  if (forgery === 'other-oin-signer') {
    if (!signers.otherOin) throw new Error('the other-oin-signer forgery needs the edukoppeling.otherOinSigner option');
    return signers.otherOin;
  }
  if (forgery === 'untrusted-signer') {
    if (!signers.untrusted) throw new Error('the untrusted-signer forgery needs the edukoppeling.untrustedSigner option');
    return signers.untrusted;
  }
  return signers.duo;
}

function bodyOf(envelope: Element): Element {
  const body = childElements(envelope).find((c) => isIn(c, NS.soap, 'Body'));
  if (!body) throw new Error('no Body');
  return body;
}

/** Changes what the response says in a way a client would act on: a later cursor, or the opposite verdict. */
function tamper(response: Element): void {
  const children = childElements(response);
  const tot = children.find((c) => c.localName === 'volgnummerTot');
  const verdict = children.find((c) => c.localName === 'requestGoedgekeurd');
  const target = tot ?? verdict;
  if (!target) return;
  const value = textOf(target).trim();
  const forged = tot ? String(Number(value) + 1000) : value === 'true' ? 'false' : 'true';
  while (target.firstChild) target.removeChild(target.firstChild);
  target.appendChild(target.ownerDocument!.createTextNode(forged));
}

function alterBody(xml: string): string {
  const doc = parseXml(xml);
  tamper(childElements(bodyOf(doc.documentElement!))[0]!);
  return new XMLSerializer().serializeToString(doc);
}

/** A copy of the signed Body without its Id, tampered with. */
function forgedBody(signedBody: Element): Element {
  const copy = signedBody.cloneNode(true) as Element;
  copy.removeAttributeNS(NS.wsu, 'Id');
  const response = childElements(copy)[0];
  if (response) tamper(response);
  return copy;
}

function wrapBody(xml: string): string {
  const doc = parseXml(xml);
  const envelope = doc.documentElement!;
  const header = childElements(envelope).find((c) => isIn(c, NS.soap, 'Header'))!;
  const body = bodyOf(envelope);
  const forged = forgedBody(body);
  const wrapper = doc.createElementNS('urn:forged:wrapper', 'wrap:Wrapper');
  envelope.replaceChild(forged, body);
  wrapper.appendChild(body);
  header.appendChild(wrapper);
  return new XMLSerializer().serializeToString(doc);
}

function addSecondBody(xml: string): string {
  const doc = parseXml(xml);
  const envelope = doc.documentElement!;
  const body = bodyOf(envelope);
  envelope.insertBefore(forgedBody(body), body);
  return new XMLSerializer().serializeToString(doc);
}
