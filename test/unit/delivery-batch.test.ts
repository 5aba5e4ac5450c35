/**
 * Delivery in batches over several SMTP connections, against a real SMTP
 * server (STARTTLS) and a real SQLite file: mails go out in parallel, mails
 * about one melding still leave in volgnummer order, a refusal in the middle
 * of a batch costs no other mail, a stop gives the unsent part of a batch
 * back, and a cycle is not capped at a number of mails.
 */
import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { startMailCatcher, type RunningMailCatcher } from '../../tools/mail-catcher/mail-catcher.js';
import { deliverDue } from '../../src/delivery/deliver.js';
import { ingestPage } from '../../src/feed/ingest.js';
import { silentLogger } from '../../src/observability/log.js';
import { createSmtpSender, type MailSender } from '../../src/mail/smtp.js';
import { MeldingGenerator } from '../../src/simulator/generate.js';
import { Store } from '../../src/store/store.js';
import type { Verzuimmelding } from '../../src/domain/melding.js';
import { testConfig } from '../support/config.js';
import { GEMEENTECODE } from '../support/fixtures.js';

const pki = inject('pkiG4');

interface Rig {
  config: Config;
  store: Store;
  catcher: RunningMailCatcher;
  sender: MailSender & { maxInFlight: number };
  gen: MeldingGenerator;
  ingest(...meldingen: Omit<Verzuimmelding, 'volgnummer'>[]): Verzuimmelding[];
}

const NOW = new Date('2026-11-28T09:00:00Z');
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function rig(options: { maxConnections: number; respond?: Parameters<typeof startMailCatcher>[0]['respond'] }): Promise<Rig> {
  const catcher = await startMailCatcher({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), respond: options.respond });
  const config = testConfig({ pki, smtpPort: catcher.port, overrides: { smtp: { maxConnections: options.maxConnections } } });
  const store = Store.open(config.storage.path, config.gemeenten[0]!.municipality.code, () => NOW);
  // The real SMTP sender, watched for how many mails it has in hand at once.
  const real = createSmtpSender(config.smtp);
  let inFlight = 0;
  const sender = {
    maxInFlight: 0,
    async send(mail: Parameters<MailSender['send']>[0]) {
      sender.maxInFlight = Math.max(sender.maxInFlight, ++inFlight);
      try {
        return await real.send(mail);
      } finally {
        inFlight--;
      }
    },
    close: () => real.close(),
  };
  let volgnummer = 0;
  const r: Rig = {
    config,
    store,
    catcher,
    sender,
    gen: new MeldingGenerator({ seed: 5, gemeentecode: GEMEENTECODE, now: () => NOW }),
    ingest(...meldingen) {
      const items = meldingen.map((m) => ({ ...m, volgnummer: ++volgnummer }) as Verzuimmelding);
      const vanaf = store.cursor.get().volgnummer;
      ingestPage({ store, config, gemeente: config.gemeenten[0]!, log: silentLogger, now: () => NOW, cycleId: null, forwardMail: true }, { items: items.map((value) => ({ value, raw: JSON.stringify(value) })), volgnummerTot: volgnummer }, vanaf);
      return items;
    },
  };
  cleanup.push(async () => {
    sender.close();
    store.close();
    await catcher.close();
  });
  return r;
}

const deliver = (r: Rig, extra: Partial<Parameters<typeof deliverDue>[0]> = {}) =>
  deliverDue({ store: r.store, config: r.config, sender: r.sender, log: silentLogger, now: () => NOW, random: () => 0.5, cycleId: null, ...extra });

async function headersOf(r: Rig): Promise<{ nummer: string; volgnummer: number; kind: string }[]> {
  return Promise.all(
    r.catcher.mails.map(async (m) => {
      const mail = await simpleParser(m.raw);
      return { nummer: String(mail.headers.get('x-verzuim-meldingsnummer')), volgnummer: Number(mail.headers.get('x-verzuim-volgnummer')), kind: String(mail.headers.get('x-verzuim-bericht')) };
    }),
  );
}

describe('delivery in batches over several connections', () => {
  it('sends over smtp.maxConnections connections at once, and mails about one melding still arrive in volgnummer order', async () => {
    const r = await rig({ maxConnections: 3 });
    const nieuw = Array.from({ length: 6 }, () => r.gen.nieuweMelding({ verzuimsoort: 'LUXE' }));
    const first = r.ingest(...nieuw);
    // Each melding changed and then withdrawn, all before any mail left: three mails per melding queued at once.
    const changed = r.ingest(...first.map((m) => r.gen.wijziging(m)));
    r.ingest(...changed.map((m) => r.gen.intrekking(m)));
    const queued = r.store.outbox.list().length;
    expect(queued).toBe(18);

    // Batches of 4: the order must hold across batch boundaries too.
    const counts = await deliver(r, { batchSize: 4 });
    expect(counts).toEqual({ sent: 18, deferred: 0, dead: 0 });
    expect(r.sender.maxInFlight).toBe(3);
    expect(r.store.outbox.countByState()).toMatchObject({ sent: 18, pending: 0, sending: 0, deferred: 0, dead: 0 });

    const arrived = await headersOf(r);
    for (const m of first) {
      const own = arrived.filter((a) => a.nummer === m.meldingsnummer);
      expect(own.map((a) => a.kind)).toEqual(['Nieuw', 'Gewijzigd', 'Ingetrokken']);
      expect(own.map((a) => a.volgnummer)).toEqual([...own.map((a) => a.volgnummer)].sort((a, b) => a - b));
    }
  });

  it('claims the next batch while one is on the wire, yet claims a mail only when every earlier volgnummer of its melding is sent', async () => {
    const r = await rig({ maxConnections: 2 });
    const first = r.ingest(...Array.from({ length: 5 }, () => r.gen.nieuweMelding({ verzuimsoort: 'LUXE' })));
    const changed = r.ingest(...first.map((m) => r.gen.wijziging(m)));
    r.ingest(...changed.map((m) => r.gen.intrekking(m)));
    const violations: string[] = [];
    // `sending` is not sent: an earlier mail in flight (or failing in flight) must keep the later one from being claimed.
    const earlierUnsent = (nummer: string | null, volgnummer: number, moment: string) => {
      for (const row of r.store.outbox.list()) {
        if (row.meldingsnummer === nummer && row.volgnummer! < volgnummer && row.state !== 'sent' && row.state !== 'dead') violations.push(`${moment} ${nummer}/${volgnummer} while ${row.volgnummer} is ${row.state}`);
      }
    };
    const claim = r.store.outbox.claim.bind(r.store.outbox);
    r.store.outbox.claim = (row) => {
      earlierUnsent(row.meldingsnummer, row.volgnummer!, 'claimed');
      return claim(row);
    };
    const send = r.sender.send.bind(r.sender);
    let mostSending = 0;
    r.sender.send = async (mail) => {
      earlierUnsent(mail.headers['X-Verzuim-Meldingsnummer']!, Number(mail.headers['X-Verzuim-Volgnummer']), 'sent');
      mostSending = Math.max(mostSending, r.store.outbox.countByState().sending);
      return send(mail);
    };
    expect(await deliver(r, { batchSize: 3 })).toEqual({ sent: 15, deferred: 0, dead: 0 });
    expect(violations).toEqual([]);
    // More mails `sending` than one batch holds: the next batch was claimed while one was out; never more than two batches.
    expect(mostSending).toBeGreaterThan(3);
    expect(mostSending).toBeLessThanOrEqual(6);
    expect(r.store.outbox.countByState()).toMatchObject({ sent: 15, sending: 0 });
  });

  it('a store error while a batch is on the wire: that batch finishes and is recorded before the error goes up', async () => {
    const r = await rig({ maxConnections: 2 });
    r.ingest(...Array.from({ length: 4 }, () => r.gen.nieuweMelding({ verzuimsoort: 'LUXE' })));
    const claim = r.store.outbox.claim.bind(r.store.outbox);
    let claims = 0;
    r.store.outbox.claim = (row) => {
      if (++claims === 3) throw new Error('database or disk is full');
      return claim(row);
    };
    await expect(deliver(r, { batchSize: 2 })).rejects.toThrow('database or disk is full');
    // The first batch was on the wire while the second was claimed: both its mails arrived and are recorded as sent.
    expect(r.catcher.mails).toHaveLength(2);
    expect(r.store.outbox.countByState()).toMatchObject({ sent: 2, sending: 0, pending: 2 });
  });

  it('one connection: one mail at a time', async () => {
    const r = await rig({ maxConnections: 1 });
    r.ingest(...Array.from({ length: 4 }, () => r.gen.nieuweMelding({ verzuimsoort: 'LUXE' })));
    expect(await deliver(r, { batchSize: 3 })).toEqual({ sent: 4, deferred: 0, dead: 0 });
    expect(r.sender.maxInFlight).toBe(1);
  });

  it('a refusal in the middle of a batch costs no other mail: the rest is sent, the refused ones are recorded, none is left sending', async () => {
    const nummers: string[] = [];
    const r = await rig({
      maxConnections: 3,
      respond: ({ raw }) => {
        const text = raw.toString('latin1');
        if (nummers[2] && text.includes(`X-Verzuim-Meldingsnummer: ${nummers[2]}`)) return { code: 550, message: 'Mailbox unavailable' };
        if (nummers[4] && text.includes(`X-Verzuim-Meldingsnummer: ${nummers[4]}`)) return { code: 451, message: 'Try again later' };
        return undefined;
      },
    });
    const meldingen = r.ingest(...Array.from({ length: 7 }, () => r.gen.nieuweMelding({ verzuimsoort: 'LUXE' })));
    nummers.push(...meldingen.map((m) => m.meldingsnummer));

    const counts = await deliver(r, { batchSize: 7 });
    // The alert about the dead letter goes out in the next pass of the same call.
    expect(counts).toEqual({ sent: 6, deferred: 1, dead: 1 });
    const byNummer = new Map(r.store.outbox.list().filter((row) => row.kind !== 'alert').map((row) => [row.meldingsnummer, row]));
    expect(byNummer.get(nummers[2]!)!.state).toBe('dead');
    expect(byNummer.get(nummers[2]!)!.last_error).toContain('550');
    expect(byNummer.get(nummers[4]!)!.state).toBe('deferred');
    for (const i of [0, 1, 3, 5, 6]) expect(byNummer.get(nummers[i]!)!.state).toBe('sent');
    expect(r.store.outbox.countByState().sending).toBe(0);
    // Every outcome audited, each once.
    const events = [...r.store.audit.since(undefined)].map((a) => a.event);
    expect(events.filter((e) => e === 'mail.sent')).toHaveLength(6);
    expect(events.filter((e) => e === 'mail.dead')).toHaveLength(1);
    expect(events.filter((e) => e === 'mail.deferred')).toHaveLength(1);
  });

  it('a stop in the middle of a batch: the mails in hand are recorded, the rest is given back unsent, attempt not counted', async () => {
    const r = await rig({ maxConnections: 1 });
    r.ingest(...Array.from({ length: 5 }, () => r.gen.nieuweMelding({ verzuimsoort: 'LUXE' })));
    const stop = new AbortController();
    const send = r.sender.send.bind(r.sender);
    r.sender.send = async (mail) => {
      const answer = await send(mail);
      stop.abort(); // the relay is told to stop while the first mail is in hand
      return answer;
    };
    expect(await deliver(r, { batchSize: 5, signal: stop.signal })).toEqual({ sent: 1, deferred: 0, dead: 0 });
    const rows = r.store.outbox.list();
    expect(rows.filter((row) => row.state === 'sent')).toHaveLength(1);
    expect(rows.filter((row) => row.state === 'pending').map((row) => row.attempts)).toEqual([0, 0, 0, 0]);
    expect(r.catcher.mails).toHaveLength(1);

    // The next run sends the rest, once each.
    r.sender.send = send;
    expect(await deliver(r)).toEqual({ sent: 4, deferred: 0, dead: 0 });
    expect(new Set(r.catcher.mails.map((m) => /^message-id:\s*(\S+)/im.exec(m.raw.toString('latin1'))?.[1])).size).toBe(5);
  });

  it('a crash after the claim loses nothing: the claimed batch is resumed at start and sent with the same Message-IDs', async () => {
    const r = await rig({ maxConnections: 2 });
    r.ingest(...Array.from({ length: 3 }, () => r.gen.nieuweMelding({ verzuimsoort: 'LUXE' })));
    // The process died right after claiming: every mail of the batch is `sending`.
    for (const row of r.store.outbox.list()) expect(r.store.outbox.claim(row)).toBe(true);
    expect(r.store.outbox.resumeInterrupted()).toBe(3); // what start-up does
    expect(await deliver(r)).toEqual({ sent: 3, deferred: 0, dead: 0 });
    const sentIds = r.catcher.mails.map((m) => /^message-id:\s*(\S+)/im.exec(m.raw.toString('latin1'))?.[1]).sort();
    expect(sentIds).toEqual(r.store.outbox.list().map((row) => row.message_id).sort());
  });

  it('delivers the whole queue in one call: no cap on the mails per cycle', async () => {
    const r = await rig({ maxConnections: 3 });
    r.ingest(...Array.from({ length: 25 }, () => r.gen.nieuweMelding({ verzuimsoort: 'LUXE' })));
    expect(await deliver(r, { batchSize: 2 })).toEqual({ sent: 25, deferred: 0, dead: 0 });
  });
});
