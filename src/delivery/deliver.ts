/**
 * The outbox worker: takes every mail that is due, hands it to SMTP over
 * smtp.maxConnections connections at once, and records the outcomes durably.
 *
 * It works in batches, two transactions per batch instead of two per mail:
 *
 * 1. claim: the due mails are listed and marked `sending` in one
 *    transaction, committed (fsync'd) before any of them is handed to SMTP.
 *    A crash from then on leaves them `sending`; the next start resumes them
 *    and they go again with the same Message-ID (at least once, never lost).
 * 2. send: the batch is spread over the connections. Mails about one melding
 *    cannot overtake each other: a mail is only listed as due when every mail
 *    about an earlier volgnummer of its melding is sent or dead (Outbox.due),
 *    so one batch never holds two volgnummers of one melding, and the later
 *    one is listed only in a batch claimed after the earlier one's outcome
 *    was committed (while the earlier one is in flight it is `sending`, which
 *    keeps the later one waiting).
 * 3. record: every outcome of the batch (sent, deferred, dead, with their
 *    audit rows and alerts) in one transaction. A crash before that commit
 *    leaves the whole batch `sending`, which costs resends of mails already
 *    accepted (same Message-ID, as after a crash during one mail before) and
 *    never a loss: no mail leaves `sending` except through a committed
 *    outcome.
 *
 * The steps of neighbouring batches overlap: while batch n is on the wire,
 * batch n+1 is claimed and batch n-1's outcomes are recorded, so at most two
 * batches are `sending` at once (and resent after a crash).
 *
 * A cycle delivers until nothing is due any more (or a stop is asked): there
 * is no cap on the mails per cycle.
 */
import { setImmediate as ioTurn } from 'node:timers/promises';
import { gemeenteOf, type Config } from '../config/schema.js';
import type { Logger } from '../observability/log.js';
import type { RelayCounters } from '../observability/metrics.js';
import { composeMail } from '../mail/compose.js';
import type { MailSender, OutgoingMail } from '../mail/smtp.js';
import { SendError } from '../mail/smtp.js';
import type { MailKind } from '../domain/mail.js';
import type { FieldChange } from '../policy/notification-policy.js';
import type { OutboxRow } from '../store/outbox.js';
import type { Store } from '../store/store.js';
import { alertAddress, deadLetterAlert, queueAlert, tlsFailingAlert } from '../mail/alert.js';
import { readStoredMutation } from '../feed/contract.js';
import { retryDelaySeconds } from './backoff.js';

export interface DeliveryContext {
  store: Store;
  config: Config;
  sender: MailSender;
  log: Logger;
  now: () => Date;
  random?: () => number;
  cycleId: number | null;
  /** Aborted when the relay stops: the mails in hand are finished, the rest of the batch is released and waits for the next run. */
  signal?: AbortSignal;
  /** Called (inside the outcome transaction) after a Nieuw was accepted by SMTP (reporting back to ROD). */
  onNieuwSent?: (row: OutboxRow) => void;
  /** The daemon's metrics, when it serves them. */
  metrics?: Pick<RelayCounters, 'mail'>;
  /** Mails claimed per batch (default DELIVERY_BATCH); tests make it small to cross batch boundaries. */
  batchSize?: number;
}

export interface DeliveryCounts {
  sent: number;
  deferred: number;
  dead: number;
}

/**
 * Mails claimed per transaction. Large enough that the two commits (and the
 * audit head file) per batch cost little per mail, small enough that a crash
 * resends few mails and that a stop waits for little.
 */
export const DELIVERY_BATCH = 100;

/** A claimed mail with what SMTP said; `mail` is undefined when it could not be composed (then `failure` says why). */
interface Attempt {
  row: OutboxRow;
  mail?: OutgoingMail;
  response?: string;
  failure?: SendError;
  /** Could not be composed: a dead letter with this reason, no attempt counted. */
  unsendable?: string;
}

export async function deliverDue(ctx: DeliveryContext): Promise<DeliveryCounts> {
  const counts: DeliveryCounts = { sent: 0, deferred: 0, dead: 0 };
  const lanes = Math.max(1, ctx.config.smtp.maxConnections);
  const batchSize = Math.max(1, ctx.batchSize ?? DELIVERY_BATCH);
  // Passes over the outbox in id order (so each pass reads every row once,
  // not the sent ones again for each batch). Mails about one melding wait
  // for the earlier ones, so a pass that sends a Nieuw can make its
  // Gewijzigd due behind it, and a dead letter queues an alert: another pass
  // follows while the last one brought mails to a final state.
  // A pass covers the mails queued when it started; what a pass queues (an
  // alert) waits for the next one.
  // A pass starts at the first due mail, not at the start of the table: the
  // sent mails of earlier cycles are not read again.
  const passStart = () => (ctx.store.outbox.firstDueId(ctx.now()) ?? Number.MAX_SAFE_INTEGER) - 1;
  let after = passStart();
  let first = after;
  let upTo = ctx.store.outbox.lastId();
  let settledAtPassStart = 0;
  // One batch is on the wire while the next is claimed (composed, committed
  // `sending`) and the previous one's outcomes are recorded: that work is
  // synchronous, and it runs while the SMTP relay reads and answers the mails
  // in flight instead of leaving the connections idle. The order stays safe:
  // a mail is only listed when every earlier volgnummer of its melding is sent
  // or dead, and a mail in flight is `sending`, so a batch claimed beside it
  // never holds a later volgnummer of a melding in flight; that mail waits for
  // the next pass. At most two batches are `sending` at once: a crash resends
  // both (same Message-IDs), a stop gives back whatever was not offered yet.
  let inFlight: Promise<SentBatch> | undefined;
  try {
    for (;;) {
      if (ctx.signal?.aborted) break;
      const batch = await claimBatch(ctx, after, upTo, batchSize, counts);
      const previous = inFlight && (await inFlight);
      inFlight = undefined;
      if (batch.listed > 0) {
        after = batch.lastId;
        // Started before the previous outcomes are recorded, so that the record overlaps this batch's first mails.
        inFlight = sendBatch(ctx, batch.attempts, lanes);
      }
      if (previous) recordOutcomes(ctx, previous.done, previous.unsent, counts);
      if (batch.listed === 0) {
        const settled = counts.sent + counts.dead;
        if (after === first || settled === settledAtPassStart) break;
        after = first = passStart();
        upTo = ctx.store.outbox.lastId();
        settledAtPassStart = settled;
      }
    }
  } catch (err) {
    // A store that fails while a batch is on the wire: the batch finishes
    // before the error goes up (no mail is handed to SMTP after deliverDue
    // has returned), and its outcomes are recorded if the store still takes
    // them. If not, the batch stays `sending` and the next start resumes it.
    if (inFlight) {
      const last = await inFlight;
      try {
        recordOutcomes(ctx, last.done, last.unsent, counts);
      } catch {
        // The first error is the one that says what went wrong.
      }
    }
    throw err;
  }
  if (inFlight) {
    const last = await inFlight;
    recordOutcomes(ctx, last.done, last.unsent, counts);
  }
  return counts;
}

/**
 * Lists up to `limit` due mails with an id in (after, upTo] and, in one transaction,
 * claims them (→ sending, one more attempt) or buries the ones that cannot be
 * composed. Composing first keeps a mail that was never offered to SMTP from
 * counting an attempt.
 *
 * It runs while the previous batch is on the wire: after each mail it lets
 * the event loop take the SMTP answers that came in, so composing the next
 * batch does not hold the connections up for the whole batch.
 */
async function claimBatch(ctx: DeliveryContext, after: number, upTo: number, limit: number, counts: DeliveryCounts): Promise<{ listed: number; lastId: number; attempts: Attempt[] }> {
  const { store } = ctx;
  const due = store.outbox.due(ctx.now(), limit, after, upTo);
  if (due.length === 0) return { listed: 0, lastId: after, attempts: [] };
  const prepared: Attempt[] = [];
  for (const row of due) {
    try {
      prepared.push({ row, mail: render(ctx, row) });
    } catch (err) {
      prepared.push({ row, unsendable: err instanceof Unaddressable ? err.message : `cannot compose the mail: ${(err as Error).message.split('\n')[0]}` });
    }
    await ioTurn();
  }
  const claimed: Attempt[] = [];
  const buried: Attempt[] = [];
  store.transaction(() => {
    for (const attempt of prepared) {
      if (attempt.unsendable !== undefined) {
        // Like every dead letter: buried and alerted in one transaction.
        if (!store.outbox.bury(attempt.row, { error: attempt.unsendable, cycleId: ctx.cycleId })) continue;
        if (attempt.row.kind !== 'alert') queueAlert(ctx, deadLetterAlert(attempt.row, attempt.row.attempts, attempt.unsendable), gemeenteOf(ctx.config, attempt.row.gemeentecode));
        buried.push(attempt);
      } else if (store.outbox.claim(attempt.row)) {
        // Another writer may have taken the mail since it was listed: only what this transaction claimed is sent.
        claimed.push(attempt);
      }
    }
  });
  for (const { row, unsendable } of buried) {
    ctx.log.error('mail.dead', { ...logIds(row), error: unsendable });
    counts.dead++;
    ctx.metrics?.mail(row.instance, 'dead', row.gemeentecode);
  }
  return { listed: due.length, lastId: due[due.length - 1]!.id, attempts: claimed };
}

/** A batch handed to SMTP: the mails offered (each with its outcome) and the ones a stop kept back. */
interface SentBatch {
  done: Attempt[];
  unsent: Attempt[];
}

/** Sends the claimed mails over `lanes` connections; a stop lets the mails in hand finish and leaves the rest unsent. */
async function sendBatch(ctx: DeliveryContext, attempts: Attempt[], lanes: number): Promise<SentBatch> {
  const done: Attempt[] = [];
  let next = 0;
  const lane = async () => {
    while (next < attempts.length && !ctx.signal?.aborted) {
      const attempt = attempts[next++]!;
      await send(ctx, attempt);
      done.push(attempt);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, attempts.length) }, lane));
  return { done, unsent: attempts.slice(next) };
}

/** The one place a mail is handed to SMTP. Never throws: the outcome is kept on the attempt. */
async function send(ctx: DeliveryContext, attempt: Attempt): Promise<void> {
  try {
    attempt.response = (await ctx.sender.send(attempt.mail!)).response;
  } catch (err) {
    attempt.failure = err instanceof SendError ? err : new SendError((err as Error).message, false);
  }
}

/** A recorded outcome; `emit` writes its log line, after the commit. */
interface Logged {
  instance: string | null;
  gemeentecode: string | null;
  outcome: 'sent' | 'deferred' | 'dead';
  emit: () => void;
}

/**
 * Every outcome of a batch in one transaction, and the mails a stop left
 * unsent given back (→ pending, the attempt not counted). The log lines
 * follow the commit: the log never reports an outcome that was rolled back.
 */
function recordOutcomes(ctx: DeliveryContext, done: Attempt[], unsent: Attempt[], counts: DeliveryCounts): void {
  const { store } = ctx;
  const logged: Logged[] = [];
  store.transaction(() => {
    for (const attempt of done) {
      const entry = attempt.failure ? recordFailure(ctx, attempt, attempt.failure) : recordSent(ctx, attempt);
      if (entry) logged.push(entry);
    }
    for (const { row } of unsent) store.outbox.release(row);
  });
  for (const entry of logged) {
    entry.emit();
    counts[entry.outcome]++;
    ctx.metrics?.mail(entry.instance, entry.outcome, entry.gemeentecode);
  }
}

function logIds(row: OutboxRow) {
  return { gemeentecode: row.gemeentecode ?? undefined, meldingsnummer: row.meldingsnummer, volgnummer: row.volgnummer, instance: row.instance, kind: row.kind, outboxId: row.id };
}

function recordSent(ctx: DeliveryContext, { row, mail, response }: Attempt): Logged | undefined {
  if (!ctx.store.outbox.complete(row, { response: response ?? '', at: ctx.now(), cycleId: ctx.cycleId, recipient: mail!.to })) return undefined;
  if (row.kind === 'Nieuw') ctx.onNieuwSent?.(row);
  const fields = { ...logIds(row), attempt: row.attempts + 1, changedRecipient: mail!.to !== row.recipient || undefined };
  return { instance: row.instance, gemeentecode: row.gemeentecode, outcome: 'sent', emit: () => ctx.log.info('mail.sent', fields) };
}

function recordFailure(ctx: DeliveryContext, { row }: Attempt, failure: SendError): Logged | undefined {
  const { store } = ctx;
  const ids = logIds(row);
  const attempts = row.attempts + 1;
  const ageHours = (ctx.now().getTime() - Date.parse(row.created_at)) / 3_600_000;
  const tooOld = ageHours >= ctx.config.delivery.maxAgeHours;
  // A TLS failure is never the mail's fault and never a dead letter, also past
  // maxAgeHours: dead-lettering would let anyone who can strip STARTTLS between
  // us and the relay empty the queue. The mail keeps waiting (it is durable),
  // the log says so at error level on every attempt, and past maxAgeHours the
  // administrator gets one alert a day instead of a dead letter per mail.
  if (failure.permanent || (tooOld && !failure.tls)) {
    const reason = failure.permanent ? failure.message : `${failure.message} (still failing after ${ctx.config.delivery.maxAgeHours} h: delivery.maxAgeHours)`;
    // The dead letter and its alert in one transaction: the administrator hears of every mail given up, once.
    if (!store.outbox.bury(row, { error: reason, attempts, responseCode: failure.responseCode, cycleId: ctx.cycleId })) return undefined;
    if (row.kind !== 'alert') queueAlert(ctx, deadLetterAlert(row, attempts, reason), gemeenteOf(ctx.config, row.gemeentecode));
    return { instance: row.instance, gemeentecode: row.gemeentecode, outcome: 'dead', emit: () => ctx.log.error('mail.dead', { ...ids, attempts, error: reason, responseCode: failure.responseCode }) };
  }
  const delay = retryDelaySeconds(attempts, ctx.config.delivery, ctx.random);
  const next = new Date(ctx.now().getTime() + delay * 1000);
  if (!store.outbox.defer(row, { error: failure.message, nextAttempt: next, attempts, responseCode: failure.responseCode, cycleId: ctx.cycleId })) return undefined;
  if (failure.tls && tooOld && row.kind !== 'alert') {
    queueAlert(ctx, tlsFailingAlert(ctx.now().toISOString().slice(0, 10), failure.message, row.created_at, ctx.config.delivery.maxAgeHours));
  }
  const fields = { ...ids, attempts, error: failure.message, nextAttemptAt: next.toISOString() };
  if (failure.tls) return { instance: row.instance, gemeentecode: row.gemeentecode, outcome: 'deferred', emit: () => ctx.log.error('mail.tls-failed', { ...fields, pastMaxAge: tooOld }, failure.message) };
  return { instance: row.instance, gemeentecode: row.gemeentecode, outcome: 'deferred', emit: () => ctx.log.warn('mail.deferred', fields) };
}

/** A mail that has nobody to go to any more: a dead letter, with this message as its reason. */
class Unaddressable extends Error {}

/**
 * The mail as it leaves now. The address is the one configured now, not the
 * one stored when the mail was queued: a deferred or requeued mail must follow
 * an instance (or the alert address) that moved, and never go to an address
 * the municipality has taken out of its configuration.
 */
function render(ctx: DeliveryContext, row: OutboxRow): OutgoingMail {
  if (row.kind === 'alert') {
    const alert = JSON.parse(row.alert ?? 'null') as { subject: string; text: string; html: string; headers: Record<string, string> } | null;
    if (!alert) throw new Error('the alert has no content');
    const to = alertAddress(ctx.config, row.gemeentecode);
    if (!to) throw new Unaddressable(`alerts.email is no longer configured${row.gemeentecode ? ` (nor for gemeente ${row.gemeentecode})` : ''}; the alert has nobody to go to`);
    return { to, messageId: row.message_id, ...alert };
  }
  if (row.mutation_id === null || row.instance === null) throw new Error('the mail has no mutation or instance');
  // The gemeente's own instances and name: a bureau's relay never sends one gemeente's mail to another's.
  const gemeente = gemeenteOf(ctx.config, row.gemeentecode);
  if (!gemeente) {
    throw new Unaddressable(`gemeente ${row.gemeentecode ?? '(none)'} is no longer configured; the mail is not sent. Add the gemeente back and requeue it, or leave it dead`);
  }
  const configured = gemeente.routing.instances[row.instance];
  if (!configured) {
    throw new Unaddressable(
      `instance ${row.instance} is no longer in routing.instances; the mail is not sent to the address it was queued for. Add the instance back and requeue it, or leave it dead`,
    );
  }
  const stored = ctx.store.meldingen.mutation(row.mutation_id);
  if (!stored) throw new Error(`mutation ${row.mutation_id} is no longer stored`);
  const melding = readStoredMutation(stored.payload, stored.copy);
  const composed = composeMail({
    kind: row.kind as MailKind,
    melding,
    changes: JSON.parse(row.changes ?? '[]') as FieldChange[],
    instance: { id: row.instance, name: configured.name, email: configured.email },
    content: ctx.config.mail.content,
    municipality: { code: gemeente.municipality.code, name: gemeente.municipality.name },
  });
  return { to: configured.email, messageId: row.message_id, ...composed };
}
