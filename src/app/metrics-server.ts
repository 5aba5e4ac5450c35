/**
 * The optional HTTP listener of `run` (metrics.listen): /metrics for
 * Prometheus, /healthz and /readyz for Kubernetes with the meaning of
 * `healthcheck --liveness` and `healthcheck --readiness`. Plain HTTP on
 * loopback by default; it serves numbers and ids, never personal data, and
 * accepts nothing but GET (and HEAD) of these three paths.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/log.js';
import type { RelayCounters, RelayMetrics } from '../observability/metrics.js';
import type { RodTransport } from '../feed/transport.js';
import type { HealthReport } from './health.js';

export interface MetricsServer {
  address: AddressInfo;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  listen: { host: string; port: number };
  metrics: RelayMetrics;
  liveness(): HealthReport;
  readiness(): HealthReport;
  log: Logger;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, log } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const health = (report: HealthReport) => {
      res.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(`${JSON.stringify(report)}\n`);
    };
    try {
      if (path === '/metrics') {
        metrics.render().then(
          (text) => res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text),
          (err: Error) => {
            log.error('metrics.failed', { error: err.message });
            res.writeHead(500).end();
          },
        );
      } else if (path === '/healthz') health(options.liveness());
      else if (path === '/readyz') health(options.readiness());
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /metrics, /healthz, /readyz\n');
    } catch (err) {
      log.error('metrics.failed', { path, error: (err as Error).message });
      res.writeHead(500).end();
    }
  });
  // Probes and scrapes are short; an idle or slow client does not hold a socket for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log.info('metrics.listening', { address: address.address, port: address.port });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The transport with each request timed into the ROD duration histogram. */
export function timedRod<T extends Pick<RodTransport, 'fetchPage' | 'setStatus'>>(rod: T, metrics: RelayCounters, gemeentecode?: string): Pick<RodTransport, 'fetchPage' | 'setStatus'> {
  const timed = async <R>(operation: string, call: () => Promise<R>): Promise<R> => {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await call();
      metrics.rodRequest(operation, 'ok', seconds(), gemeentecode);
      return result;
    } catch (err) {
      metrics.rodRequest(operation, 'failed', seconds(), gemeentecode);
      throw err;
    }
  };
  return {
    fetchPage: (vanaf, limit, options) => timed('fetchPage', () => rod.fetchPage(vanaf, limit, options)),
    setStatus: (meldingsnummer, status) => timed('setStatus', () => rod.setStatus(meldingsnummer, status)),
  };
}
