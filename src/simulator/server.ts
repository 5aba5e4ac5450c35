/**
 * The simulated ROD over HTTPS with mutual TLS, speaking the contract of the
 * ROD Verzuim API 1.2.0. TLS refuses a client without a certificate that
 * chains to the configured roots before any HTTP is exchanged, as DUO's
 * gateway does; the OIN in the certificate's subject serialNumber then
 * decides which gemeenten the caller may read. What is served is the route
 * table in routes.ts; this file does TLS, identity, routing and answering.
 * With protocol 'edukoppeling' the same server speaks SOAP as DUO's gateway
 * does instead (edukoppeling/: the strict request checker, the operations,
 * signed responses and the injections tests use).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { CertificateRegistry, UNREGISTERED_DETAIL, type CertificateRegistration, type GemeenteRegistry } from './access.js';
import { SimulatedFeed, type InjectedFailure, type SimulatedRequest } from './feed.js';
import { failureProblem, problem } from './problems.js';
import { readBody, singleHeader } from './request.js';
import { findRoute, problemReply, type Reply } from './router.js';
import { ROUTES } from './routes.js';
import { EdukoppelingControl, answerSoap, soapFailureReply, soapSite, type EdukoppelingOptions, type SoapReply, type SoapSite } from './edukoppeling/endpoint.js';

export const API_VERSION = '1.2.0';

export type { EdukoppelingControl, EdukoppelingOptions, Forgery, Injection, Refusal, ResponseSigner } from './edukoppeling/endpoint.js';
export { FAULTS, FORGERIES } from './edukoppeling/endpoint.js';

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
  /**
   * The client certificates DUO has registered (SHA-256 of the DER). When given, any other
   * certificate is refused as unregistered: 403 ROD-403-OIN over REST, Client.EK0030 over
   * Edukoppeling. Without it, every certificate that chains to clientCa is registered.
   */
  certificates?: CertificateRegistration;
  feed?: SimulatedFeed;
  /**
   * 'rest' (default): the REST stand-in under basePath. 'edukoppeling': SOAP 1.1 with WS-Addressing and a
   * WS-Security signature at edukoppeling.path (default /ROD/services/verzuim1.0), as DUO's gateway speaks it.
   */
  protocol?: 'rest' | 'edukoppeling';
  edukoppeling?: EdukoppelingOptions;
  /** Called once per request (and once per refused TLS handshake); fields hold no personal data. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface RunningSimulator {
  /** The base URL clients configure, e.g. https://localhost:8443/verzuim/v1. */
  url: string;
  port: number;
  feed: SimulatedFeed;
  /** With protocol 'edukoppeling': the injections (faultNext, refuseNext, forgeNext) and the checker's refusals. */
  edukoppeling: EdukoppelingControl | undefined;
  /** With `certificates`: register or drop a certificate while the simulator runs. */
  certificates: CertificateRegistry | undefined;
  close(): Promise<void>;
}

/** What every request is served with. */
interface Site {
  /** Without a trailing slash. */
  basePath: string;
  gemeenten: GemeenteRegistry | undefined;
  feed: SimulatedFeed;
  log: (event: string, fields: Record<string, unknown>) => void;
  /** Set when the simulator speaks Edukoppeling instead of REST. */
  soap: SoapSite | undefined;
  certificates: CertificateRegistry | undefined;
}

/** A request as it arrived: who sent it and where to. */
interface Arrival {
  req: IncomingMessage;
  url: URL;
  oin: string | undefined;
  requestId: string | undefined;
  started: bigint;
  /** SHA-256 of the client certificate's DER, as Node reports it (AB:CD:…). */
  fingerprint: string | undefined;
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

function arrive(req: IncomingMessage): Arrival {
  return {
    req,
    url: new URL(req.url ?? '/', 'https://rod.invalid'),
    oin: clientOin(req),
    requestId: singleHeader(req, 'x-request-id'),
    started: process.hrtime.bigint(),
    fingerprint: clientFingerprint(req),
  };
}

function clientFingerprint(req: IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  return socket.getPeerCertificate().fingerprint256 || undefined;
}

/** The registration check: undefined when the certificate may ask. */
function unregistered(site: Site, arrival: Arrival): boolean {
  return site.certificates !== undefined && !site.certificates.isRegistered(arrival.fingerprint);
}

function failureReply(failure: InjectedFailure, path: string): Reply {
  const p = failureProblem(failure.status, failure.retryAfter);
  return problemReply({ ...p, ...failure.problem, instance: path }, failure.retryAfter !== undefined ? { 'Retry-After': failure.retryAfter } : undefined);
}

/** The reply to a request: refusals that hold for every path first, then the route table. */
async function answer(site: Site, arrival: Arrival): Promise<Reply> {
  const { req, url } = arrival;
  const path = url.pathname;
  // TLS has already checked the chain; this only catches a socket that somehow got through without one.
  if (!(req.socket as TLSSocket).authorized) {
    return problemReply(problem('noCertificate', 'Een geldig PKIoverheid-clientcertificaat is verplicht.', path));
  }
  const failure = site.feed.takeFailure();
  if (failure) {
    // The body of a request we refuse is still drained, so keep-alive connections stay in step.
    req.resume();
    return failureReply(failure, path);
  }
  if (unregistered(site, arrival)) {
    req.resume();
    return problemReply(problem('oin', UNREGISTERED_DETAIL, path));
  }
  if (!path.startsWith(site.basePath + '/')) return problemReply(problem('path', `Onbekend pad. De API staat onder ${site.basePath}.`, path));
  const found = findRoute(ROUTES, req.method ?? 'GET', path.slice(site.basePath.length));
  if (found.kind === 'none') return problemReply(problem('path', 'Onbekend pad.', path));
  if (found.kind === 'wrong-method') {
    const allowed = found.allowed.join(', ');
    return problemReply(problem('method', `Gebruik ${allowed} op dit pad.`, path), { Allow: allowed });
  }
  return found.route.handle({
    path,
    params: found.params,
    query: url.searchParams,
    oin: arrival.oin,
    gemeenten: site.gemeenten,
    feed: site.feed,
    contentType: singleHeader(req, 'content-type'),
    readBody: () => readBody(req),
  });
}

function record(site: Site, arrival: Arrival, status: number, soap?: Pick<SoapReply, 'operation' | 'fault'>): void {
  const { req, url, requestId, oin } = arrival;
  const entry: SimulatedRequest = {
    method: req.method ?? '',
    path: url.pathname,
    ...(url.search ? { query: url.search.slice(1) } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    ...(oin !== undefined ? { oin } : {}),
    ...(soap?.operation !== undefined ? { operation: soap.operation } : {}),
    ...(soap?.fault !== undefined ? { fault: soap.fault } : {}),
    status,
  };
  site.feed.requests.push(entry);
  site.log('simulator.request', { ...entry, ms: Number((process.hrtime.bigint() - arrival.started) / 1000n) / 1000 });
}

function write(res: ServerResponse, requestId: string | undefined, reply: Reply): void {
  res.statusCode = reply.status;
  res.setHeader('API-Version', API_VERSION);
  res.setHeader('Cache-Control', 'no-store');
  if (requestId !== undefined) res.setHeader('X-Request-ID', requestId);
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.body === undefined) return void res.end();
  res.setHeader('Content-Type', reply.status >= 400 ? 'application/problem+json' : 'application/json');
  res.end(JSON.stringify(reply.body));
}

/** The reply to a SOAP request: the same TLS and failure injection as REST, then the Edukoppeling endpoint. */
async function answerEdukoppeling(site: Site, soap: SoapSite, arrival: Arrival): Promise<SoapReply> {
  const { req, url } = arrival;
  if (!(req.socket as TLSSocket).authorized) return { status: 401 };
  const failure = site.feed.takeFailure();
  if (failure) {
    req.resume();
    return soapFailureReply(failure.status, failure.retryAfter);
  }
  return answerSoap(soap, { req, path: url.pathname, oin: arrival.oin, feed: site.feed, gemeenten: site.gemeenten, log: site.log, registered: !unregistered(site, arrival) });
}

function writeSoap(res: ServerResponse, requestId: string | undefined, reply: SoapReply): void {
  res.statusCode = reply.status;
  res.setHeader('Cache-Control', 'no-store');
  if (requestId !== undefined) res.setHeader('X-Request-ID', requestId);
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.xml === undefined) return void res.end();
  res.setHeader('Content-Type', 'text/xml; charset=UTF-8');
  res.end(reply.xml);
}

async function serveSoap(site: Site, soap: SoapSite, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const arrival = arrive(req);
  let reply: SoapReply;
  try {
    reply = await answerEdukoppeling(site, soap, arrival);
  } catch (error) {
    site.log('simulator.error', { path: arrival.url.pathname, error: error instanceof Error ? error.message : String(error) });
    reply = soapFailureReply(500, undefined);
  }
  record(site, arrival, reply.status, reply);
  writeSoap(res, arrival.requestId, reply);
  if (!req.complete) req.resume();
}

async function serve(site: Site, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (site.soap) return serveSoap(site, site.soap, req, res);
  const arrival = arrive(req);
  let reply: Reply;
  try {
    reply = await answer(site, arrival);
  } catch (error) {
    site.log('simulator.error', { path: arrival.url.pathname, error: error instanceof Error ? error.message : String(error) });
    reply = problemReply(problem('internal', 'Er ging iets mis bij het verwerken van het verzoek.', arrival.url.pathname));
  }
  // Recorded before the answer leaves, so a test that has the answer also has the record.
  record(site, arrival, reply.status);
  write(res, arrival.requestId, reply);
  if (!req.complete) req.resume();
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => {});
  const site: Site = {
    basePath: (options.basePath ?? '/verzuim/v1').replace(/\/+$/, ''),
    gemeenten: options.gemeenten,
    feed: options.feed ?? new SimulatedFeed(),
    log,
    certificates: options.certificates ? new CertificateRegistry(options.certificates, log) : undefined,
    soap: options.protocol === 'edukoppeling' ? soapSite(options.edukoppeling ?? {}, { cert: options.cert, key: options.key }) : undefined,
  };
  const tls = { cert: options.cert, key: options.key, ca: options.clientCa, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' } as const;
  const server = createServer(tls, (req, res) => {
    serve(site, req, res).catch((error: unknown) => {
      // answer() has its own catch; what fails here is recording or writing (a throwing log callback, a
      // Retry-After a test set with a newline), and a dropped connection beats one left hanging.
      site.log('simulator.error', { path: req.url ?? '', error: error instanceof Error ? error.message : String(error) });
      res.destroy();
    });
  });
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => {
    site.log('simulator.tls-refused', { reason: error.code ?? error.message });
  });
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `https://${hostForUrl(host)}:${port}${site.soap ? site.soap.path : site.basePath}`,
    port,
    feed: site.feed,
    edukoppeling: site.soap?.control,
    certificates: site.certificates,
    close() {
      site.certificates?.close();
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections from clients would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
