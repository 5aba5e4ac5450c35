/**
 * The SOAP endpoint of the simulated ROD: one POST path, every request run
 * through the strict checker, the operation answered with a response signed
 * the way DUO's gateway signs, and the injections tests queue (faults,
 * business refusals, forged responses) applied to requests that pass the
 * checks. Throttling and maintenance come from the feed's injected failures
 * as HTTP 503 with Retry-After and no SOAP, as DUO's gateway answers them.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { contractNamed, type Contract } from '../../feed/edukoppeling/contract.js';
import type { GemeenteRegistry } from '../access.js';
import type { SimulatedFeed } from '../feed.js';
import { checkRequest, ReplayGuard, type CheckedRequest } from './check-request.js';
import { FAULTS, RuleViolation, faultXml, type FaultCode } from './faults.js';
import { handleOperation, refusal, type OperationContext, type ResponseContent } from './handlers.js';
import { FORGERIES, signedResponse, type Forgery, type ResponseSigner, type Signers } from './sign-response.js';
import { DEFAULT_SOAP_PATH, DUO_OIN } from './wire.js';

export { FORGERIES, type Forgery, type ResponseSigner } from './sign-response.js';
export { FAULTS, type FaultCode } from './faults.js';

export interface EdukoppelingOptions {
  /** Where SOAP is POSTed. Default '/ROD/services/verzuim1.0'. */
  path?: string;
  /** Default 'DUO_ROD_Verzuim_Gemeente_V1'. */
  contract?: string;
  /** DUO's OIN, required in wsa:To and ontvangendeInstantie, and sent in the response's From. Default '00000001800866472000'. */
  duoOin?: string;
  /** When set, wsa:To must be exactly `<to>?oin=<duoOin>`; otherwise any http(s) URL with `?oin=<duoOin>`. */
  to?: string;
  /** Signs responses. Default: the server certificate and key. */
  signer?: ResponseSigner;
  /** For the 'other-oin-signer' forgery: a certificate within the anchors with another OIN. */
  otherOinSigner?: ResponseSigner;
  /** For the 'untrusted-signer' forgery: a certificate outside the anchors. */
  untrustedSigner?: ResponseSigner;
  /**
   * The OINs (wsa:From) the holder of a TLS certificate may act for, keyed by the OIN in that certificate
   * ('*': any certificate). A certificate may always act for its own OIN; any other is EK0030.
   */
  actingFor?: Readonly<Record<string, readonly string[]>>;
  /** Allowed clock difference for a request's Timestamp Created (default 300 s). */
  clockSkewSeconds?: number;
  /** Default: the real clock. */
  now?: () => Date;
}

/** What a test can queue for the next request(s) that pass every check. */
export type Injection =
  /** A SOAP Fault with this faultcode, e.g. 'Client.EK0030', 'Server.DK0050' (HTTP 500). */
  | { kind: 'fault'; faultcode: string; faultstring?: string }
  /** requestGoedgekeurd false with this foutcode (HTTP 200, correctly signed). */
  | { kind: 'refusal'; foutcode: string; fouttekst?: string }
  /** The real answer, forged this way. */
  | { kind: 'forgery'; forgery: Forgery };

/** A check that refused a request, as the server logged it. */
export interface Refusal {
  faultcode: string;
  check: string;
  reason: string;
}

/** The running simulator's Edukoppeling side: injections and what was refused. */
export class EdukoppelingControl {
  /** Every request the checker refused, in order. */
  readonly refusals: Refusal[] = [];
  /** The body of the last SOAP request received (refused or not), as sent: for tests that look at what a client sent. */
  lastRequest: string | undefined;
  private readonly queue: Injection[] = [];

  /** The next `times` (default 1) requests that pass the checks get this SOAP Fault. */
  faultNext(faultcode: string, options: { faultstring?: string; times?: number } = {}): void {
    this.push({ kind: 'fault', faultcode, ...(options.faultstring !== undefined ? { faultstring: options.faultstring } : {}) }, options.times);
  }

  /** The next `times` (default 1) requests that pass the checks get requestGoedgekeurd false with this foutcode. */
  refuseNext(foutcode: string, options: { fouttekst?: string; times?: number } = {}): void {
    this.push({ kind: 'refusal', foutcode, ...(options.fouttekst !== undefined ? { fouttekst: options.fouttekst } : {}) }, options.times);
  }

  /** The next `times` (default 1) responses are forged this way. */
  forgeNext(forgery: Forgery, options: { times?: number } = {}): void {
    if (!FORGERIES.includes(forgery)) throw new Error(`unknown forgery "${String(forgery)}"; one of ${FORGERIES.join(', ')}`);
    this.push({ kind: 'forgery', forgery }, options.times);
  }

  inject(injection: Injection, times = 1): void {
    this.push(injection, times);
  }

  /** Used by the endpoint. */
  take(): Injection | undefined {
    return this.queue.shift();
  }

  private push(injection: Injection, times = 1): void {
    for (let i = 0; i < Math.max(1, Math.trunc(times)); i++) this.queue.push(injection);
  }
}

export interface SoapReply {
  status: number;
  headers?: Record<string, string>;
  /** text/xml; charset=UTF-8 when set. */
  xml?: string;
  /** For the request record. */
  operation?: string;
  fault?: string;
}

/** Everything the endpoint needs, fixed at start. */
export interface SoapSite {
  path: string;
  contract: Contract;
  duoOin: string;
  to: string | undefined;
  signers: Signers;
  actingFor: Readonly<Record<string, readonly string[]>>;
  clockSkewSeconds: number;
  now: () => Date;
  seen: ReplayGuard;
  control: EdukoppelingControl;
}

export function soapSite(options: EdukoppelingOptions, server: ResponseSigner): SoapSite {
  return {
    path: (options.path ?? DEFAULT_SOAP_PATH).replace(/\/+$/, ''),
    contract: contractNamed(options.contract),
    duoOin: options.duoOin ?? DUO_OIN,
    to: options.to,
    signers: {
      duo: options.signer ?? server,
      ...(options.otherOinSigner ? { otherOin: options.otherOinSigner } : {}),
      ...(options.untrustedSigner ? { untrusted: options.untrustedSigner } : {}),
    },
    actingFor: options.actingFor ?? {},
    clockSkewSeconds: options.clockSkewSeconds ?? 300,
    now: options.now ?? (() => new Date()),
    seen: new ReplayGuard(),
    control: new EdukoppelingControl(),
  };
}

/** A SOAP body may be larger than a REST one: the token alone is a few kilobytes. */
const MAX_SOAP_BYTES = 256 * 1024;

async function readRaw(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_SOAP_BYTES) chunks.push(chunk);
  }
  return size > MAX_SOAP_BYTES ? undefined : Buffer.concat(chunks);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A certificate acts for its own OIN, and for those ROD registered for it (or for every certificate, under '*'). */
export function mayActFor(actingFor: Readonly<Record<string, readonly string[]>>, tlsOin: string | undefined, fromOin: string): boolean {
  if (tlsOin === fromOin) return true;
  if ((actingFor['*'] ?? []).includes(fromOin)) return true;
  return tlsOin !== undefined && Object.hasOwn(actingFor, tlsOin) && (actingFor[tlsOin] ?? []).includes(fromOin);
}

export function fault(faultcode: string, faultstring: string): SoapReply {
  return { status: 500, xml: faultXml(faultcode, faultstring), fault: faultcode };
}

function faultstringFor(faultcode: string): string {
  const code = faultcode.split('.').pop() as FaultCode;
  return Object.hasOwn(FAULTS, code) ? FAULTS[code] : 'Gesimuleerde fout';
}

export interface SoapRequestContext {
  req: IncomingMessage;
  path: string;
  oin: string | undefined;
  feed: SimulatedFeed;
  gemeenten: GemeenteRegistry | undefined;
  log: (event: string, fields: Record<string, unknown>) => void;
  /** False when the client certificate is not registered with DUO (SimulatorOptions.certificates). */
  registered?: boolean;
}

export async function answerSoap(site: SoapSite, x: SoapRequestContext): Promise<SoapReply> {
  const { req } = x;
  if (x.path !== site.path) {
    req.resume();
    return { status: 404 };
  }
  if (req.method !== 'POST') {
    req.resume();
    return { status: 405, headers: { Allow: 'POST' } };
  }
  const raw = await readRaw(req);
  if (raw === undefined) return fault('Client.DK0001', `Het bericht is groter dan ${MAX_SOAP_BYTES} bytes`);
  site.control.lastRequest = raw.toString('utf8');

  const now = site.now();
  let request: CheckedRequest;
  try {
    request = checkRequest(
      { contentType: header(req, 'content-type'), soapAction: header(req, 'soapaction'), body: raw },
      {
        contract: site.contract,
        duoOin: site.duoOin,
        to: site.to,
        now,
        clockSkewSeconds: site.clockSkewSeconds,
        tlsCertificate: (req.socket as TLSSocket).getPeerCertificate().raw,
        tlsOin: x.oin,
        mayActFor: (tlsOin, fromOin) => mayActFor(site.actingFor, tlsOin, fromOin),
        seen: site.seen,
      },
    );
  } catch (error) {
    if (!(error instanceof RuleViolation)) throw error;
    const faultcode = `Client.${error.code}`;
    site.control.refusals.push({ faultcode, check: error.check, reason: error.reason });
    x.log('simulator.edukoppeling.refused', { faultcode, check: error.check, reason: error.reason });
    return fault(faultcode, FAULTS[error.code]);
  }

  // A request that passes every wire rule, signed with a certificate DUO does not know: EK0030,
  // as for a certificate that may not act for the OIN in From.
  if (x.registered === false) {
    const faultcode = 'Client.EK0030';
    const reason = 'the TLS client certificate is not registered with DUO';
    site.control.refusals.push({ faultcode, check: 'checkRegistered', reason });
    x.log('simulator.edukoppeling.refused', { faultcode, check: 'checkRegistered', reason });
    return { ...fault(faultcode, FAULTS.EK0030), operation: request.operation };
  }
  const injection = site.control.take();
  if (injection?.kind === 'fault') {
    x.log('simulator.edukoppeling.injected', { faultcode: injection.faultcode });
    return { ...fault(injection.faultcode, injection.faultstring ?? faultstringFor(injection.faultcode)), operation: request.operation };
  }
  const context: OperationContext = { feed: x.feed, gemeenten: x.gemeenten, duoOin: site.duoOin, now };
  const content: ResponseContent =
    injection?.kind === 'refusal'
      ? refusal(request, context, { foutcode: injection.foutcode, fouttekst: injection.fouttekst ?? 'Gesimuleerde weigering.' })
      : handleOperation(request, context);
  const forgery = injection?.kind === 'forgery' ? injection.forgery : undefined;
  if (forgery) x.log('simulator.edukoppeling.injected', { forgery });
  const xml = signedResponse(
    {
      contract: site.contract,
      action: request.action,
      relatesTo: request.messageId,
      requesterOin: request.fromOin,
      duoOin: site.duoOin,
      now,
      responseElement: content.responseElement,
      content: content.content,
    },
    site.signers,
    forgery,
  );
  return { status: 200, xml, operation: request.operation, ...(content.foutcode ? { fault: content.foutcode } : {}) };
}

/** An injected feed failure over Edukoppeling: 503 + Retry-After without SOAP (DUO never answers 429), or a Server fault. */
export function soapFailureReply(status: 429 | 503 | 500, retryAfter: string | undefined): SoapReply {
  if (status === 500) return fault('Server.DK0051', 'De dienst is tijdelijk niet beschikbaar');
  return { status: 503, headers: { 'Retry-After': retryAfter ?? '1' } };
}
