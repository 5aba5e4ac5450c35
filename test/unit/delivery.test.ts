/**
 * Delivery against a real SMTP server (STARTTLS) and a real SQLite file:
 * temporary failures are retried with back-off, permanent ones dead-lettered
 * and alerted, mails about one melding keep their order, and a mail
 * interrupted by a crash is sent again with the same Message-ID.
 */
import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { startMailCatcher, type RunningMailCatcher } from '../../tools/mail-catcher/mail-catcher.js';
import { deliverDue } from '../../src/delivery/deliver.js';
import { retryDelaySeconds } from '../../src/delivery/backoff.js';
import { readStoredMutation, storedCopy, storedItem } from '../../src/feed/contract.js';
import { contractNamed, meldingToXml } from '../../src/feed/edukoppeling/contract.js';
import { ingestPage } from '../../src/feed/ingest.js';
import { silentLogger } from '../../src/observability/log.js';
import { createSmtpSender, type MailSender, type SendError } from '../../src/mail/smtp.js';
import { MeldingGenerator } from '../../src/simulator/generate.js';
import { Store } from '../../src/store/store.js';
import { SCHEMA_VERSION } from '../../src/store/database.js';
import { purgeExpired } from '../../src/store/retention.js';
import type { Verzuimmelding } from '../../src/domain/melding.js';
import { testConfig } from '../support/config.js';
import { ALERT_EMAIL, GEMEENTECODE, INSTANCES } from '../support/fixtures.js';

const pki = inject('pkiG4');

/** Meldingen as the REST transport hands them to ingest. */
const feedItems = (meldingen: unknown[]) => meldingen.map((value) => ({ value, raw: JSON.stringify(value) }));

/** Meldingen as the Edukoppeling transport hands them to ingest: the verified element's XML, and its reading. */
const xmlFeedItems = (meldingen: Verzuimmelding[]) =>
  meldingen.map((m) => {
    const raw = meldingToXml(m as unknown as Record<string, unknown>, 'ns2').replace('<ns2:verzuimmelding>', `<ns2:verzuimmelding xmlns:ns2="${contractNamed().schemaNs}">`);
    return storedItem(raw);
  });

interface Rig {
  config: Config;
  store: Store;
  catcher: RunningMailCatcher;
  sender: MailSender;
  clock: { now: Date };
  gen: MeldingGenerator;
  volgnummer: number;
  ingest(...meldingen: Omit<Verzuimmelding, 'volgnummer'>[]): Verzuimmelding[];
  deliver(): ReturnType<typeof deliverDue>;
}

let rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs) {
    rig.sender.close();
    rig.store.close();
    await rig.catcher.close();
  }
  rigs = [];
});

async function rig(respond?: Parameters<typeof startMailCatcher>[0]['respond']): Promise<Rig> {
  const catcher = await startMailCatcher({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), respond });
  const config = testConfig({ pki, smtpPort: catcher.port, overrides: { delivery: { firstRetrySeconds: 60, maxRetryDelaySeconds: 600, maxAgeHours: 2 } } });
  const clock = { now: new Date('2026-11-28T09:00:00Z') };
  const store = Store.open(config.storage.path, config.gemeenten[0]!.municipality.code, () => clock.now);
  const sender = createSmtpSender(config.smtp);
  const r: Rig = {
    config,
    store,
    catcher,
    sender,
    clock,
    gen: new MeldingGenerator({ seed: 11, gemeentecode: GEMEENTECODE }),
    volgnummer: 0,
    ingest(...meldingen) {
      const items = meldingen.map((m) => ({ ...m, volgnummer: ++r.volgnummer }) as Verzuimmelding);
      const vanaf = store.cursor.get().volgnummer;
      ingestPage({ store, config, gemeente: config.gemeenten[0]!, log: silentLogger, now: () => clock.now, cycleId: null, forwardMail: true }, { items: feedItems(items), volgnummerTot: r.volgnummer }, vanaf);
      return items;
    },
    deliver: () => deliverDue({ store, config, sender, log: silentLogger, now: () => clock.now, random: () => 0.5, cycleId: null }),
  };
  rigs.push(r);
  return r;
}

describe('delivery', () => {
  it('defers on a 4xx with exponential back-off and delivers once the relay accepts again', async () => {
    let refuse = true;
    const r = await rig(() => (refuse ? { code: 451, message: 'Try again later' } : undefined));
    const [m] = r.ingest(r.gen.nieuweMelding({ verzuimsoort: 'LUXE' }));

    expect(await r.deliver()).toEqual({ sent: 0, deferred: 1, dead: 0 });
    let row = r.store.outbox.list()[0]!;
    expect(row.state).toBe('deferred');
    expect(row.last_error).toContain('451');
    expect(Date.parse(row.next_attempt_at) - r.clock.now.getTime()).toBe(60_000);

    // Not due yet: nothing happens.
    expect(await r.deliver()).toEqual({ sent: 0, deferred: 0, dead: 0 });

    r.clock.now = new Date(Date.parse(row.next_attempt_at));
    expect(await r.deliver()).toEqual({ sent: 0, deferred: 1, dead: 0 });
    row = r.store.outbox.list()[0]!;
    expect(Date.parse(row.next_attempt_at) - r.clock.now.getTime()).toBe(120_000);

    refuse = false;
    r.clock.now = new Date(Date.parse(row.next_attempt_at));
    expect(await r.deliver()).toEqual({ sent: 1, deferred: 0, dead: 0 });
    expect(r.store.outbox.list()[0]!.state).toBe('sent');
    const mail = await simpleParser(r.catcher.mails[0]!.raw);
    expect(mail.headers.get('x-verzuim-meldingsnummer')).toBe(m!.meldingsnummer);
    expect(r.store.audit.forMelding(m!.meldingsnummer).map((a) => a.event)).toEqual(['mail.queued', 'mutation.stored', 'mail.deferred', 'mail.deferred', 'mail.sent']);
  });

  it('dead-letters a 5xx at once, alerts the administrator without pupil data, and requeues on request', async () => {
    let refuse = true;
    const r = await rig(({ envelopeTo }) => (refuse && envelopeTo.includes(INSTANCES.handhaving.email) ? { code: 550, message: 'Mailbox unavailable' } : undefined));
    const [m] = r.ingest(r.gen.nieuweMelding({ verzuimsoort: 'LUXE' }));
    const first = await r.deliver();
    expect(first.dead).toBe(1);
    expect(first.sent).toBe(1); // the alert
    const dead = r.store.outbox.list({ state: 'dead' });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.last_error).toContain('550');

    const alert = await simpleParser(r.catcher.mails[0]!.raw);
    expect(alert.to && !Array.isArray(alert.to) ? alert.to.text : '').toContain(ALERT_EMAIL);
    expect(alert.text).toContain(m!.meldingsnummer);
    for (const personal of [m!.leerling.geslachtsnaam, m!.leerling.bsn ?? m!.leerling.onderwijsnummer!, m!.leerling.geboortedatum]) {
      expect(`${alert.subject}\n${alert.text}\n${alert.html}`).not.toContain(personal);
    }

    refuse = false;
    expect(r.store.outbox.requeue('all-dead', r.clock.now)).toEqual([dead[0]!.id]);
    expect((await r.deliver()).sent).toBe(1);
    expect(r.store.outbox.get(dead[0]!.id)!.state).toBe('sent');
  });

  it('dead-letters a mail that keeps failing for longer than delivery.maxAgeHours', async () => {
    const r = await rig(() => ({ code: 421, message: 'Service not available' }));
    r.ingest(r.gen.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    await r.deliver();
    r.clock.now = new Date(r.clock.now.getTime() + 2 * 3_600_000 + 1000);
    const result = await r.deliver();
    expect(result.dead).toBe(1);
    expect(r.store.outbox.list({ state: 'dead' })[0]!.last_error).toMatch(/delivery\.maxAgeHours/);
  });

  it('never lets an Ingetrokken overtake the Nieuw it withdraws', async () => {
    let refuse = true;
    const r = await rig(() => (refuse ? { code: 452, message: 'Insufficient storage' } : undefined));
    const [m] = r.ingest(r.gen.nieuweMelding({ verzuimsoort: 'ZESTIEN_UUR' }));
    await r.deliver(); // Nieuw deferred
    refuse = false;
    r.ingest(r.gen.intrekking(m!));
    // The Ingetrokken is due, the Nieuw is not yet: nothing may leave.
    expect(await r.deliver()).toEqual({ sent: 0, deferred: 0, dead: 0 });
    r.clock.now = new Date(r.clock.now.getTime() + 3_600_000);
    expect((await r.deliver()).sent).toBe(2);
    const kinds = await Promise.all(r.catcher.mails.map(async (x) => (await simpleParser(x.raw)).headers.get('x-verzuim-bericht')));
    expect(kinds).toEqual(['Nieuw', 'Ingetrokken']);
  });

  it('sends a mail interrupted by a crash again, with the same Message-ID', async () => {
    const r = await rig();
    r.ingest(r.gen.nieuweMelding({ verzuimsoort: 'DOORSTROOMPUNT_18PLUS' }));
    const row = r.store.outbox.list()[0]!;
    expect(r.store.outbox.claim(row)).toBe(true); // the process died after handing the mail to SMTP
    expect(r.store.outbox.due(r.clock.now)).toHaveLength(0);
    expect(r.store.outbox.resumeInterrupted()).toBe(1); // what start-up does
    expect(r.store.audit.forMelding(row.meldingsnummer!).map((a) => a.event)).toContain('mail.resumed');
    await r.deliver();
    const mail = await simpleParser(r.catcher.mails[0]!.raw);
    expect(mail.messageId).toBe(row.message_id);
  });

  it('backs off exponentially with jitter, capped', () => {
    const settings = { firstRetrySeconds: 60, maxRetryDelaySeconds: 3600 };
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(n, settings, () => 0.5))).toEqual([60, 120, 240, 480]);
    expect(retryDelaySeconds(20, settings, () => 0.99)).toBe(3600);
    expect(retryDelaySeconds(1, settings, () => 0)).toBe(48);
    expect(retryDelaySeconds(1, settings, () => 1)).toBe(72);
  });
});

describe('ingest', () => {
  it('moves the cursor only together with the page: a failure stores nothing', async () => {
    const r = await rig();
    r.ingest(r.gen.nieuweMelding());
    const before = { cursor: r.store.cursor.get().volgnummer, outbox: r.store.outbox.list().length };
    r.store.db.exec(`CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`);
    expect(() => r.ingest(r.gen.nieuweMelding(), r.gen.nieuweMelding())).toThrow(/disk trouble/);
    expect(r.store.cursor.get().volgnummer).toBe(before.cursor);
    expect(r.store.outbox.list()).toHaveLength(before.outbox);
    expect(r.store.db.prepare('SELECT COUNT(*) FROM mutations').pluck().get()).toBe(1);
  });

  it('ignores replays and out-of-order mutations as stale', async () => {
    const r = await rig();
    const [m] = r.ingest(r.gen.nieuweMelding({ verzuimsoort: 'LUXE' }));
    const store = r.store;
    // ROD re-serves the same mutation inside a later page, as after a failover.
    const counts = ingestPage({ store, config: r.config, gemeente: r.config.gemeenten[0]!, log: silentLogger, now: () => r.clock.now, cycleId: null, forwardMail: true }, { items: feedItems([m]), volgnummerTot: r.volgnummer }, r.volgnummer);
    expect(counts).toMatchObject({ stale: 1, processed: 0, queued: 0 });
    expect(r.store.outbox.list()).toHaveLength(1);
    expect(r.store.db.prepare(`SELECT outcome FROM mutations ORDER BY id`).pluck().all()).toEqual(['processed', 'stale']);
  });

  it('mails a mutation received over Edukoppeling (kept as its XML) exactly as the same mutation received as JSON', async () => {
    const texts: string[] = [];
    for (const encode of [feedItems, xmlFeedItems]) {
      const r = await rig();
      const m = { ...r.gen.nieuweMelding({ verzuimsoort: 'LUXE' }), volgnummer: 1 } as Verzuimmelding;
      ingestPage({ store: r.store, config: r.config, gemeente: r.config.gemeenten[0]!, log: silentLogger, now: () => r.clock.now, cycleId: null, forwardMail: true }, { items: encode([m]), volgnummerTot: 1 }, 0);
      expect((await r.deliver()).sent).toBe(1);
      const mail = await simpleParser(r.catcher.mails[0]!.raw);
      texts.push(String(mail.text));
      expect(r.store.db.prepare('SELECT payload FROM mutations').pluck().get()).toBe(encode([m])[0]!.raw);
    }
    expect(texts[1]).toBe(texts[0]);
  });

  it('keeps a copy of the reading beside an XML payload that reads the same, and mails from the copy', async () => {
    const r = await rig();
    const m = { ...r.gen.nieuweMelding({ verzuimsoort: 'LUXE' }), volgnummer: 1 } as Verzuimmelding;
    ingestPage({ store: r.store, config: r.config, gemeente: r.config.gemeenten[0]!, log: silentLogger, now: () => r.clock.now, cycleId: null, forwardMail: true }, { items: xmlFeedItems([m]), volgnummerTot: 1 }, 0);
    const row = r.store.db.prepare('SELECT payload, melding_json FROM mutations').get() as { payload: string; melding_json: string | null };
    expect(row.melding_json).not.toBeNull();
    expect(readStoredMutation(row.payload, row.melding_json)).toEqual(readStoredMutation(row.payload));
    // The mail is composed from the copy, not from the payload (which is what the copy saves).
    const copy = JSON.parse(row.melding_json!) as { melding: Verzuimmelding };
    copy.melding.leerling.voornamen = 'Uitdekopie';
    r.store.db.prepare('UPDATE mutations SET melding_json = ?').run(JSON.stringify(copy));
    expect((await r.deliver()).sent).toBe(1);
    expect(String((await simpleParser(r.catcher.mails[0]!.raw)).text)).toContain('Uitdekopie');
  });

  it('keeps no copy beside a JSON payload: mails, and compares the next mutation, from the payload', async () => {
    const r = await rig();
    const [m] = r.ingest(r.gen.nieuweMelding({ verzuimsoort: 'LUXE' }));
    expect(r.store.db.prepare('SELECT COUNT(*) FROM mutations WHERE melding_json IS NOT NULL').pluck().get()).toBe(0);
    expect((await r.deliver()).sent).toBe(1);
    expect(String((await simpleParser(r.catcher.mails[0]!.raw)).text)).toContain(m!.leerling.voornamen);
    r.ingest({ ...m!, aantalUrenVerzuim: (m!.aantalUrenVerzuim ?? 0) + 7 });
    const gewijzigd = r.store.outbox.list().at(-1)!;
    expect(gewijzigd).toMatchObject({ kind: 'Gewijzigd', meldingsnummer: m!.meldingsnummer });
    expect(gewijzigd.changes).toContain('aantalUrenVerzuim');
    expect(r.store.db.prepare('SELECT COUNT(*) FROM mutations WHERE melding_json IS NOT NULL').pluck().get()).toBe(0);
  });

  it('migrates a database from before the copy: its queued mail and the next comparison read the payload', async () => {
    const r = await rig();
    const m = { ...r.gen.nieuweMelding({ verzuimsoort: 'LUXE' }), volgnummer: 1 } as Verzuimmelding;
    const ctx = (store: Store) => ({ store, config: r.config, gemeente: r.config.gemeenten[0]!, log: silentLogger, now: () => r.clock.now, cycleId: null, forwardMail: true });
    ingestPage(ctx(r.store), { items: xmlFeedItems([m]), volgnummerTot: 1 }, 0);
    // As schema version 7 left the file: no copy column, the mail still pending.
    r.store.db.exec('ALTER TABLE mutations DROP COLUMN melding_json; DELETE FROM schema_migrations WHERE version = 8');
    const payload = r.store.db.prepare('SELECT payload FROM mutations').pluck().get();
    r.store.close();
    const store = (r.store = Store.open(r.config.storage.path, GEMEENTECODE, () => r.clock.now));
    expect(store.db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get()).toBe(SCHEMA_VERSION);
    expect(store.db.prepare('SELECT payload, melding_json FROM mutations').get()).toEqual({ payload, melding_json: null });

    const deliver = () => deliverDue({ store, config: r.config, sender: r.sender, log: silentLogger, now: () => r.clock.now, random: () => 0.5, cycleId: null });
    expect((await deliver()).sent).toBe(1);
    expect(String((await simpleParser(r.catcher.mails[0]!.raw)).text)).toContain(m.leerling.voornamen);
    // The next mutation is compared with the payload of the one before: the change is named.
    const changed = { ...m, volgnummer: 2, aantalUrenVerzuim: (m.aantalUrenVerzuim ?? 0) + 7 } as Verzuimmelding;
    ingestPage(ctx(store), { items: xmlFeedItems([changed]), volgnummerTot: 2 }, 1);
    const gewijzigd = store.outbox.list().at(-1)!;
    expect(gewijzigd).toMatchObject({ kind: 'Gewijzigd', volgnummer: 2 });
    expect(gewijzigd.changes).toContain('aantalUrenVerzuim');
    expect(store.db.prepare('SELECT COUNT(*) FROM mutations WHERE melding_json IS NOT NULL').pluck().get()).toBe(1);
  });

  it('mails from the payload when there is no copy of this contract (rows from before it, another contract, unreadable)', async () => {
    const r = await rig();
    const meldingen = r.ingest(r.gen.nieuweMelding(), r.gen.nieuweMelding(), r.gen.nieuweMelding());
    const update = r.store.db.prepare('UPDATE mutations SET melding_json = ? WHERE meldingsnummer = ?');
    // JSON rows stored by a version that kept a copy beside them too.
    for (const m of meldingen) update.run(storedCopy(m), m.meldingsnummer);
    const otherContract = JSON.parse(storedCopy(meldingen[1]!)) as { contract: string; melding: Verzuimmelding };
    otherContract.contract = 'an-older-contract';
    otherContract.melding.leerling.voornamen = 'Uitdekopie';
    update.run(null, meldingen[0]!.meldingsnummer);
    update.run(JSON.stringify(otherContract), meldingen[1]!.meldingsnummer);
    update.run('{not json', meldingen[2]!.meldingsnummer);
    expect((await r.deliver()).sent).toBe(3);
    const texts = await Promise.all(r.catcher.mails.map(async (mail) => String((await simpleParser(mail.raw)).text)));
    expect(texts.join('\n')).not.toContain('Uitdekopie');
    for (const m of meldingen) expect(texts.some((text) => text.includes(m.leerling.voornamen))).toBe(true);
  });

  it('keeps every mutation exactly as received, fields it does not know included', async () => {
    const r = await rig();
    const [m] = r.ingest({ ...r.gen.nieuweMelding(), schooljaar: '2026-2027' } as Omit<Verzuimmelding, 'volgnummer'>);
    const stored = JSON.parse(r.store.db.prepare('SELECT payload FROM mutations').pluck().get() as string) as Record<string, unknown>;
    expect(stored).toEqual(JSON.parse(JSON.stringify(m)));
    expect(stored.schooljaar).toBe('2026-2027');
    expect(r.store.outbox.list()).toHaveLength(1);
  });

  it('stores the backlog without mail with sync.backlog: store-only', async () => {
    const r = await rig();
    const store = r.store;
    const m = { ...r.gen.nieuweMelding(), volgnummer: 5 } as Verzuimmelding;
    ingestPage({ store, config: r.config, gemeente: r.config.gemeenten[0]!, log: silentLogger, now: () => r.clock.now, cycleId: null, forwardMail: false }, { items: feedItems([m]), volgnummerTot: 5 }, 0);
    expect(store.outbox.list()).toHaveLength(0);
    expect(store.meldingen.get('0344', m.meldingsnummer)?.volgnummer).toBe(5);
    expect(store.cursor.get().volgnummer).toBe(5);
  });

  it('purges the personal data of meldingen closed longer than retention.days ago, and keeps judging later mutations', async () => {
    const r = await rig();
    const [open, closed] = r.ingest(r.gen.nieuweMelding(), r.gen.nieuweMelding());
    const [withdrawal] = r.ingest(r.gen.intrekking(closed!));
    await r.deliver();
    const bsnOrNummer = (m: Verzuimmelding) => m.leerling.bsn ?? m.leerling.onderwijsnummer!;

    r.clock.now = new Date(r.clock.now.getTime() + 731 * 86_400_000);
    expect(purgeExpired(r.store.db, 730, r.clock.now)).toMatchObject({ meldingen: 1, mutations: 2 });
    const dump = JSON.stringify(r.store.db.prepare('SELECT * FROM mutations').all()) + JSON.stringify(r.store.db.prepare('SELECT * FROM outbox').all());
    expect(dump).not.toContain(bsnOrNummer(closed!));
    expect(dump).toContain(bsnOrNummer(open!)); // still open: kept
    expect(r.store.meldingen.get('0344', closed!.meldingsnummer)).toMatchObject({ status: 'INGETROKKEN', payload: null, copy: null });

    // A replay of the purged melding is still stale; a genuinely new mutation is judged as if first seen.
    r.volgnummer = withdrawal!.volgnummer - 1;
    expect(() => r.ingest({ ...closed!, status: 'GEREGISTREERD' })).not.toThrow();
    r.volgnummer = 1000;
    r.ingest({ ...closed!, status: 'GEREGISTREERD' });
    expect(r.store.outbox.list({ meldingsnummer: closed!.meldingsnummer }).map((x) => x.kind)).toEqual(['Nieuw', 'Ingetrokken', 'Nieuw']);
  });
});

describe('SMTP transport security', () => {
  async function attempt(catcherOptions: Partial<Parameters<typeof startMailCatcher>[0]>, smtp: Partial<Config['smtp']>) {
    const catcher = await startMailCatcher({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), ...catcherOptions });
    const config = testConfig({ pki, smtpPort: catcher.port });
    config.smtp = { ...config.smtp, ...smtp };
    const sender = createSmtpSender(config.smtp);
    try {
      return await sender.send({ to: INSTANCES.leerplicht.email, subject: 'test', text: 'x', html: '<p>x</p>', headers: {}, messageId: '<t@utrecht.example>' }).then(
        () => ({ ok: true as const, mails: catcher.mails.length }),
        (err: SendError) => ({ ok: false as const, error: err.message, permanent: err.permanent, mails: catcher.mails.length }),
      );
    } finally {
      sender.close();
      await catcher.close();
    }
  }

  it('refuses to send in plain text to a relay without STARTTLS, as a temporary failure (the mail is kept)', async () => {
    const result = await attempt({ plaintextOnly: true }, { requireTLS: true });
    expect(result).toMatchObject({ ok: false, permanent: false, mails: 0 });
    expect(result.ok ? '' : result.error).toMatch(/did not offer STARTTLS .*; the mail is kept and retried — check smtp\.host and smtp\.port/);
  });

  it('sends in plain text only when allowPlaintext says so', async () => {
    const result = await attempt({ plaintextOnly: true }, { requireTLS: false, allowPlaintext: true });
    expect(result).toMatchObject({ ok: true, mails: 1 });
  });

  it('logs in with smtp.user and smtp.password, and says so when they are wrong', async () => {
    const good = await attempt({ auth: { user: 'relay', password: 's3cret' } }, { user: 'relay', password: 's3cret' });
    expect(good).toMatchObject({ ok: true, mails: 1 });
    const bad = await attempt({ auth: { user: 'relay', password: 's3cret' } }, { user: 'relay', password: 'wrong' });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? '' : bad.error).toContain('check smtp.user and smtp.password');
  });
});
