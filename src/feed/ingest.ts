/**
 * Storing one page of the feed: validate each item, judge it with the
 * notification policy, queue the mail it causes, and move the cursor — all in
 * one transaction. The cursor moves only together with what it moves past, so
 * a crash at any moment means the page is fetched again, never skipped.
 */
import { SqliteError } from 'better-sqlite3';
import { servesSeveral, type Config, type Gemeente } from '../config/schema.js';
import type { LogFields, Logger } from '../observability/log.js';
import type { Verzuimmelding } from '../domain/melding.js';
import { quarantineAlert, queueAlert } from '../mail/alert.js';
import { domainOf } from '../domain/mail.js';
import { messageId } from '../mail/message-id.js';
import { decide } from '../policy/notification-policy.js';
import { readStoredMutation, storedCopyFor, validateItem } from './contract.js';
import type { Store } from '../store/store.js';
import type { FeedItem, FeedPage } from './transport.js';

export interface IngestContext {
  store: Store;
  config: Config;
  /** The gemeente whose feed the page came from: its cursor, routing and mail. */
  gemeente: Gemeente;
  log: Logger;
  now: () => Date;
  cycleId: number | null;
  /** False while the first run stores its backlog with sync.backlog: store-only. */
  forwardMail: boolean;
  /** Set by `quarantine retry`: the record being reprocessed, which a new failure updates. */
  retryOf?: number;
}

export interface IngestCounts {
  processed: number;
  stale: number;
  quarantined: number;
  queued: number;
}

export function emptyIngestCounts(): IngestCounts {
  return { processed: 0, stale: 0, quarantined: 0, queued: 0 };
}

/** Stores a page and moves the cursor to `volgnummerTot`, atomically. */
export function ingestPage(
  ctx: IngestContext,
  page: Pick<FeedPage, 'items' | 'volgnummerTot'> & { requestId?: string },
  vanaf: number,
): IngestCounts {
  const { store } = ctx;
  const gemeentecode = ctx.gemeente.municipality.code;
  // What the page's transaction did is logged once it committed (mail.queued,
  // mutation.quarantined, …): a page that rolls back must not be logged as queued.
  const held = holdLog(ctx.log);
  const inPage = { ...ctx, log: held.log };
  const counts = store.transaction(() => store.audit.chained(() => {
    const counts = emptyIngestCounts();
    for (const item of page.items) ingestItem(inPage, item, counts);
    const now = ctx.now();
    const cursor = Math.max(vanaf, page.volgnummerTot);
    store.cursorOf(gemeentecode).set(cursor, now);
    store.audit.append({
      event: 'page.fetched',
      outcome: 'ok',
      cycleId: ctx.cycleId,
      gemeentecode,
      detail: { vanaf, volgnummerTot: page.volgnummerTot, cursor, items: page.items.length, requestId: page.requestId, ...counts },
    });
    return counts;
  }));
  held.release();
  return counts;
}

type LogLevelName = 'error' | 'warn' | 'info' | 'debug';
type HeldLine = [Logger, LogLevelName, string, LogFields | undefined, string | undefined];

/** A logger whose lines wait for release(); lines not released (the transaction threw) are never written. */
function holdLog(log: Logger): { log: Logger; release(): void } {
  const lines: HeldLine[] = [];
  const holding = (target: Logger): Logger => {
    const at = (level: LogLevelName) => (event: string, fields?: LogFields, message?: string) => void lines.push([target, level, event, fields, message]);
    return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: (fields) => holding(target.child(fields)), flush: () => {} };
  };
  return {
    log: holding(log),
    release: () => {
      const write = () => {
        for (const [target, level, event, fields, message] of lines) target[level](event, fields, message);
      };
      // In one write where the logger can: a page's lines are ready at once.
      if (log.together) log.together(write);
      else write();
      lines.length = 0;
    },
  };
}

/** Processes one feed item (also used to reprocess quarantined records). Must run inside a transaction. */
export function ingestItem(ctx: IngestContext, item: FeedItem, counts: IngestCounts): 'processed' | 'stale' | 'quarantined' {
  const checked = validateItem(item.value);
  if (!checked.ok) {
    quarantine(ctx, item, checked.reason);
    counts.quarantined++;
    return 'quarantined';
  }
  const melding = checked.melding;
  if (melding.gemeentecode !== ctx.gemeente.municipality.code) {
    quarantine(ctx, item, `gemeentecode ${melding.gemeentecode} is not that of the feed it came in (${ctx.gemeente.municipality.code})`);
    counts.quarantined++;
    return 'quarantined';
  }
  try {
    return processMelding(ctx, melding, item, counts);
  } catch (err) {
    // A database failure must abort the page (nothing stored, cursor unmoved);
    // anything else is a record this version cannot handle: keep it, go on.
    if (err instanceof SqliteError) throw err;
    quarantine(ctx, item, `could not be processed: ${(err as Error).message.split('\n')[0]}`);
    counts.quarantined++;
    return 'quarantined';
  }
}

function processMelding(ctx: IngestContext, m: Verzuimmelding, received: FeedItem, counts: IngestCounts): 'processed' | 'stale' {
  const { store, config, log, gemeente } = ctx;
  const gemeentecode = gemeente.municipality.code;
  const now = ctx.now();
  const ids = { meldingsnummer: m.meldingsnummer, volgnummer: m.volgnummer, cycleId: ctx.cycleId, gemeentecode };
  const previous = store.meldingen.get(gemeentecode, m.meldingsnummer);
  const previousMelding = previous?.payload ? readStoredMutation(previous.payload, previous.copy) : undefined;
  // A melding purged by retention has no content left to compare with: a
  // newer mutation is judged as if first seen (and an older one is still stale).
  const decision =
    previous && !previousMelding && m.volgnummer <= previous.volgnummer
      ? ({ outcome: 'stale' } as const)
      : decide(previousMelding ? { melding: previousMelding, knownBy: previous!.knownBy } : undefined, m, gemeente.routing);

  // Read once: a REST item's text is written when it is read (rest/client.ts jsonItem).
  const raw = received.raw;
  if (decision.outcome === 'stale') {
    store.meldingen.recordMutation(gemeentecode, m, raw, 'stale', 1, now);
    store.audit.append({ event: 'mutation.stale', outcome: 'ignored', ...ids, detail: { lastVolgnummer: previous?.volgnummer } });
    log.debug('mutation.stale', { gemeentecode, meldingsnummer: m.meldingsnummer, volgnummer: m.volgnummer, lastVolgnummer: previous?.volgnummer });
    counts.stale++;
    return 'stale';
  }

  const mutationId = store.meldingen.recordMutation(gemeentecode, m, raw, 'processed', decision.row, now, storedCopyFor(raw, m));
  const knownBy = new Set(previous?.knownBy ?? []);
  const domain = mailDomain(config.smtp.from);
  for (const planned of decision.mails) {
    if (!ctx.forwardMail) {
      store.audit.append({ event: 'mail.suppressed', outcome: 'ignored', ...ids, instance: planned.instance, kind: planned.kind, detail: { reason: 'sync.backlog: store-only' } });
      continue;
    }
    const instance = gemeente.routing.instances[planned.instance];
    if (!instance) throw new Error(`routing has no instance "${planned.instance}"`);
    const id = messageId({ ...(servesSeveral(config) ? { gemeentecode } : {}), meldingsnummer: m.meldingsnummer, volgnummer: m.volgnummer, instance: planned.instance, kind: planned.kind }, domain);
    const outboxId = store.outbox.enqueue({
      messageId: id,
      kind: planned.kind,
      meldingsnummer: m.meldingsnummer,
      volgnummer: m.volgnummer,
      mutationId,
      instance: planned.instance,
      recipient: instance.email,
      changes: planned.changes,
      createdAt: now,
      gemeentecode,
    });
    knownBy.add(planned.instance);
    if (outboxId !== null) {
      counts.queued++;
      store.audit.append({ event: 'mail.queued', outcome: 'ok', ...ids, instance: planned.instance, kind: planned.kind, outboxId });
      log.info('mail.queued', { gemeentecode, meldingsnummer: m.meldingsnummer, volgnummer: m.volgnummer, instance: planned.instance, kind: planned.kind, outboxId });
    }
  }
  store.meldingen.save(gemeentecode, m, mutationId, [...knownBy], now);
  store.audit.append({
    event: 'mutation.stored',
    outcome: 'ok',
    ...ids,
    detail: { row: decision.row, status: m.status, verzuimsoort: m.verzuimsoort, mails: decision.mails.length },
  });
  for (const warning of decision.warnings) {
    log.warn('mutation.warning', { gemeentecode, meldingsnummer: m.meldingsnummer, volgnummer: m.volgnummer, warning });
    store.audit.append({ event: 'mutation.warning', outcome: 'warning', ...ids, detail: { warning } });
  }
  counts.processed++;
  return 'processed';
}

/** domainOf(smtp.from), worked out once rather than for every mutation (it punycodes the domain). */
let lastFrom: { from: string; domain: string } | undefined;
function mailDomain(from: string): string {
  if (lastFrom?.from !== from) lastFrom = { from, domain: domainOf(from) };
  return lastFrom.domain;
}

function quarantine(ctx: IngestContext, item: FeedItem, reason: string): void {
  const { store, log } = ctx;
  const now = ctx.now();
  if (ctx.retryOf !== undefined) {
    retryFailed(ctx, ctx.retryOf, reason);
    return;
  }
  const gemeentecode = ctx.gemeente.municipality.code;
  const record = store.quarantine.add(gemeentecode, item, reason, now);
  const ids = { meldingsnummer: record.meldingsnummer, volgnummer: record.volgnummer, gemeentecode };
  store.audit.append({ event: 'mutation.quarantined', outcome: 'failed', ...ids, cycleId: ctx.cycleId, detail: { quarantineId: record.id, reason } });
  log.error('mutation.quarantined', { ...ids, quarantineId: record.id, reason });
  queueAlert(ctx, quarantineAlert(record, reason, now), ctx.gemeente);
}

/**
 * A quarantined record that a retry could not process either. It is the same item, so it
 * stays one record (attempts, last reason) and the administrator, alerted once when it
 * arrived, gets no new alert for every retry.
 */
export function retryFailed(ctx: Pick<IngestContext, 'store' | 'log' | 'now' | 'cycleId'>, quarantineId: number, reason: string): void {
  const record = ctx.store.quarantine.retryFailed(quarantineId, reason, ctx.now());
  const ids = { meldingsnummer: record.meldingsnummer, volgnummer: record.volgnummer, gemeentecode: record.feed_gemeentecode };
  ctx.store.audit.append({ event: 'quarantine.retry-failed', outcome: 'failed', ...ids, cycleId: ctx.cycleId, detail: { quarantineId, attempts: record.attempts, reason } });
  ctx.log.warn('quarantine.retry-failed', { ...ids, quarantineId, attempts: record.attempts, reason });
}
