/**
 * One cycle of the relay: read ROD's feed from the stored cursor to its end,
 * storing page by page, then deliver every mail that is due. Mail already
 * queued still goes out when ROD is down, and the other way round.
 */
import { setImmediate } from 'node:timers/promises';
import { servesSeveral, type Config, type Gemeente } from '../config/schema.js';
import { deliverDue, type DeliveryCounts } from '../delivery/deliver.js';
import { emptyIngestCounts, ingestPage, type IngestCounts } from '../feed/ingest.js';
import type { Logger } from '../observability/log.js';
import type { GemeenteReadOutcome, RelayCounters } from '../observability/metrics.js';
import { cleanOutsideText } from '../observability/outside-text.js';
import type { MailSender } from '../mail/smtp.js';
import { RodError, stopped } from '../feed/errors.js';
import { gemeenteFeedAlert, queueAlert } from '../mail/alert.js';
import type { FeedPage, PageHint, RodTransport } from '../feed/transport.js';
import { purgeExpired } from '../store/retention.js';
import type { Store } from '../store/store.js';

export type RodClient = Pick<RodTransport, 'fetchPage' | 'setStatus'>;

export interface CycleDeps {
  config: Config;
  store: Store;
  /** Each gemeente's ROD transport (runtime's rodFor); one transport serves a single-gemeente relay. */
  rod: RodClient | ((gemeente: Gemeente) => RodClient);
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
  /** Why a feed was not read to its end (each gemeente's reason, named); undefined when every one was. */
  error?: string;
  counts: IngestCounts & DeliveryCounts & { pages: number; fetched: number };
}

/** How reading one gemeente's feed ended. */
export interface GemeenteRead {
  outcome: GemeenteReadOutcome;
  pages: number;
  fetched: number;
  error?: string;
}

export async function runCycle(deps: CycleDeps): Promise<CycleResult> {
  const { config, store, log } = deps;
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
  const errors: string[] = [];
  const readToEnd: Gemeente[] = [];

  // The gemeenten in turn: one that ROD refuses or that fails is reported and
  // skipped, and the others go on; the cycle counts as failed (once exits 1)
  // if any feed was not read to its end.
  for (const gemeente of config.gemeenten) {
    const read = await fetchGemeente(deps, gemeente, cycleId, now, ingest);
    pages += read.pages;
    fetched += read.fetched;
    store.gemeenteReads.record({ cycle_id: cycleId, gemeentecode: gemeente.municipality.code, finished_at: now().toISOString(), outcome: read.outcome, pages: read.pages, fetched: read.fetched, error: read.error ?? null });
    deps.metrics?.gemeenteRead(gemeente.municipality.code, read.outcome, read.fetched);
    if (read.outcome === 'ok') readToEnd.push(gemeente);
    else if (read.error !== undefined) errors.push(servesSeveral(config) ? `gemeente ${gemeente.municipality.code}: ${read.error}` : read.error);
    if (read.outcome === 'interrupted') break;
  }
  const error = errors.length > 0 ? errors.join('; ') : undefined;

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
    onNieuwSent:
      config.rod.reportStatus === 'IN_BEHANDELING'
        ? (row) => row.meldingsnummer && row.gemeentecode && store.statusReports.request(row.gemeentecode, row.meldingsnummer, 'IN_BEHANDELING', now())
        : undefined,
  });
  if (config.rod.reportStatus === 'IN_BEHANDELING' && !deps.signal?.aborted) {
    for (const gemeente of readToEnd) await reportStatuses(deps, gemeente, cycleId, now);
  }

  const purged = purgeExpired(store.db, config.retention.days, now(), { quarantineDays: config.retention.quarantineDays });
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
  deps.metrics?.cycleFinished(outcome);
  return { cycleId, outcome, error, counts };
}

function rodOf(deps: CycleDeps, gemeente: Gemeente): RodClient {
  return typeof deps.rod === 'function' ? deps.rod(gemeente) : deps.rod;
}

/** ROD will not serve this gemeente to this certificate or this OIN in From: 401/403, EK0030, V403. */
export function isRefusal(err: unknown): boolean {
  if (!(err instanceof RodError) || err.kind !== 'refused') return false;
  const { status, code } = err.details;
  return status === 401 || status === 403 || code === 'V403' || /(^|\.)EK0030$/.test(code ?? '');
}

/**
 * One gemeente's feed from its stored cursor to its end, page by page, each
 * page stored with its mail and the new cursor in one transaction. A failure
 * ends this gemeente's turn only: it is logged naming the gemeente and ROD's
 * answer, audited, and (when the relay serves several) mailed to that
 * gemeente's alert address.
 */
export async function fetchGemeente(deps: CycleDeps, gemeente: Gemeente, cycleId: number, now: () => Date, ingest: IngestCounts): Promise<GemeenteRead> {
  const { config, store, log } = deps;
  const gemeentecode = gemeente.municipality.code;
  const rod = rodOf(deps, gemeente);
  const cursorStore = store.cursorOf(gemeentecode);
  let pages = 0;
  let fetched = 0;
  try {
    if (deps.signal?.aborted) throw stopped();
    let cursor = cursorStore.get();
    const forwardMail = cursor.backlogDone || config.sync.backlog === 'forward';
    if (!forwardMail) log.info('sync.backlog', { cycleId, gemeentecode, mode: 'store-only', cursor: cursor.volgnummer });
    // The next page is asked for while this one is verified and stored, so
    // ROD's work and ours overlap; one request in flight at a time, as before.
    // It is asked for as soon as this page's answer arrives (the transport's
    // onAnswer, before verification), or else once this page is in hand. It
    // asks from where storing this page should move the cursor; when the
    // cursor ends up elsewhere (or the answer did not verify) the early answer
    // is dropped and the page asked for again. The cursor itself still moves
    // only with a committed page.
    interface Request {
      vanaf: number;
      page: Promise<FeedPage>;
      hint?: PageHint;
    }
    let current: Request | undefined;
    let ahead: Request | undefined;
    const lookAhead = (from: Request, hint: PageHint) => {
      const next = Math.max(from.vanaf, hint.volgnummerTot);
      if (ahead || !hint.meer || next <= from.vanaf || deps.signal?.aborted) return;
      ahead = request(next);
    };
    const request = (vanaf: number): Request => {
      const req: Request = { vanaf, page: Promise.resolve(undefined as never) };
      req.page = rod.fetchPage(vanaf, config.rod.pageSize, {
        onAnswer: (hint) => {
          req.hint = hint;
          // Only the page being worked on looks ahead: never more than one request in flight.
          if (req === current) lookAhead(req, hint);
        },
      });
      // Its failure is reported when (and if) it is awaited, not as an unhandled rejection.
      req.page.catch(() => {});
      return req;
    };
    for (;;) {
      const vanaf = cursor.volgnummer;
      current = ahead?.vanaf === vanaf ? ahead : request(vanaf);
      ahead = undefined;
      if (current.hint) lookAhead(current, current.hint);
      const page = await current.page;
      const asked = ahead;
      lookAhead(current, page);
      // Storing the page is synchronous: a request started only now would
      // leave after the page is stored, and ROD would start on it only then.
      if (ahead !== asked) await setImmediate();
      pages++;
      fetched += page.items.length;
      // A page with nothing in it that leaves the cursor where it was changes
      // nothing: no commit (in an idle cycle, one fsync and one audit head
      // write fewer). The cycle's own audit rows count its pages.
      const unchanged = page.items.length === 0 && page.volgnummerTot <= vanaf;
      const counts = unchanged ? emptyIngestCounts() : ingestPage({ store, config, gemeente, log, now, cycleId, forwardMail }, page, vanaf);
      for (const key of Object.keys(ingest) as (keyof IngestCounts)[]) ingest[key] += counts[key];
      log.info('page.stored', { cycleId, gemeentecode, vanaf, volgnummerTot: page.volgnummerTot, items: page.items.length, meer: page.meer, requestId: page.requestId, ...counts });
      cursor = cursorStore.get();
      if (!page.meer) {
        if (!cursor.backlogDone) cursorStore.markBacklogDone(now());
        return { outcome: 'ok', pages, fetched };
      }
      if (cursor.volgnummer <= vanaf) {
        // ROD says there is more but did not move past vanaf: asking again would loop forever.
        throw new RodError('invalid-response', `ROD answered meer: true without moving past volgnummer ${vanaf}; request ${page.requestId}`);
      }
    }
  } catch (err) {
    // Only errors are reported and skipped; something else thrown is a fault in the relay itself.
    if (!(err instanceof Error)) throw err;
    // A RodError's message quotes ROD only through cleanOutsideText; anything else may carry
    // text from the wire (a parser's excerpt), so it is cleaned before the log and the audit log.
    const error = err instanceof RodError ? err.message : `unexpected: ${cleanOutsideText(err.message, { max: 300 })}`;
    if (err instanceof RodError && err.kind === 'stopped') {
      log.info('cycle.interrupted', { cycleId, gemeentecode, pages }, error);
      store.audit.append({ event: 'cycle.interrupted', outcome: 'info', cycleId, gemeentecode, detail: { pages } });
      return { outcome: 'interrupted', pages, fetched, error };
    }
    const refused = isRefusal(err);
    const code = err instanceof RodError ? err.details.code ?? err.details.status : undefined;
    log.error('cycle.fetch-failed', { cycleId, gemeentecode, kind: err instanceof RodError ? err.kind : 'internal', refused, code, error });
    store.transaction(() => {
      store.audit.append({ event: 'cycle.fetch-failed', outcome: 'failed', cycleId, gemeentecode, detail: { error, refused, code } });
      // A single-gemeente relay's whole cycle failed, which the administrator sees already; a bureau's
      // gemeente can fail while the others go on, so it is mailed to whoever looks after that gemeente.
      if (servesSeveral(config)) queueAlert({ store, config, now }, gemeenteFeedAlert(gemeentecode, refused ? 'refused' : 'failed', error, now()), gemeente);
    });
    return { outcome: refused ? 'refused' : 'failed', pages, fetched, error };
  }
}

/** Tells ROD the melding is being handled once its Nieuw mail left, with the gemeente's own OIN. A 409 is recorded, not retried. */
async function reportStatuses(deps: CycleDeps, gemeente: Gemeente, cycleId: number, now: () => Date): Promise<void> {
  const { store, log } = deps;
  const gemeentecode = gemeente.municipality.code;
  const rod = rodOf(deps, gemeente);
  for (const report of store.statusReports.pending(gemeentecode)) {
    const ids = { meldingsnummer: report.meldingsnummer, cycleId, gemeentecode };
    try {
      const answer = await rod.setStatus(report.meldingsnummer, 'IN_BEHANDELING');
      store.transaction(() => {
        store.statusReports.settle(gemeentecode, report.meldingsnummer, answer === 'ok' ? 'done' : 'conflict', now());
        store.audit.append({ event: 'rod.status-reported', outcome: answer === 'ok' ? 'ok' : 'ignored', ...ids, detail: { status: report.status, answer } });
      });
      if (answer === 'ok') log.info('rod.status-reported', { gemeentecode, meldingsnummer: report.meldingsnummer, status: report.status });
      else log.warn('rod.status-conflict', { gemeentecode, meldingsnummer: report.meldingsnummer, status: report.status });
    } catch (err) {
      const message = (err as Error).message;
      store.statusReports.failed(gemeentecode, report.meldingsnummer, message, now());
      log.warn('rod.status-failed', { gemeentecode, meldingsnummer: report.meldingsnummer, error: message });
      break;
    }
  }
}
