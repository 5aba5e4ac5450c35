/**
 * The outbox worker: takes every mail that is due, hands it to SMTP, and
 * records the outcome durably before and after. A mail is marked `sending`
 * before the attempt, so a crash during it leads to a resend with the same
 * Message-ID (at least once), never to a mail that silently vanished.
 */
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
  /** Aborted when the relay stops: the mail in hand is finished, the rest waits for the next run. */
  signal?: AbortSignal;
  /** Called after a Nieuw was accepted by SMTP (reporting back to ROD). */
  onNieuwSent?: (row: OutboxRow) => void;
  /** The daemon's metrics, when it serves them. */
  metrics?: Pick<RelayCounters, 'mail'>;
}

export interface DeliveryCounts {
  sent: number;
  deferred: number;
  dead: number;
}

export async function deliverDue(ctx: DeliveryContext): Promise<DeliveryCounts> {
  const counts: DeliveryCounts = { sent: 0, deferred: 0, dead: 0 };
  // Mails about one melding wait for the earlier ones, so a pass that sends
  // a Nieuw can make its Gewijzigd due, and a dead letter queues an alert:
  // repeat while passes bring mails to a final state (bounded, to be safe).
  for (let pass = 0; pass < 20; pass++) {
    const due = ctx.store.outbox.due(ctx.now());
    if (due.length === 0) break;
    const settledBefore = counts.sent + counts.dead;
    for (const row of due) {
      if (ctx.signal?.aborted) return counts;
      await deliverOne(ctx, row, counts);
    }
    if (counts.sent + counts.dead === settledBefore) break;
  }
  return counts;
}

async function deliverOne(ctx: DeliveryContext, row: OutboxRow, counts: DeliveryCounts): Promise<void> {
  const { store, log } = ctx;
  const ids = { gemeentecode: row.gemeentecode ?? undefined, meldingsnummer: row.meldingsnummer, volgnummer: row.volgnummer, instance: row.instance, kind: row.kind, outboxId: row.id };

  let mail: OutgoingMail;
  try {
    mail = render(ctx, row);
  } catch (err) {
    const message = err instanceof Unaddressable ? err.message : `cannot compose the mail: ${(err as Error).message.split('\n')[0]}`;
    // Like every dead letter: buried and alerted in one transaction.
    const buried = store.transaction(() => {
      if (!store.outbox.bury(row, { error: message, cycleId: ctx.cycleId })) return false;
      if (row.kind !== 'alert') queueAlert(ctx, deadLetterAlert(row, row.attempts, message), gemeenteOf(ctx.config, row.gemeentecode));
      return true;
    });
    if (buried) {
      log.error('mail.dead', { ...ids, error: message });
      counts.dead++;
      ctx.metrics?.mail(row.instance, 'dead', row.gemeentecode);
    }
    return;
  }

  // Another writer (or an earlier pass) may have taken this mail since it was listed as due.
  if (!store.outbox.claim(row)) return;
  const attempts = row.attempts + 1;
  try {
    const { response } = await ctx.sender.send(mail);
    if (store.outbox.complete(row, { response, at: ctx.now(), cycleId: ctx.cycleId, recipient: mail.to })) {
      log.info('mail.sent', { ...ids, attempt: attempts, changedRecipient: mail.to !== row.recipient || undefined });
      counts.sent++;
      ctx.metrics?.mail(row.instance, 'sent', row.gemeentecode);
      if (row.kind === 'Nieuw') ctx.onNieuwSent?.(row);
    }
  } catch (err) {
    const failure = err instanceof SendError ? err : new SendError((err as Error).message, false);
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
      const buried = store.transaction(() => {
        if (!store.outbox.bury(row, { error: reason, attempts, responseCode: failure.responseCode, cycleId: ctx.cycleId })) return false;
        if (row.kind !== 'alert') queueAlert(ctx, deadLetterAlert(row, attempts, reason), gemeenteOf(ctx.config, row.gemeentecode));
        return true;
      });
      if (buried) {
        log.error('mail.dead', { ...ids, attempts, error: reason, responseCode: failure.responseCode });
        counts.dead++;
        ctx.metrics?.mail(row.instance, 'dead', row.gemeentecode);
      }
    } else {
      const delay = retryDelaySeconds(attempts, ctx.config.delivery, ctx.random);
      const next = new Date(ctx.now().getTime() + delay * 1000);
      const deferred = store.transaction(() => {
        if (!store.outbox.defer(row, { error: failure.message, nextAttempt: next, attempts, responseCode: failure.responseCode, cycleId: ctx.cycleId })) return false;
        if (failure.tls && tooOld && row.kind !== 'alert') {
          queueAlert(ctx, tlsFailingAlert(ctx.now().toISOString().slice(0, 10), failure.message, row.created_at, ctx.config.delivery.maxAgeHours));
        }
        return true;
      });
      if (deferred) {
        const fields = { ...ids, attempts, error: failure.message, nextAttemptAt: next.toISOString() };
        if (failure.tls) log.error('mail.tls-failed', { ...fields, pastMaxAge: tooOld }, failure.message);
        else log.warn('mail.deferred', fields);
        counts.deferred++;
        ctx.metrics?.mail(row.instance, 'deferred', row.gemeentecode);
      }
    }
  }
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
  const payload = ctx.store.meldingen.mutationPayload(row.mutation_id);
  if (!payload) throw new Error(`mutation ${row.mutation_id} is no longer stored`);
  const melding = readStoredMutation(payload);
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
