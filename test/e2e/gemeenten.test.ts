/**
 * A regional leerplicht bureau: three gemeenten, one certificate (the
 * bureau's OIN), one relay, over REST and Edukoppeling. Each gemeente gets
 * only its own mail at its own four instances; a gemeente ROD refuses does
 * not stop the others; a crash in the middle of the second gemeente's pages
 * loses nothing and never sends the same mail under two Message-IDs.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseLogs } from '../support/relay-process.js';
import { PROTOCOLS } from '../support/config.js';
import { BUREAU_GEMEENTEN, createBureauWorld, recipientDomain, type BureauWorld } from '../support/gemeenten.js';
import { startDaemon, type Daemon } from '../support/relay-process.js';
import type { Verzuimmelding } from '../../src/domain/melding.js';

const pki = inject('pkiG4');
const g1 = inject('pkiG1');

const domainOf = new Map(BUREAU_GEMEENTEN.map((g) => [g.code, g.domain]));
const nameOf = new Map(BUREAU_GEMEENTEN.map((g) => [g.code, g.name]));

describe.each(PROTOCOLS)('one relay for a regional bureau (%s)', (protocol) => {
  let world: BureauWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it("mails each gemeente's meldingen to its own four instances only, with its name; a pupil who moved is two meldingen", async () => {
    world = await createBureauWorld({ pki, protocol });
    const appended: Verzuimmelding[] = [];
    for (const g of BUREAU_GEMEENTEN) {
      const gen = world.generators.get(g.code)!;
      for (const verzuimsoort of ['ZESTIEN_UUR', 'LANGDURIG_RELATIEF', 'LUXE', 'DOORSTROOMPUNT_18PLUS']) {
        appended.push(world.feed.append(gen.nieuweMelding({ verzuimsoort })));
      }
    }
    // The pupil moved from Utrecht to Nieuwegein: one meldingsnummer in both feeds, with the same
    // volgnummer (counted per gemeente, so they can coincide).
    const moved = world.generators.get('0344')!.nieuweMelding({ verzuimsoort: 'ZESTIEN_UUR' });
    const volgnummer = world.feed.lastVolgnummer + 10;
    world.feed.append({ ...moved, volgnummer });
    world.feed.append({ ...moved, gemeentecode: '0356', volgnummer });

    const result = await world.once();
    expect(result.code, result.stderr).toBe(0);

    const mails = await world.parsedMails();
    // 4 per gemeente, and the moved pupil once in each of the two gemeenten.
    expect(mails).toHaveLength(14);
    const gemeenteOfMelding = new Map(appended.map((m) => [m.meldingsnummer, m.gemeentecode]));
    const instancesReached = new Map<string, Set<string>>();
    for (const mail of mails) {
      const nr = String(mail.headers.get('x-verzuim-meldingsnummer'));
      const domain = recipientDomain(mail);
      if (nr === moved.meldingsnummer) continue;
      const code = gemeenteOfMelding.get(nr)!;
      expect(domain, `melding ${nr} of ${code} went to ${domain}`).toBe(domainOf.get(code));
      // The text wraps its lines: the gemeente's name may follow on the next one.
      expect(mail.text).toMatch(new RegExp(`gemeente\\s+${nameOf.get(code)}`));
      for (const other of BUREAU_GEMEENTEN.filter((g) => g.code !== code)) expect(mail.text).not.toMatch(new RegExp(`gemeente\\s+${other.name}`));
      expect(mail.messageId).toContain(`g${code}.${nr}`);
      if (!instancesReached.has(code)) instancesReached.set(code, new Set());
      instancesReached.get(code)!.add(String(mail.headers.get('x-verzuim-instantie')));
    }
    for (const g of BUREAU_GEMEENTEN) expect([...(instancesReached.get(g.code) ?? [])].sort()).toEqual(['handhaving', 'leerplicht', 'rmc', 'zorg']);

    const movedMails = mails.filter((m) => String(m.headers.get('x-verzuim-meldingsnummer')) === moved.meldingsnummer);
    expect(movedMails.map(recipientDomain).sort()).toEqual(['nieuwegein.example', 'utrecht.example']);
    expect(new Set(movedMails.map((m) => m.messageId)).size).toBe(2);

    const status = await world.cli('status', '--json');
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as { gemeenten: { gemeentecode: string; cursor: { volgnummer: number }; lastRead: { outcome: string }; mail: { sent: number } }[] };
    expect(report.gemeenten.map((g) => g.gemeentecode)).toEqual(['0344', '0356', '0321']);
    for (const g of report.gemeenten) {
      expect(g.lastRead.outcome).toBe('ok');
      expect(g.cursor.volgnummer).toBeGreaterThan(0);
    }
    expect(report.gemeenten.map((g) => g.mail.sent)).toEqual([5, 5, 4]);

    const text = await world.cli('status');
    expect(text.stdout).toContain('gemeenten 0344, 0356, 0321');
    expect(text.stdout).toMatch(/0321 +Houten +\S+ +ok/);
    expect((await world.cli('check-config')).code).toBe(0);

    const one = await world.cli('status', '--gemeente', '0356');
    expect(one.stdout).toContain('gemeente 0356 (Nieuwegein)');
    expect(one.stdout).toMatch(/mail: +pending 0, sending 0, sent 5/);

    const outbox = await world.cli('outbox', 'list', '--gemeente', '0321', '--json');
    const rows = outbox.stdout.trim().split('\n').map((l) => JSON.parse(l) as { gemeentecode: string; recipient: string });
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row).toMatchObject({ gemeentecode: '0321', recipient: expect.stringMatching(/@houten\.example$/) });

    const audit = await world.cli('audit', 'export', '--gemeente', '0356');
    const events = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; gemeentecode: string });
    expect(events.every((e) => e.gemeentecode === '0356')).toBe(true);
    expect(events.filter((e) => e.event === 'mail.sent')).toHaveLength(5);
    expect((await world.cli('audit', 'verify')).code).toBe(0);

    const unknown = await world.cli('status', '--gemeente', '0999');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('0344 (Utrecht), 0356 (Nieuwegein), 0321 (Houten)');
  });

  it('reports a gemeente ROD refuses (log, audit, alert to its address) and goes on with the others; once exits 1', async () => {
    world = await createBureauWorld({ pki, protocol, refused: ['0356'] });
    for (const g of BUREAU_GEMEENTEN) world.feed.append(world.generators.get(g.code)!.nieuweMelding({ verzuimsoort: 'LUXE' }));

    const result = await world.once();
    expect(result.code).toBe(1);
    const failure = result.logs.find((l) => l.event === 'cycle.fetch-failed');
    expect(failure).toMatchObject({ gemeentecode: '0356', refused: true, level: 'error' });
    expect(String(failure?.error)).toMatch(protocol === 'rest' ? /403/ : /EK0030/);

    const mails = await world.parsedMails();
    const handhaving = mails.filter((m) => m.headers.get('x-verzuim-instantie') === 'handhaving').map(recipientDomain).sort();
    expect(handhaving).toEqual(['houten.example', 'utrecht.example']);
    const alerts = mails.filter((m) => m.headers.get('x-verzuim-alert'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.to).toMatchObject({ value: [{ address: 'beheer@nieuwegein.example' }] });
    expect(alerts[0]!.subject).toContain('0356');

    const audit = await world.cli('audit', 'export', '--gemeente', '0356');
    const events = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; detail: { refused?: boolean } });
    expect(events.find((e) => e.event === 'cycle.fetch-failed')?.detail.refused).toBe(true);

    const status = JSON.parse((await world.cli('status', '--json')).stdout) as { gemeenten: { gemeentecode: string; lastRead: { outcome: string } }[] };
    expect(status.gemeenten.map((g) => [g.gemeentecode, g.lastRead.outcome])).toEqual([
      ['0344', 'ok'],
      ['0356', 'refused'],
      ['0321', 'ok'],
    ]);
  });

  it('loses nothing and sends nothing under a second Message-ID after a crash in the middle of the second gemeente', async () => {
    world = await createBureauWorld({ pki, protocol, pageSize: 3 });
    const expected = new Set<string>();
    for (const g of BUREAU_GEMEENTEN) {
      const gen = world.generators.get(g.code)!;
      for (let i = 0; i < 12; i++) expected.add(`${g.code}/${world.feed.append(gen.nieuweMelding()).meldingsnummer}`);
    }

    // Killed (no clean-up) after two pages of Nieuwegein, the second gemeente, were stored.
    const daemon: Daemon = startDaemon(['once', '--config', world.configFile]);
    const deadline = Date.now() + 60_000;
    while (daemon.logs().filter((l) => l.event === 'page.stored' && l.gemeentecode === '0356').length < 2) {
      if (Date.now() > deadline) throw new Error(`never saw two pages of 0356:\n${daemon.stdout().slice(-2000)}`);
      if (daemon.child.exitCode !== null) throw new Error('the relay ended before the second gemeente was half read');
      await new Promise((r) => setTimeout(r, 5));
    }
    daemon.child.kill('SIGKILL');
    await daemon.exited;

    const final = await world.once();
    expect(final.code, final.stderr).toBe(0);

    const mails = await world.parsedMails();
    const byMessageId = new Map<string, string>();
    for (const mail of mails) {
      const key = `${/\.g(\d{4})\./.exec(mail.messageId!)?.[1]}/${String(mail.headers.get('x-verzuim-meldingsnummer'))}`;
      const previous = byMessageId.get(mail.messageId!);
      if (previous) expect(previous).toBe(key);
      byMessageId.set(mail.messageId!, key);
      expect(recipientDomain(mail)).toBe(domainOf.get(key.slice(0, 4)));
    }
    // One Message-ID per mail owed: a resend is recognisable, nothing was queued twice under another id.
    expect(byMessageId.size).toBe(expected.size);
    expect(new Set(byMessageId.values())).toEqual(expected);
    expect((await world.cli('audit', 'verify')).code).toBe(0);
  });
});

const fingerprint = (certFile: string) => new X509Certificate(readFileSync(certFile)).fingerprint256;

describe.each(PROTOCOLS)("a regional bureau renews its one certificate (%s)", (protocol) => {
  let world: BureauWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  /** G1 in tls (registered with DUO), G4 in tls.next (not yet), both roots trusted during the move; the same (bureau's) OIN in both. */
  function renewingBureau(schedule?: { cron: string; timezone: string }): Promise<BureauWorld> {
    const anchors = path.join(mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-bureau-roots-')), 'roots.pem');
    writeFileSync(anchors, readFileSync(g1.trustAnchors, 'utf8') + readFileSync(pki.trustAnchors, 'utf8'));
    return createBureauWorld({
      pki,
      protocol,
      clientCa: anchors,
      certificates: { registered: [fingerprint(g1.clientCert)] },
      tls: { cert: g1.clientCert, key: g1.clientKey, trustAnchors: anchors, allowUnknownRoots: true, next: { cert: pki.clientCert, key: pki.clientKey } },
      ...(schedule ? { schedule } : {}),
    });
  }

  it('switches every gemeente to tls.next once, in the cycle in which DUO swaps the registration; no gemeente misses a melding', async () => {
    world = await renewingBureau();
    const w = world;
    const append = () => BUREAU_GEMEENTEN.map((g) => w.feed.append(w.generators.get(g.code)!.nieuweMelding({ verzuimsoort: 'LUXE' })));

    const firstBatch = append();
    const before = await w.once();
    expect(before.code, before.stdout + before.stderr).toBe(0);
    const beforeLogs = parseLogs(before.stdout);
    expect(beforeLogs.find((l) => l.event === 'cert.probed')).toMatchObject({ result: 'unregistered' });
    expect(beforeLogs.some((l) => l.event === 'cert.switched')).toBe(false);

    // DUO registers the G4 certificate and drops the G1 one at once.
    w.simulator.certificates!.register(fingerprint(pki.clientCert));
    w.simulator.certificates!.unregister(fingerprint(g1.clientCert));
    const secondBatch = append();
    const during = await w.once();
    expect(during.code, during.stdout + during.stderr).toBe(0);
    const logs = parseLogs(during.stdout);
    // One switch for the one certificate (the probe at start finds tls.next accepted); every gemeente is read with it.
    expect(logs.filter((l) => l.event === 'cert.switched')).toEqual([expect.objectContaining({ reason: 'next-accepted' })]);
    expect(logs.some((l) => l.event === 'cycle.fetch-failed')).toBe(false);
    expect(logs.find((l) => l.event === 'cycle.finished')).toMatchObject({ outcome: 'ok' });

    const third = append();
    const after = await w.once();
    expect(after.code, after.stdout).toBe(0);
    expect(parseLogs(after.stdout).find((l) => l.event === 'cert.loaded')).toMatchObject({ inUse: 'tls.next' });

    const mails = await w.parsedMails();
    for (const m of [...firstBatch, ...secondBatch, ...third]) {
      const mailed = mails.filter((mail) => String(mail.headers.get('x-verzuim-meldingsnummer')) === m.meldingsnummer);
      expect(mailed, `melding ${m.meldingsnummer} of ${m.gemeentecode}`).toHaveLength(1);
      expect(recipientDomain(mailed[0]!)).toBe(domainOf.get(m.gemeentecode));
    }
    const exported = await w.cli('audit', 'export');
    expect(exported.stdout.split('\n').filter((l) => l.includes('"cert.switched"'))).toHaveLength(1);
  });

  it('in a running daemon: the first gemeente refused as unregistered tries tls.next at once, and the other gemeenten are read with it in the same cycle', async () => {
    world = await renewingBureau({ cron: '*/2 * * * * *', timezone: 'Europe/Amsterdam' });
    const w = world;
    const daemon = startDaemon(['run', '--config', w.configFile]);
    try {
      await daemon.waitForLog((l) => l.event === 'cycle.finished');
      // Between two cycles, with no probe due until tomorrow: DUO swaps the registration.
      w.simulator.certificates!.register(fingerprint(pki.clientCert));
      w.simulator.certificates!.unregister(fingerprint(g1.clientCert));
      const meldingen = BUREAU_GEMEENTEN.map((g) => w.feed.append(w.generators.get(g.code)!.nieuweMelding({ verzuimsoort: 'LUXE' })));
      await daemon.waitForLog((l) => l.event === 'cert.switched', 20_000);
      for (const m of meldingen) await daemon.waitForLog((l) => l.event === 'mail.sent' && l.meldingsnummer === m.meldingsnummer, 20_000);
      daemon.child.kill('SIGTERM');
      expect((await daemon.exited).code).toBe(0);
      const logs = daemon.logs();
      expect(logs.filter((l) => l.event === 'cert.switched')).toEqual([expect.objectContaining({ reason: 'current-refused' })]);
      expect(logs.some((l) => l.event === 'cycle.fetch-failed')).toBe(false);
      expect(logs.filter((l) => l.event === 'cycle.finished').every((l) => l.outcome === 'ok')).toBe(true);
      const mails = await w.parsedMails();
      for (const m of meldingen) {
        const mailed = mails.filter((mail) => String(mail.headers.get('x-verzuim-meldingsnummer')) === m.meldingsnummer);
        expect(mailed, `melding ${m.meldingsnummer} of ${m.gemeentecode}`).toHaveLength(1);
        expect(recipientDomain(mailed[0]!)).toBe(domainOf.get(m.gemeentecode));
      }
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    }
  });
});
