/**
 * One cycle of the relay: read ROD's feed from the stored cursor to its end,
 * storing page by page, then deliver every mail that is due. Mail already
 * queued still goes out when ROD is down, and the other way round.
 */
import type { Config } from '../config/schema.js';
import { deliverDue, type DeliveryCounts } from '../delivery/deliver.js';
import { emptyIngestCounts, ingestPage, type IngestCounts } from '../feed/ingest.js';
import type { Logger } from '../observability/log.js';
import type { RelayCounters } from '../observability/metrics.js';
import { cleanOutsideText } from '../observability/outside-text.js';
import type { MailSender } from '../mail/smtp.js';
import { RodError } from '../feed/errors.js';
import type { FeedPage, RodTransport } from '../feed/transport.js';
import { purgeExpired } from '../store/retention.js';
import type { Store } from '../store/store.js';

export interface CycleDeps {
  config: Config;
  store: Store;
  rod: Pick<RodTransport, 'fetchPage' | 'setStatus'>;
  sender: MailSender;
  log: Logger;
  now?: () => Date;
  random?: () => number;
  /** Aborted when the relay stops (the same signal the ROD client was given). */
  signal?: AbortSignal;
  /** The daemon's metrics, when it serves them. */
  metrics?: RelayCounters;
}

export interface CycleResult {
  cycleId: number;
  outcome: 'ok' | 'failed';
  /** Why the feed was not read to its end; undefined when it was. */
  error?: string;
  counts: IngestCounts & DeliveryCounts & { pages: number; fetched: number };
}

export async function runCycle(deps: CycleDeps): Promise<CycleResult> {
  const { config, store, rod, log } = deps;
  const now = deps.now ?? (() => new Date());
  // The cycle's row and its audit row in one commit (one fsync, one head file write, not two).
  const cycleId = store.transaction(() => {
    const id = store.cycles.start(now());
    store.audit.append({ event: 'cycle.started', outcome: 'info', cycleId: id });
    return id;
  });
  log.info('cycle.started', { cycleId });

  const ingest = emptyIngestCounts();
  let pages = 0;
  let fetched = 0;
  let error: string | undefined;

  try {
    let cursor = store.cursor.get();
    const forwardMail = cursor.backlogDone || config.sync.backlog === 'forward';
    if (!forwardMail) log.info('sync.backlog', { cycleId, mode: 'store-only', cursor: cursor.volgnummer });
    // The next page is asked for while this one is stored, so ROD's work and
    // ours overlap: one request in flight at a time, as before. It asks from
    // where storing this page moves the cursor; when the cursor ends up
    // elsewhere the answer is dropped and the page asked for again. The cursor
    // itself still moves only with a committed page.
    let prefetch: { vanaf: number; page: Promise<FeedPage> } | undefined;
    try {
      for (;;) {
        const vanaf = cursor.volgnummer;
        const page = await (prefetch?.vanaf === vanaf ? prefetch.page : rod.fetchPage(vanaf, config.rod.pageSize));
        prefetch = undefined;
        const next = Math.max(vanaf, page.volgnummerTot);
        if (page.meer && next > vanaf && !deps.signal?.aborted) {
          prefetch = { vanaf: next, page: rod.fetchPage(next, config.rod.pageSize) };
          // Its failure is reported when (and if) it is awaited, not as an unhandled rejection.
          prefetch.page.catch(() => {});
        }
        pages++;
        fetched += page.items.length;
        const counts = ingestPage({ store, config, log, now, cycleId, forwardMail }, page, vanaf);
        for (const key of Object.keys(ingest) as (keyof IngestCounts)[]) ingest[key] += counts[key];
        log.info('page.stored', { cycleId, vanaf, volgnummerTot: page.volgnummerTot, items: page.items.length, meer: page.meer, requestId: page.requestId, ...counts });
        cursor = store.cursor.get();
        if (!page.meer) {
          if (!cursor.backlogDone) store.cursor.markBacklogDone(now());
          break;
        }
        if (cursor.volgnummer <= vanaf) {
          // ROD says there is more but did not move past vanaf: asking again would loop forever.
          throw new RodError('invalid-response', `ROD answered meer: true without moving past volgnummer ${vanaf}; request ${page.requestId}`);
        }
      }
    } finally {
      // A page asked for but not stored (an error, a stop): its answer is not waited for.
      prefetch = undefined;
    }
  } catch (err) {
    // A RodError's message quotes ROD only through cleanOutsideText; anything else may carry
    // text from the wire (a parser's excerpt), so it is cleaned before the log and the audit log.
    error = err instanceof RodError ? err.message : `unexpected: ${cleanOutsideText((err as Error).message, { max: 300 })}`;
    if (err instanceof RodError && err.kind === 'stopped') {
      log.info('cycle.interrupted', { cycleId, pages }, error);
      store.audit.append({ event: 'cycle.interrupted', outcome: 'info', cycleId, detail: { pages } });
    } else {
      log.error('cycle.fetch-failed', { cycleId, kind: err instanceof RodError ? err.kind : 'internal', error });
      store.audit.append({ event: 'cycle.fetch-failed', outcome: 'failed', cycleId, detail: { error } });
    }
    if (!(err instanceof RodError) && !(err instanceof Error)) throw err;
  }

  const delivered = await deliverDue({
    store,
    config,
    sender: deps.sender,
    log,
    now,
    random: deps.random,
    signal: deps.signal,
    metrics: deps.metrics,
    cycleId,
    onNieuwSent: config.rod.reportStatus === 'IN_BEHANDELING' ? (row) => row.meldingsnummer && store.statusReports.request(row.meldingsnummer, 'IN_BEHANDELING', now()) : undefined,
  });
  if (config.rod.reportStatus === 'IN_BEHANDELING' && error === undefined && !deps.signal?.aborted) await reportStatuses(deps, cycleId, now);

  const purged = purgeExpired(store.db, config.retention.days, now(), { quarantineDays: config.retention.quarantineDays, gemeentecode: config.municipality.code });
  if (purged.meldingen > 0 || purged.quarantine > 0) {
    store.audit.append({ event: 'retention.purged', outcome: 'ok', cycleId, detail: { ...purged, retentionDays: config.retention.days } });
    log.info('retention.purged', { cycleId, ...purged, retentionDays: config.retention.days });
  }

  const counts = { pages, fetched, ...ingest, ...delivered };
  const outcome = error === undefined ? 'ok' : 'failed';
  store.transaction(() => {
    store.cycles.finish(cycleId, now(), outcome, counts, error);
    store.audit.append({ event: 'cycle.finished', outcome: outcome === 'ok' ? 'ok' : 'failed', cycleId, detail: { ...counts, error } });
  });
  log.info('cycle.finished', { cycleId, outcome, ...counts });
  deps.metrics?.cycleFinished(outcome, fetched);
  return { cycleId, outcome, error, counts };
}

/** Tells ROD the melding is being handled once its Nieuw mail left. A 409 is recorded, not retried. */
async function reportStatuses(deps: CycleDeps, cycleId: number, now: () => Date): Promise<void> {
  const { store, rod, log } = deps;
  for (const report of store.statusReports.pending()) {
    const ids = { meldingsnummer: report.meldingsnummer, cycleId };
    try {
      const answer = await rod.setStatus(report.meldingsnummer, 'IN_BEHANDELING');
      store.transaction(() => {
        store.statusReports.settle(report.meldingsnummer, answer === 'ok' ? 'done' : 'conflict', now());
        store.audit.append({ event: 'rod.status-reported', outcome: answer === 'ok' ? 'ok' : 'ignored', ...ids, detail: { status: report.status, answer } });
      });
      if (answer === 'ok') log.info('rod.status-reported', { meldingsnummer: report.meldingsnummer, status: report.status });
      else log.warn('rod.status-conflict', { meldingsnummer: report.meldingsnummer, status: report.status });
    } catch (err) {
      const message = (err as Error).message;
      store.statusReports.failed(report.meldingsnummer, message, now());
      log.warn('rod.status-failed', { meldingsnummer: report.meldingsnummer, error: message });
      break;
    }
  }
}
