/**
 * The ROD client: HTTPS with mutual TLS through undici. Only this module knows
 * how ROD is spoken to; a supplier holding DUO's official specification
 * should only have to change this file and contract.ts.
 *
 * undici's own `request` is used with an Agent from the same package: mixing
 * an npm undici Agent with Node's global fetch breaks whenever Node bundles a
 * different undici major (Node 20 here, 24 in the image).
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Logger } from '../../observability/log.js';
import { mutatiePaginaSchema, problemSchema, type MutatiePagina, type Problem } from '../contract.js';

export interface RodTls {
  certPem: string;
  keyPem: string;
  /** The configured trust anchors only; the system store is never consulted. */
  anchorsPem: string;
  /** Extra judgement of the server chain (hierarchy, known root); returns problems, empty when fine. */
  checkServerChain?: (chainLeafFirst: X509Certificate[]) => string[];
}

export interface RodClientOptions {
  baseUrl: string;
  gemeentecode: string;
  timeoutSeconds: number;
  tls: RodTls;
  log: Logger;
  /** How long one request may wait on a Retry-After (429/503) before the cycle gives up. */
  maxRetryAfterSeconds?: number;
  wait?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  /** Aborted when the relay stops: a request or a Retry-After wait in progress ends at once. */
  signal?: AbortSignal;
}

export type RodErrorKind = 'tls' | 'unreachable' | 'timeout' | 'throttled' | 'refused' | 'server' | 'invalid-response' | 'stopped';

export class RodError extends Error {
  constructor(
    readonly kind: RodErrorKind,
    message: string,
    readonly details: { status?: number; problem?: Problem; retryAfterSeconds?: number; code?: string } = {},
  ) {
    super(message);
    this.name = 'RodError';
  }
}

const NETWORK_ATTEMPTS = 3;
const THROTTLE_ATTEMPTS = 3;

export class RodClient {
  private readonly agent: Agent;
  private readonly maxRetryAfter: number;
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  private readonly host: string;

  constructor(private readonly options: RodClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'https:') throw new RodError('tls', `rod.url must be https, got ${url.protocol}`);
    this.host = url.hostname;
    this.maxRetryAfter = options.maxRetryAfterSeconds ?? 60;
    this.wait = options.wait ?? ((ms, signal) => sleep(ms, undefined, { signal }));
    const { checkServerChain } = options.tls;
    this.agent = new Agent({
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

  /** One page of the feed after `vanaf` (exclusive). Items are validated one by one by the caller. */
  async fetchPage(vanaf: number, limit: number): Promise<MutatiePagina & { requestId: string }> {
    const path = `/gemeenten/${encodeURIComponent(this.options.gemeentecode)}/verzuimmeldingen?vanaf=${vanaf}&limit=${limit}`;
    const { body, requestId } = await this.call('GET', path);
    const parsed = mutatiePaginaSchema.safeParse(body);
    if (!parsed.success) {
      const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(page)'}: ${i.message}`).join('; ');
      throw new RodError('invalid-response', `ROD sent a page that does not match the contract (${where}); request ${requestId}`);
    }
    if (parsed.data.volgnummerTot < vanaf) {
      throw new RodError('invalid-response', `ROD sent volgnummerTot ${parsed.data.volgnummerTot} below vanaf ${vanaf}; request ${requestId}`);
    }
    return { ...parsed.data, requestId };
  }

  /** Reports the municipality's handling of a melding. 409 (a transition ROD refuses) is an answer, not an error. */
  async setStatus(meldingsnummer: string, status: 'IN_BEHANDELING'): Promise<'ok' | 'conflict'> {
    try {
      await this.call('PUT', `/verzuimmeldingen/${encodeURIComponent(meldingsnummer)}/status`, { status });
      return 'ok';
    } catch (err) {
      if (err instanceof RodError && err.details.status === 409) return 'conflict';
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async call(method: 'GET' | 'PUT', path: string, payload?: unknown): Promise<{ body: unknown; requestId: string }> {
    const url = `${this.options.baseUrl}${path}`;
    let networkFailures = 0;
    let throttles = 0;
    const { signal } = this.options;
    for (;;) {
      if (signal?.aborted) throw stopped();
      const requestId = randomUUID();
      const started = Date.now();
      let response;
      try {
        response = await request(url, {
          method,
          signal,
          dispatcher: this.agent,
          headers: {
            accept: 'application/json, application/problem+json',
            'x-request-id': requestId,
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: payload === undefined ? undefined : JSON.stringify(payload),
        });
      } catch (err) {
        if (signal?.aborted) throw stopped();
        const failure = this.describeTransportError(err);
        if (failure.kind === 'tls' || ++networkFailures >= NETWORK_ATTEMPTS) throw failure;
        this.options.log.warn('rod.retry', { requestId, reason: failure.kind, attempt: networkFailures, message: failure.message });
        await this.pause(1000 * 2 ** networkFailures);
        continue;
      }

      const text = await response.body.text();
      const status = response.statusCode;
      this.options.log.debug('rod.response', { requestId, method, status, ms: Date.now() - started });
      if (status >= 200 && status < 300) {
        if (status === 204 || text.length === 0) return { body: undefined, requestId };
        try {
          return { body: JSON.parse(text), requestId };
        } catch {
          throw new RodError('invalid-response', `ROD answered ${status} with a body that is not JSON; request ${requestId}`, { status });
        }
      }

      const problem = parseProblem(text);
      const label = problem ? `${problem.title}${problem.code ? ` [${problem.code}]` : ''}${problem.detail ? `: ${problem.detail}` : ''}` : `HTTP ${status}`;
      if (status === 429 || status === 503) {
        const retryAfter = parseRetryAfter(header(response.headers, 'retry-after'));
        if (retryAfter !== undefined && retryAfter <= this.maxRetryAfter && ++throttles < THROTTLE_ATTEMPTS) {
          this.options.log.warn('rod.throttled', { requestId, status, retryAfterSeconds: retryAfter, code: problem?.code });
          await this.pause(retryAfter * 1000);
          continue;
        }
        throw new RodError(
          'throttled',
          `ROD answered ${status} (${label})${retryAfter !== undefined ? `, retry after ${retryAfter} s` : ''}; the next cycle tries again. Request ${requestId}`,
          { status, problem, retryAfterSeconds: retryAfter, code: problem?.code },
        );
      }
      if (status === 401 || status === 403) {
        throw new RodError(
          'refused',
          `ROD refused the request (${status}: ${label}). Check that DUO registered this certificate's OIN for gemeentecode ${this.options.gemeentecode} (verzuim-relay cert bundle makes the files to send). Request ${requestId}`,
          { status, problem, code: problem?.code },
        );
      }
      const kind: RodErrorKind = status >= 500 ? 'server' : 'refused';
      throw new RodError(kind, `ROD answered ${status} (${label}) to ${method} ${path.split('?')[0]}; request ${requestId}`, { status, problem, code: problem?.code });
    }
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
      return new RodError('tls', `TLS handshake with ROD at ${where} failed (${code}: ${messages}). If ROD rejected the client certificate, check tls.cert and that DUO registered it`, { code });
    }
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
      return new RodError('timeout', `ROD at ${where} did not answer within rod.timeoutSeconds (${code})`, { code });
    }
    return new RodError('unreachable', `ROD at ${where} is unreachable (${code}${messages ? `: ${messages}` : ''})`, { code });
  }
}

function stopped(): RodError {
  return new RodError('stopped', 'the relay is stopping; the feed is read further in the next cycle');
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

function parseProblem(text: string): Problem | undefined {
  try {
    const parsed = problemSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
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
