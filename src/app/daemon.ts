/**
 * `run`: a cycle at start, then on the cron schedule in the configured time
 * zone. Never two cycles at once: a tick that finds a cycle still running is
 * skipped, not queued. The certificate is looked at on start and daily at
 * 07:00. SIGTERM/SIGINT stop the schedule, let the running cycle
 * finish its page and its mail, and close the database.
 */
import { Cron } from 'croner';
import type { Config } from '../config/schema.js';
import { runCycle } from './cycle.js';
import type { Logger } from '../observability/log.js';
import { openRelay } from './runtime.js';
import { createCertificateWatch } from './certificate-watch.js';
import { ExitCode } from './exit-codes.js';

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
  let lostLease = false;
  let requestStop: (reason: string) => void = () => {};
  const relay = openRelay(config, log, {
    signal: stop.signal,
    command: 'run',
    onLeaseLost: () => {
      lostLease = true;
      requestStop('lease.lost');
    },
  });
  const { store } = relay;
  log.info('relay.started', { gemeentecode: config.municipality.code, cron: config.schedule.cron, timezone: config.schedule.timezone, pid: process.pid });
  store.audit.append({ event: 'relay.started', outcome: 'info', detail: { cron: config.schedule.cron, timezone: config.schedule.timezone } });

  let running: Promise<unknown> | undefined;
  let stopping = false;

  const cycle = () => {
    if (stopping) return;
    if (running) {
      log.warn('cycle.skipped', {}, 'the previous cycle is still running');
      return;
    }
    if (!relay.lease.heartbeat()) return; // taken over: the heartbeat timer stops the daemon
    running = runCycle({ config, store, rod: relay.rod, sender: relay.sender, log, signal: stop.signal })
      .catch((err: Error) => log.error('cycle.crashed', { error: err.message }))
      .finally(() => {
        running = undefined;
      });
  };

  const certCheck = createCertificateWatch(config, store, log);
  await certCheck().catch((err: Error) => log.error('cert.check-failed', { error: err.message }));
  const schedule = new Cron(config.schedule.cron, { timezone: config.schedule.timezone }, cycle);
  const daily = new Cron('0 7 * * *', { timezone: config.schedule.timezone }, () => {
    certCheck().catch((err: Error) => log.error('cert.check-failed', { error: err.message }));
  });
  cycle();

  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('relay.stopping', { signal, cycleRunning: running !== undefined });
      schedule.stop();
      daily.stop();
      stop.abort();
      resolve();
    };
    requestStop = onSignal;
    if (options.signals !== false) {
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
    }
  });
  await running;
  store.audit.append({ event: 'relay.stopped', outcome: 'info' });
  await relay.close();
  log.info('relay.stopped', {});
  return lostLease ? ExitCode.TEMPFAIL : ExitCode.OK;
}
