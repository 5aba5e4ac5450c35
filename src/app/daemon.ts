/**
 * `run`: a cycle at start, then on the cron schedule in the configured time
 * zone. Never two cycles at once: a tick that finds a cycle still running is
 * skipped, not queued. The certificate is looked at on start and daily at
 * 07:00. SIGTERM/SIGINT stop the schedule, let the running cycle
 * finish its page and its mail, and close the database.
 *
 * Every HEARTBEAT_SECONDS it writes its heartbeat beside the database (what
 * `healthcheck --liveness` reads), from a timer of its own, so a cycle waiting
 * on ROD does not stop it but a process that hangs does. With metrics.listen
 * it serves /metrics, /healthz and /readyz while it runs.
 */
import { Cron } from 'croner';
import { certificateOin, type Config, type Gemeente } from '../config/schema.js';
import { runCycle } from './cycle.js';
import { relayVersion } from './version.js';
import type { Logger } from '../observability/log.js';
import { openRelay } from './runtime.js';
import { createCertificateWatch } from './certificate-watch.js';
import { ExitCode } from './exit-codes.js';
import { HEARTBEAT_SECONDS, liveness, readiness, writeHeartbeat } from './health.js';
import { startMetricsServer, timedRod, type MetricsServer } from './metrics-server.js';
import { RelayMetrics } from '../observability/metrics.js';
import { inspectClientCertificate } from '../certs/inspect.js';

export async function runDaemon(config: Config, log: Logger, options: { signals?: boolean } = {}): Promise<number> {
  // Stopping aborts a ROD request or Retry-After wait in progress and ends
  // delivery after the mail in hand, so a container's stop timeout is met.
  const stop = new AbortController();
  if (options.signals !== false) {
    // A fault nobody caught ends the process (the container restarts it), but
    // with one JSON line saying why, not a bare stack trace on stderr.
    const crash = (err: unknown) => {
      log.error('relay.crashed', { error: err instanceof Error ? err.message : String(err) });
      log.flush();
      process.exit(ExitCode.SOFTWARE);
    };
    process.once('uncaughtException', crash);
    process.once('unhandledRejection', crash);
  }
  // The stop handlers go in before anything slow (the certificate, the
  // database, the audit chain check): without a listener, a SIGTERM in that
  // window kills the process outright instead of stopping it cleanly. A stop
  // asked for during start-up is honoured once start-up is done, before the
  // first cycle.
  let lostLease = false;
  let stopping = false;
  let running: Promise<unknown> | undefined;
  let schedule: Cron | undefined;
  let daily: Cron | undefined;
  let stopped!: () => void;
  const stopRequested = new Promise<void>((resolve) => (stopped = resolve));
  const requestStop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('relay.stopping', { signal, cycleRunning: running !== undefined });
    schedule?.stop();
    daily?.stop();
    stop.abort();
    stopped();
  };
  if (options.signals !== false) {
    process.once('SIGTERM', () => requestStop('SIGTERM'));
    process.once('SIGINT', () => requestStop('SIGINT'));
  }
  log.info('relay.starting', { version: relayVersion(), pid: process.pid });
  const relay = openRelay(config, log, {
    signal: stop.signal,
    command: 'run',
    onLeaseLost: () => {
      lostLease = true;
      requestStop('lease.lost');
    },
  });
  const { store } = relay;
  let heartbeatFailing = false;
  const beat = () => {
    try {
      writeHeartbeat(config.storage.path, new Date());
      if (heartbeatFailing) log.info('heartbeat.restored', {});
      heartbeatFailing = false;
    } catch (err) {
      // Said once, not every beat; `healthcheck --liveness` reports the stale heartbeat.
      if (!heartbeatFailing) log.error('heartbeat.failed', { error: (err as Error).message }, 'the heartbeat file beside the database cannot be written; check the storage volume');
      heartbeatFailing = true;
    }
  };
  beat();
  const heartbeat = setInterval(beat, HEARTBEAT_SECONDS * 1000);
  heartbeat.unref();

  let metrics: RelayMetrics | undefined;
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.listen) {
    let certificate: { at: number; daysLeft: number | null } | undefined;
    metrics = new RelayMetrics(
      () => {
        // The certificate files are read at most every five minutes, not on every scrape.
        if (!certificate || Date.now() - certificate.at > 300_000) {
          certificate = { at: Date.now(), daysLeft: inspectClientCertificate(relay.rollover.inUseTls, certificateOin(config)).daysLeft ?? null };
        }
        const last = store.cycles.lastSuccessful()?.finished_at;
        return {
          outboxByState: store.outbox.countByState(),
          quarantineOpen: store.quarantine.countOpen(),
          certificateDaysLeft: certificate.daysLeft,
          lastSuccessfulCycle: last ? new Date(last) : null,
        };
      },
      { gemeenten: config.gemeenten.map((g) => ({ code: g.municipality.code, instances: Object.keys(g.routing.instances) })) },
    );
    try {
      metricsServer = await startMetricsServer({
        listen: config.metrics.listen,
        metrics,
        liveness: () => liveness(config.storage.path, new Date()),
        readiness: () => readiness(config, store.cycles.lastSuccessful()?.finished_at, new Date()),
        log,
      });
    } catch (err) {
      clearInterval(heartbeat);
      await relay.close();
      const { host, port } = config.metrics.listen;
      throw new Error(`metrics.listen: cannot listen on ${host}:${port} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); choose another port or remove metrics.listen`);
    }
  }
  // Timed per gemeente's transport, once each, so a cycle's requests are all counted.
  const timed = new Map(config.gemeenten.map((g) => [g.municipality.code, metrics ? timedRod(relay.rodFor(g), metrics, g.municipality.code) : relay.rodFor(g)]));
  const rod = (g: Gemeente) => timed.get(g.municipality.code)!;
  log.info('relay.started', { version: relayVersion(), gemeentecode: config.gemeenten[0]!.municipality.code, gemeenten: config.gemeenten.map((g) => g.municipality.code), cron: config.schedule.cron, timezone: config.schedule.timezone, pid: process.pid });
  store.audit.append({ event: 'relay.started', outcome: 'info', detail: { cron: config.schedule.cron, timezone: config.schedule.timezone } });

  const cycle = () => {
    if (stopping) return;
    if (running) {
      log.warn('cycle.skipped', {}, 'the previous cycle is still running');
      return;
    }
    if (!relay.lease.heartbeat()) return; // taken over: the heartbeat timer stops the daemon
    running = runCycle({ config, store, rod, sender: relay.sender, log, signal: stop.signal, metrics })
      .catch((err: Error) => log.error('cycle.crashed', { error: err.message }))
      .finally(() => {
        running = undefined;
      });
  };

  const certCheck = createCertificateWatch(config, store, log, undefined, relay.rollover);
  await certCheck().catch((err: Error) => log.error('cert.check-failed', { error: err.message }));
  if (!stopping) {
    schedule = new Cron(config.schedule.cron, { timezone: config.schedule.timezone }, cycle);
    daily = new Cron('0 7 * * *', { timezone: config.schedule.timezone }, () => {
      certCheck().catch((err: Error) => log.error('cert.check-failed', { error: err.message }));
    });
    cycle();
  }

  await stopRequested;
  await running;
  clearInterval(heartbeat);
  await metricsServer?.close();
  store.audit.append({ event: 'relay.stopped', outcome: 'info' });
  await relay.close();
  log.info('relay.stopped', {});
  return lostLease ? ExitCode.TEMPFAIL : ExitCode.OK;
}
