/**
 * The HTTPS exchange with ROD that every transport shares: mutual TLS through
 * one undici Agent, the configured trust anchors only, a few retries of a
 * network failure, and waiting out a 503/429 whose Retry-After is short
 * enough. What a response means (JSON problem, SOAP fault) is the
 * transport's business; how long to wait and when to give up is decided here,
 * once, for both.
 *
 * Every answer is bounded: its body is counted as it streams in and refused
 * past rod.maxResponseBytes (never buffered whole first), and the whole
 * exchange, headers and body, must be done within twice rod.timeoutSeconds.
 * undici's bodyTimeout only limits the gap between two chunks, so without
 * that deadline a peer dripping a byte at a time could hold a cycle for ever.
 *
 * undici's own `request` is used with an Agent from the same package: mixing
 * an npm undici Agent with Node's global fetch breaks whenever Node bundles a
 * different undici major (Node 20 here, 24 in the image).
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { cleanOutsideText } from '../observability/outside-text.js';
import type { Logger } from '../observability/log.js';
import { RodError, stopped } from './errors.js';

export interface RodTls {
  certPem: string;
  keyPem: string;
  /** The configured trust anchors only; the system store is never consulted. */
  anchorsPem: string;
  /**
   * CA certificates from the other configured client chain (tls.next during a renewal), which may
   * complete a chain the peer presents without its intermediates; never trusted as anchors.
   */
  intermediatesPem?: string;
  /** Extra judgement of the server chain (hierarchy, known root); returns problems, empty when fine. */
  checkServerChain?: (chainLeafFirst: X509Certificate[]) => string[];
}

export interface RodHttpOptions {
  baseUrl: string;
  timeoutSeconds: number;
  /** rod.maxResponseBytes (default 20 MB): a larger body is refused while it streams in. */
  maxResponseBytes?: number;
  tls: RodTls;
  log: Logger;
  /** How long one request may wait on a Retry-After (429/503) before the cycle gives up. */
  maxRetryAfterSeconds?: number;
  wait?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  /** Aborted when the relay stops: a request or a Retry-After wait in progress ends at once. */
  signal?: AbortSignal;
}

export interface HttpExchange {
  method: 'GET' | 'PUT' | 'POST';
  /** Appended to the base URL. */
  path: string;
  headers: Record<string, string>;
  /**
   * The request body, or a function that makes it for each attempt: a signed
   * SOAP message must carry a fresh MessageID, document id and timestamp when
   * a network failure or a Retry-After makes it go out again.
   */
  body?: string | (() => string);
  /** A short label for a throttling response's body, for the error an administrator reads. */
  describe?: (status: number, text: string) => { label: string; code?: string };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  requestId: string;
}

const NETWORK_ATTEMPTS = 3;
const DEFAULT_MAX_RESPONSE_BYTES = 20_971_520;
const THROTTLE_ATTEMPTS = 3;

/** The client certificate (leaf first, with intermediates) and its key, as presented to ROD. */
export type RodCredentials = Pick<RodTls, 'certPem' | 'keyPem'>;

export class RodHttp {
  private agent: Agent;
  private readonly maxRetryAfter: number;
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  private readonly host: string;

  constructor(private options: RodHttpOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'https:') throw new RodError('tls', `rod.url must be https, got ${url.protocol}`);
    this.host = url.hostname;
    this.maxRetryAfter = options.maxRetryAfterSeconds ?? 60;
    this.wait = options.wait ?? ((ms, signal) => sleep(ms, undefined, { signal }));
    this.agent = createAgent(options);
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /**
   * One request, with retries for network failures and short Retry-After
   * waits. Answers every other status as it came: a 4xx or 5xx is for the
   * transport to read. A 429/503 that lasts too long is a `throttled` error.
   */
  async exchange(ex: HttpExchange): Promise<HttpAnswer> {
    let networkFailures = 0;
    let throttles = 0;
    const { signal } = this.options;
    for (;;) {
      if (signal?.aborted) throw stopped();
      const requestId = randomUUID();
      const started = Date.now();
      // Headers and body together: aborted at the deadline, or at once when the relay stops.
      const deadlineMs = this.options.timeoutSeconds * 2000;
      const exchange = new AbortController();
      const timer = setTimeout(() => exchange.abort(), deadlineMs);
      const stop = () => exchange.abort();
      signal?.addEventListener('abort', stop, { once: true });
      const pastDeadline = () => new RodError(
        'timeout',
        `ROD at ${this.options.baseUrl} did not finish its answer within ${deadlineMs / 1000} s (twice rod.timeoutSeconds); the next cycle tries again. Request ${requestId}`,
        { code: 'ROD_DEADLINE' },
      );
      let response: Dispatcher.ResponseData;
      let text: string;
      try {
        try {
          response = await request(`${this.options.baseUrl}${ex.path}`, {
            method: ex.method,
            signal: exchange.signal,
            dispatcher: this.agent,
            headers: { ...ex.headers, 'x-request-id': requestId },
            body: typeof ex.body === 'function' ? ex.body() : ex.body,
          });
        } catch (err) {
          if (signal?.aborted) throw stopped();
          if (exchange.signal.aborted) throw pastDeadline();
          const failure = this.describeTransportError(err);
          if (failure.kind === 'tls' || ++networkFailures >= NETWORK_ATTEMPTS) throw failure;
          this.options.log.warn('rod.retry', { requestId, reason: failure.kind, attempt: networkFailures, message: failure.message });
          await this.pause(1000 * 2 ** networkFailures);
          continue;
        }
        try {
          text = await this.readBody(response, ex, requestId);
        } catch (err) {
          if (signal?.aborted) throw stopped();
          if (exchange.signal.aborted) throw pastDeadline();
          if (err instanceof RodError) throw err;
          throw this.describeTransportError(err);
        }
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
      }
      const status = response.statusCode;
      this.options.log.debug('rod.response', { requestId, method: ex.method, status, ms: Date.now() - started });
      if (status !== 429 && status !== 503) return { status, headers: response.headers, text, requestId };

      const described = ex.describe?.(status, text) ?? { label: `HTTP ${status}` };
      const retryAfter = parseRetryAfter(header(response.headers, 'retry-after'));
      if (retryAfter !== undefined && retryAfter <= this.maxRetryAfter && ++throttles < THROTTLE_ATTEMPTS) {
        this.options.log.warn('rod.throttled', { requestId, status, retryAfterSeconds: retryAfter, code: described.code });
        await this.pause(retryAfter * 1000);
        continue;
      }
      throw new RodError(
        'throttled',
        `ROD answered ${status} (${described.label})${retryAfter !== undefined ? `, retry after ${retryAfter} s` : ''}; the next cycle tries again. Request ${requestId}`,
        { status, retryAfterSeconds: retryAfter, code: described.code },
      );
    }
  }

  /**
   * Present another client certificate from the next request on (a switch to tls.next), without a
   * restart: a new Agent, because an undici Agent's TLS options are fixed when it is made. The old
   * one finishes what it has in flight and is then closed.
   */
  useCredentials(credentials: RodCredentials): void {
    const old = this.agent;
    this.options = { ...this.options, tls: { ...this.options.tls, ...credentials } };
    this.agent = createAgent(this.options);
    old.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /**
   * The body as text, counted chunk by chunk as it arrives: past rod.maxResponseBytes the stream
   * is destroyed (the connection closes) and the answer refused, so no more than the limit is
   * ever held in memory.
   */
  private async readBody(response: Dispatcher.ResponseData, ex: HttpExchange, requestId: string): Promise<string> {
    const max = this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const tooLarge = () => {
      response.body.destroy();
      return new RodError(
        'invalid-response',
        `ROD's answer to ${ex.method} ${ex.path.split('?')[0] || '/'} is larger than rod.maxResponseBytes (${max} bytes) and was refused unread; nothing of it was stored. Raise rod.maxResponseBytes only if DUO's pages are really this large. Request ${requestId}`,
        { status: response.statusCode },
      );
    };
    const declared = Number(header(response.headers, 'content-length'));
    if (Number.isFinite(declared) && declared > max) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) throw tooLarge();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  private async pause(ms: number): Promise<void> {
    try {
      await this.wait(ms, this.options.signal);
    } catch (err) {
      if (this.options.signal?.aborted) throw stopped();
      throw err;
    }
  }

  private describeTransportError(err: unknown): RodError {
    const codes: string[] = [];
    let messages = '';
    for (let e = err as { code?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
      if (e.code) codes.push(e.code);
      if (e.message) messages = messages || e.message;
      if (codes.length > 5) break;
    }
    const code = codes.find((c) => !c.startsWith('UND_ERR')) ?? codes[0] ?? 'UNKNOWN';
    const where = this.options.baseUrl;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new RodError('tls', `TLS refused: ROD's server certificate is not valid for the host name "${this.host}" in rod.url (${where})`, { code });
    }
    if (['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_SIGNATURE_FAILURE'].includes(code)) {
      return new RodError('tls', `TLS refused: ROD's server certificate at ${where} does not chain to the trust anchors in tls.trustAnchors (${code}). Add the right PKIoverheid private root; never switch verification off`, { code });
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return new RodError('tls', `TLS refused: ROD's server certificate at ${where} is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not yet valid'} (check this machine's clock too)`, { code });
    }
    if (code === 'ROD_SERVER_CHAIN') return new RodError('tls', `TLS refused: ROD's server chain: ${messages}`, { code });
    if (/^ERR_SSL|^ERR_TLS|alert|handshake/i.test(code) || /alert|handshake|certificate/i.test(messages)) {
      return new RodError('tls', `TLS handshake with ROD at ${where} failed (${code}: ${cleanOutsideText(messages)}). If ROD rejected the client certificate, check tls.cert and that DUO registered it`, { code });
    }
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
      return new RodError('timeout', `ROD at ${where} did not answer within rod.timeoutSeconds (${code})`, { code });
    }
    return new RodError('unreachable', `ROD at ${where} is unreachable (${code}${messages ? `: ${cleanOutsideText(messages)}` : ''})`, { code });
  }
}

function createAgent(options: RodHttpOptions): Agent {
  const { checkServerChain } = options.tls;
  return new Agent({
    connect: {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      ca: options.tls.anchorsPem,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      timeout: options.timeoutSeconds * 1000,
      checkServerIdentity: (hostname: string, cert: PeerCertificate) => {
        const mismatch = checkServerIdentity(hostname, cert);
        if (mismatch) return mismatch;
        if (!checkServerChain) return undefined;
        const problems = checkServerChain(peerChain(cert));
        return problems.length ? Object.assign(new Error(problems.join('; ')), { code: 'ROD_SERVER_CHAIN' }) : undefined;
      },
    },
    headersTimeout: options.timeoutSeconds * 1000,
    bodyTimeout: options.timeoutSeconds * 1000,
    keepAliveTimeout: 10_000,
  });
}

/** The chain the server presented, leaf first, as Node reports it in checkServerIdentity. */
function peerChain(cert: PeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let current: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = cert;
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(new X509Certificate(current.raw));
    current = current.issuerCertificate;
  }
  return chain;
}

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
