/**
 * Delivery when the path to the SMTP relay or the configuration has changed
 * under a queued mail, against a real SMTP server and a real SQLite file:
 * - a relay that does not offer STARTTLS (or a man-in-the-middle that strips
 *   it) and a failed TLS handshake hold the mail back, never bury it;
 * - a mail goes to the address configured when it leaves, not the one stored
 *   when it was queued; an instance taken out of the configuration is a dead
 *   letter that says so.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { deliverDue } from '../../src/delivery/deliver.js';
import { ingestPage } from '../../src/feed/ingest.js';
import { createLogger, silentLogger } from '../../src/observability/log.js';
import { createSmtpSender, type MailSender } from '../../src/mail/smtp.js';
import { MeldingGenerator } from '../../src/simulator/generate.js';
import { Store } from '../../src/store/store.js';
import type { Verzuimmelding } from '../../src/domain/melding.js';
import { startMailCatcher, type MailCatcherOptions, type RunningMailCatcher } from '../../tools/mail-catcher/mail-catcher.js';
import { testConfig, type ConfigOverrides } from '../support/config.js';
import { ALERT_EMAIL, GEMEENTECODE, INSTANCES } from '../support/fixtures.js';

const pki = inject('pkiG4');
const foreign = inject('pkiForeign');

interface LogLine {
  level: string;
  event: string;
  msg: string;
  [key: string]: unknown;
}

interface Rig {
  config: Config;
  store: Store;
  catcher: RunningMailCatcher;
  clock: { now: Date };
  logs: LogLine[];
  ingest(m: Omit<Verzuimmelding, 'volgnummer'>): Verzuimmelding;
  deliver(): ReturnType<typeof deliverDue>;
  /** Moves the clock to when the first waiting mail is due again. */
  advanceToNextAttempt(): void;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function rig(catcherOptions: Partial<MailCatcherOptions> = {}, overrides: ConfigOverrides = {}): Promise<Rig> {
  const catcher = await startMailCatcher({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), ...catcherOptions });
  const config = testConfig({ pki, smtpPort: catcher.port, overrides: { delivery: { firstRetrySeconds: 60, maxRetryDelaySeconds: 600, maxAgeHours: 2 }, ...overrides } });
  const clock = { now: new Date('2026-11-28T09:00:00Z') };
  const store = Store.open(config.storage.path, config.gemeenten[0]!.municipality.code, () => clock.now);
  const logs: LogLine[] = [];
  const log = createLogger({
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
        done();
      },
    }),
  });
  let sender: MailSender | undefined;
  let volgnummer = 0;
  const r: Rig = {
    config,
    store,
    catcher,
    clock,
    logs,
    ingest(m) {
      const item = { ...m, volgnummer: ++volgnummer } as Verzuimmelding;
      ingestPage({ store, config: r.config, gemeente: r.config.gemeenten[0]!, log: silentLogger, now: () => clock.now, cycleId: null, forwardMail: true }, { items: [{ value: item, raw: JSON.stringify(item) }], volgnummerTot: volgnummer }, volgnummer - 1);
      return item;
    },
    async deliver() {
      // A sender per configuration, as a restart after editing the file would make.
      sender?.close();
      sender = createSmtpSender(r.config.smtp);
      return deliverDue({ store, config: r.config, sender, log, now: () => clock.now, random: () => 0.5, cycleId: null });
    },
    advanceToNextAttempt() {
      const waiting = store.outbox.list({ state: 'deferred' }).map((row) => Date.parse(row.next_attempt_at));
      clock.now = new Date(Math.min(...waiting));
    },
  };
  cleanup.push(async () => {
    sender?.close();
    store.close();
    await catcher.close();
  });
  return r;
}

const gen = () => new MeldingGenerator({ seed: 7, gemeentecode: GEMEENTECODE });

describe('TLS failures are temporary, never a dead letter', () => {
  it('keeps a mail to a relay that does not offer STARTTLS, logs why at error level, and sends it once STARTTLS is back', async () => {
    const r = await rig({ plaintextOnly: true });
    const m = r.ingest(gen().nieuweMelding({ verzuimsoort: 'LUXE' }));

    expect(await r.deliver()).toEqual({ sent: 0, deferred: 1, dead: 0 });
    const row = r.store.outbox.list()[0]!;
    expect(row.state).toBe('deferred');
    expect(row.last_error).toMatch(/did not offer STARTTLS/);
    const line = r.logs.find((l) => l.event === 'mail.tls-failed');
    expect(line).toMatchObject({ level: 'error', meldingsnummer: m.meldingsnummer });
    expect(line!.msg).toMatch(/the SMTP relay did not offer STARTTLS.*the mail is kept and retried — check smtp\.host and smtp\.port, or whether something between this host and the relay strips STARTTLS/);
    expect(r.store.audit.forMelding(m.meldingsnummer).map((a) => a.event)).toEqual(['mail.queued', 'mutation.stored', 'mail.deferred']);

    // The relay offers STARTTLS again (a new catcher on a new port, as after the fault was fixed).
    const fixed = await startMailCatcher({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) });
    cleanup.push(() => fixed.close());
    r.config = { ...r.config, smtp: { ...r.config.smtp, port: fixed.port } };
    r.advanceToNextAttempt();
    expect(await r.deliver()).toEqual({ sent: 1, deferred: 0, dead: 0 });
    expect(fixed.mails).toHaveLength(1);
  });

  it('keeps deferring past delivery.maxAgeHours, with one alert a day instead of a dead letter per mail', async () => {
    const r = await rig({ plaintextOnly: true });
    r.ingest(gen().nieuweMelding({ verzuimsoort: 'LUXE' }));
    r.ingest(gen().nieuweMelding({ verzuimsoort: 'ZESTIEN_UUR' }));
    await r.deliver();

    r.clock.now = new Date(r.clock.now.getTime() + 3 * 3_600_000); // past maxAgeHours (2)
    const later = await r.deliver();
    expect(later.dead).toBe(0);
    expect(r.store.outbox.list({ state: 'dead' })).toHaveLength(0);
    const alerts = () => r.store.outbox.list().filter((x) => x.kind === 'alert');
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0]!.recipient).toBe(ALERT_EMAIL);
    const content = JSON.parse(alerts()[0]!.alert!) as { subject: string; text: string };
    expect(content.subject).toContain('Mail wacht');
    expect(content.text).toMatch(/niet\s+opgegeven/);

    // The same day: no second alert however often it fails.
    r.advanceToNextAttempt();
    await r.deliver();
    expect(alerts()).toHaveLength(1);
    // The next day: a reminder.
    r.clock.now = new Date('2026-11-29T09:30:00Z');
    await r.deliver();
    expect(alerts()).toHaveLength(2);
    expect(r.store.outbox.list({ state: 'dead' })).toHaveLength(0);
  });

  it('treats a relay certificate it cannot verify as temporary, too', async () => {
    const r = await rig({ cert: readFileSync(foreign.serverCert), key: readFileSync(foreign.serverKey) });
    r.ingest(gen().nieuweMelding({ verzuimsoort: 'LUXE' }));
    expect(await r.deliver()).toEqual({ sent: 0, deferred: 1, dead: 0 });
    expect(r.store.outbox.list()[0]!.last_error).toMatch(/^TLS with the SMTP relay failed \(.*\); the mail is kept and retried — check smtp\.ca/);
    r.clock.now = new Date(r.clock.now.getTime() + 3 * 3_600_000);
    expect((await r.deliver()).dead).toBe(0);
    expect(r.logs.filter((l) => l.event === 'mail.tls-failed' && l.level === 'error')).toHaveLength(2);
  });
});

describe('the address is the one configured when the mail leaves', () => {
  function moved(config: Config, instance: keyof typeof INSTANCES, email: string): Config {
    const [g] = config.gemeenten;
    const routing = { ...g!.routing, instances: { ...g!.routing.instances, [instance]: { ...g!.routing.instances[instance]!, email } } };
    return { ...config, gemeenten: [{ ...g!, routing }] };
  }

  it('sends a deferred mail to the instance\'s new address and audits which address it went to', async () => {
    let refuse = true;
    const r = await rig({ respond: () => (refuse ? { code: 451, message: 'Try again later' } : undefined) });
    const m = r.ingest(gen().nieuweMelding({ verzuimsoort: 'LUXE' }));
    await r.deliver();
    expect(r.store.outbox.list()[0]!.recipient).toBe(INSTANCES.handhaving.email);

    r.config = moved(r.config, 'handhaving', 'handhaving-nieuw@utrecht.example');
    refuse = false;
    r.advanceToNextAttempt();
    expect((await r.deliver()).sent).toBe(1);
    expect(r.catcher.mails[0]!.envelopeTo).toEqual(['handhaving-nieuw@utrecht.example']);
    const parsed = await simpleParser(r.catcher.mails[0]!.raw);
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '').toBe('handhaving-nieuw@utrecht.example');
    const sent = r.store.audit.forMelding(m.meldingsnummer).find((a) => a.event === 'mail.sent')!;
    expect(JSON.parse(sent.detail!)).toMatchObject({ recipient: 'handhaving-nieuw@utrecht.example' });
  });

  it('sends a requeued dead letter (outbox retry) to the new address', async () => {
    let refuse = true;
    const r = await rig({ respond: ({ envelopeTo }) => (refuse && envelopeTo.includes(INSTANCES.handhaving.email) ? { code: 550, message: 'Mailbox unavailable' } : undefined) });
    r.ingest(gen().nieuweMelding({ verzuimsoort: 'LUXE' }));
    await r.deliver();
    const [dead] = r.store.outbox.list({ state: 'dead' });
    r.config = moved(r.config, 'handhaving', 'handhaving-nieuw@utrecht.example');
    refuse = false;
    r.store.outbox.requeue([dead!.id], r.clock.now);
    expect((await r.deliver()).sent).toBe(1);
    expect(r.catcher.mails.map((x) => x.envelopeTo)).toContainEqual(['handhaving-nieuw@utrecht.example']);
    expect(r.catcher.mails.map((x) => x.envelopeTo)).not.toContainEqual([INSTANCES.handhaving.email]);
  });

  it('makes a mail for an instance no longer in routing.instances a dead letter that says so, and alerts', async () => {
    let refuse = true;
    const r = await rig({ respond: () => (refuse ? { code: 451, message: 'Try again later' } : undefined) });
    r.ingest(gen().nieuweMelding({ verzuimsoort: 'LUXE' }));
    await r.deliver();

    const [g] = r.config.gemeenten;
    const { handhaving: _gone, ...rest } = g!.routing.instances;
    r.config = { ...r.config, gemeenten: [{ ...g!, routing: { ...g!.routing, instances: rest } }] };
    refuse = false;
    r.advanceToNextAttempt();
    const result = await r.deliver();
    expect(result).toMatchObject({ dead: 1, sent: 1 }); // the alert
    const [dead] = r.store.outbox.list({ state: 'dead' });
    expect(dead!.last_error).toMatch(/^instance handhaving is no longer in routing\.instances/);
    expect(r.logs.find((l) => l.event === 'mail.dead')).toMatchObject({ level: 'error', instance: 'handhaving' });
    expect(r.catcher.mails.map((x) => x.envelopeTo)).toEqual([[ALERT_EMAIL]]);
  });

  it('sends an alert to the alert address configured now', async () => {
    const r = await rig({ respond: ({ envelopeTo }) => (envelopeTo.includes(INSTANCES.handhaving.email) ? { code: 550, message: 'Mailbox unavailable' } : envelopeTo.includes(ALERT_EMAIL) ? { code: 451, message: 'Later' } : undefined) });
    r.ingest(gen().nieuweMelding({ verzuimsoort: 'LUXE' }));
    await r.deliver(); // the mail dies, its alert is deferred
    expect(r.store.outbox.list({ state: 'deferred' }).map((x) => x.kind)).toEqual(['alert']);

    r.config = { ...r.config, alerts: { email: 'beheer-nieuw@utrecht.example' } };
    r.advanceToNextAttempt();
    expect((await r.deliver()).sent).toBe(1);
    expect(r.catcher.mails.map((x) => x.envelopeTo)).toEqual([['beheer-nieuw@utrecht.example']]);
  });
});
