/**
 * The simulated ROD over HTTPS with mutual TLS, speaking the contract of the
 * ROD Verzuim API 1.2.0. TLS refuses a client without a certificate that
 * chains to the configured roots before any HTTP is exchanged, as DUO's
 * gateway does; the OIN in the certificate's subject serialNumber then
 * decides which gemeenten the caller may read.
 */
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { SimulatedFeed } from './feed.js';
import { failureProblem, problem, type ProblemName } from './problems.js';
import type { Problem } from '../feed/contract.js';
import { MUNICIPALITY_STATUSES } from '../domain/melding.js';
import { authorize, oinRefusalDetail, type GemeenteRegistry } from './access.js';
import { MAX_BODY_BYTES, integerParameter, readBody, singleHeader } from './request.js';

export const API_VERSION = '1.2.0';

export interface SimulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Server certificate PEM (leaf followed by intermediates). */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM of the roots client certificates must chain to. */
  clientCa: string | Buffer;
  /** Default '/verzuim/v1'. */
  basePath?: string;
  /**
   * The gemeenten this ROD knows, each with the OIN registered for it. When
   * given, other gemeentecodes are unknown (404); when an OIN is set, a client
   * certificate with another subject serialNumber gets 403 ROD-403-OIN.
   * Without it, every gemeente is served to every client.
   */
  gemeenten?: GemeenteRegistry;
  feed?: SimulatedFeed;
  /** Called once per request (and once per refused TLS handshake); fields hold no personal data. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface RunningSimulator {
  /** The base URL clients configure, e.g. https://localhost:8443/verzuim/v1. */
  url: string;
  port: number;
  feed: SimulatedFeed;
  close(): Promise<void>;
}

interface Exchange {
  req: IncomingMessage;
  path: string;
  query: URLSearchParams;
  oin: string | undefined;
  /** Sends the answer and records the request; call exactly once. */
  send(status: number, body?: unknown, headers?: Record<string, string>): void;
  fail(name: ProblemName, detail: string): void;
}

function clientOin(req: IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const subject = socket.getPeerCertificate().subject as unknown as Record<string, string | string[] | undefined> | undefined;
  const serialNumber = subject?.serialNumber;
  return Array.isArray(serialNumber) ? serialNumber[0] : serialNumber;
}

function hostForUrl(host: string): string {
  if (['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost'].includes(host)) return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  const basePath = (options.basePath ?? '/verzuim/v1').replace(/\/+$/, '');
  const feed = options.feed ?? new SimulatedFeed();
  const log = options.log ?? (() => {});

  function oinProblem(x: Exchange, gemeentecode: string): void {
    x.fail('oin', oinRefusalDetail(gemeentecode, x.oin));
  }

  function getFeed(x: Exchange, gemeentecode: string): void {
    if (!/^[0-9]{4}$/.test(gemeentecode)) return x.fail('parameter', 'De gemeentecode moet uit precies vier cijfers bestaan.');
    const vanaf = integerParameter(x.query, 'vanaf', 0, 0, Number.MAX_SAFE_INTEGER);
    if (typeof vanaf === 'string') return x.fail('parameter', vanaf);
    const limit = integerParameter(x.query, 'limit', 100, 1, 500);
    if (typeof limit === 'string') return x.fail('parameter', limit);
    const authorization = authorize(options.gemeenten, gemeentecode, x.oin);
    if (authorization === 'unknown-gemeente') return x.fail('gemeente', `Gemeentecode ${gemeentecode} is bij ROD niet bekend.`);
    if (authorization === 'oin-mismatch') return oinProblem(x, gemeentecode);
    x.send(200, feed.page(gemeentecode, vanaf, limit));
  }

  /** The melding, if the caller may see it; otherwise the answer has been sent. */
  function visibleMelding(x: Exchange, meldingsnummer: string) {
    if (!/^[0-9]{1,12}$/.test(meldingsnummer)) {
      x.fail('parameter', 'Het meldingsnummer moet uit 1 tot 12 cijfers bestaan.');
      return undefined;
    }
    const melding = feed.current(meldingsnummer);
    const authorization = melding ? authorize(options.gemeenten, melding.gemeentecode, x.oin) : 'unknown-gemeente';
    if (!melding || authorization === 'unknown-gemeente') {
      x.fail('melding', `Er is geen melding met meldingsnummer ${meldingsnummer}.`);
      return undefined;
    }
    if (authorization === 'oin-mismatch') {
      oinProblem(x, melding.gemeentecode);
      return undefined;
    }
    return melding;
  }

  function getMelding(x: Exchange, meldingsnummer: string): void {
    const melding = visibleMelding(x, meldingsnummer);
    if (melding) x.send(200, melding);
  }

  async function putStatus(x: Exchange, meldingsnummer: string): Promise<void> {
    const body = await readBody(x.req);
    const melding = visibleMelding(x, meldingsnummer);
    if (!melding) return;
    const contentType = singleHeader(x.req, 'content-type') ?? '';
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      return x.fail('body', 'Het bericht moet JSON zijn (Content-Type: application/json).');
    }
    if (body === undefined) return x.fail('body', `Het bericht is groter dan ${MAX_BODY_BYTES} bytes.`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return x.fail('body', 'Het bericht is geen geldige JSON.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return x.fail('body', 'Het bericht moet een JSON-object met een status zijn.');
    }
    const { status, toelichting } = parsed as { status?: unknown; toelichting?: unknown };
    if (typeof status !== 'string' || !MUNICIPALITY_STATUSES.includes(status)) {
      return x.fail('body', `Het veld status moet een van ${MUNICIPALITY_STATUSES.join(', ')} zijn.`);
    }
    if (toelichting !== undefined && (typeof toelichting !== 'string' || toelichting.length > 500)) {
      return x.fail('body', 'Het veld toelichting moet tekst van hoogstens 500 tekens zijn.');
    }
    const result = feed.setStatus(meldingsnummer, status, toelichting);
    if (result === 'not-found') return x.fail('melding', `Er is geen melding met meldingsnummer ${meldingsnummer}.`);
    if (result === 'conflict') {
      return x.fail(
        'transition',
        melding.status === 'INGETROKKEN'
          ? 'De melding is ingetrokken door de school en kan niet meer worden gewijzigd.'
          : `De status kan niet van ${melding.status} naar ${status} worden gewijzigd.`,
      );
    }
    x.send(204);
  }

  async function route(x: Exchange): Promise<void> {
    const prefix = basePath + '/';
    if (!x.path.startsWith(prefix)) return x.fail('path', `Onbekend pad. De API staat onder ${basePath}.`);
    const rest = x.path.slice(basePath.length);
    const method = x.req.method ?? 'GET';
    const notAllowed = (allowed: string) => x.send(405, problem('method', `Gebruik ${allowed} op dit pad.`, x.path), { Allow: allowed });

    let match = /^\/gemeenten\/([^/]+)\/verzuimmeldingen$/.exec(rest);
    if (match) return method === 'GET' ? getFeed(x, match[1]!) : notAllowed('GET');
    match = /^\/verzuimmeldingen\/([^/]+)$/.exec(rest);
    if (match) return method === 'GET' ? getMelding(x, match[1]!) : notAllowed('GET');
    match = /^\/verzuimmeldingen\/([^/]+)\/status$/.exec(rest);
    if (match) return method === 'PUT' ? putStatus(x, match[1]!) : notAllowed('PUT');
    x.fail('path', 'Onbekend pad.');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'https://rod.invalid');
    const requestId = singleHeader(req, 'x-request-id');
    const oin = clientOin(req);
    let answered = false;

    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      if (answered) return;
      answered = true;
      const record = {
        method: req.method ?? '',
        path: url.pathname,
        ...(url.search ? { query: url.search.slice(1) } : {}),
        ...(requestId !== undefined ? { requestId } : {}),
        ...(oin !== undefined ? { oin } : {}),
        status,
      };
      // Recorded before the answer leaves, so a test that has the answer also has the record.
      feed.requests.push(record);
      log('simulator.request', { ...record, ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000 });

      res.statusCode = status;
      res.setHeader('API-Version', API_VERSION);
      res.setHeader('Cache-Control', 'no-store');
      if (requestId !== undefined) res.setHeader('X-Request-ID', requestId);
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      if (body === undefined) return void res.end();
      const isProblem = status >= 400;
      res.setHeader('Content-Type', isProblem ? 'application/problem+json' : 'application/json');
      res.end(JSON.stringify(body));
    };
    const x: Exchange = {
      req,
      path: url.pathname,
      query: url.searchParams,
      oin,
      send,
      fail: (name, detail) => {
        const p: Problem = problem(name, detail, url.pathname);
        send(p.status, p);
      },
    };

    try {
      // TLS has already checked the chain; this only catches a socket that somehow got through without one.
      if (!(req.socket as TLSSocket).authorized) return x.fail('noCertificate', 'Een geldig PKIoverheid-clientcertificaat is verplicht.');
      const failure = feed.takeFailure();
      if (failure) {
        const p = failureProblem(failure.status, failure.retryAfter);
        // The body of a request we refuse is still drained, so keep-alive connections stay in step.
        req.resume();
        return send(p.status, { ...p, instance: url.pathname }, failure.retryAfter !== undefined ? { 'Retry-After': failure.retryAfter } : {});
      }
      await route(x);
      if (!answered) x.fail('internal', 'Het verzoek kreeg geen antwoord.');
    } catch (error) {
      log('simulator.error', { path: url.pathname, error: error instanceof Error ? error.message : String(error) });
      x.fail('internal', 'Er ging iets mis bij het verwerken van het verzoek.');
    } finally {
      if (!req.complete) req.resume();
    }
  }

  const server = createServer(
    {
      cert: options.cert,
      key: options.key,
      ca: options.clientCa,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => void handle(req, res),
  );
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => {
    log('simulator.tls-refused', { reason: error.code ?? error.message });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `https://${hostForUrl(host)}:${port}${basePath}`,
    port,
    feed,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections from clients would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
