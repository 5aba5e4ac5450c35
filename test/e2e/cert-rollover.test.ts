/**
 * Renewing the certificate without a gap: a G1-style certificate in tls, a G4-style one in tls.next
 * (both roots among the anchors, the same OIN), and the simulated DUO registering the new one while
 * the relay runs. Over REST and Edukoppeling: no cycle fails, no melding is missed, the switch happens
 * once, is audited and mailed, and holds for later runs.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { PROTOCOLS } from '../support/config.js';
import { killDaemon, startDaemon, type Daemon } from '../support/relay-process.js';
import { createWorld, type World } from '../support/world.js';

const g1 = inject('pkiG1');
const g4 = inject('pkiG4');

const fingerprint = (certFile: string) => new X509Certificate(readFileSync(certFile)).fingerprint256;

/** The relay's and the simulator's anchors: both roots during the move. */
function bothRoots(dir: string): string {
  const file = path.join(dir, 'roots-g1-g4.pem');
  writeFileSync(file, readFileSync(g1.trustAnchors, 'utf8') + readFileSync(g4.trustAnchors, 'utf8'));
  return file;
}

async function auditEvents(world: World, event: string): Promise<Record<string, unknown>[]> {
  const exported = await world.cli('audit', 'export');
  return exported.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.event === event);
}

describe.each(PROTOCOLS)('certificate rollover G1 → G4 over %s', (protocol) => {
  let world: World | undefined;
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await killDaemon(daemon);
    daemon = undefined;
    await world?.close();
    world = undefined;
  });

  it('probes tls.next at start (not yet registered: nothing changes), then switches in a running daemon when DUO swaps the registration', async () => {
    const anchors = bothRoots(mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-rollover-')));
    world = await createWorld({
      pki: g4,
      clientCa: anchors,
      protocol,
      certificates: { registered: [fingerprint(g1.clientCert)] },
      config: {
        schedule: { cron: '*/2 * * * * *', timezone: 'Europe/Amsterdam' },
        tls: { cert: g1.clientCert, key: g1.clientKey, trustAnchors: anchors, allowUnknownRoots: true, next: { cert: g4.clientCert, key: g4.clientKey } },
      },
    });
    const w = world;
    const first = w.feed.append(w.generator.nieuweMelding());

    // once: the probe is refused as unregistered, the cycle is not.
    const before = await w.once();
    expect(before.code, before.stdout + before.stderr).toBe(0);
    expect(before.logs.find((l) => l.event === 'cert.loaded')).toMatchObject({ inUse: 'tls', next: true, hierarchy: 'TRIAL' });
    expect(before.logs.find((l) => l.event === 'cert.probed')).toMatchObject({ result: 'unregistered', trigger: 'probe' });
    expect(before.logs.some((l) => l.event === 'cert.switched')).toBe(false);
    expect(before.logs.some((l) => l.event === 'mail.sent' && l.meldingsnummer === first.meldingsnummer)).toBe(true);
    const statusBefore = JSON.parse((await w.cli('status', '--json')).stdout);
    expect(statusBefore.certificate).toMatchObject({ inUse: 'tls', next: { usable: true, lastProbe: { result: 'unregistered' } } });

    // The daemon runs a cycle every two seconds; DUO registers the G4 certificate and drops the G1 one at once.
    daemon = startDaemon(['run', '--config', w.configFile]);
    await daemon.waitForLog((l) => l.event === 'cycle.finished');
    w.simulator.certificates!.register(fingerprint(g4.clientCert));
    w.simulator.certificates!.unregister(fingerprint(g1.clientCert));
    const during = [w.feed.append(w.generator.nieuweMelding()), w.feed.append(w.generator.nieuweMelding())];
    await daemon.waitForLog((l) => l.event === 'cert.switched', 20_000);
    for (const m of during) await daemon.waitForLog((l) => l.event === 'mail.sent' && l.meldingsnummer === m.meldingsnummer, 20_000);
    const after = w.feed.append(w.generator.nieuweMelding());
    await daemon.waitForLog((l) => l.event === 'mail.sent' && l.meldingsnummer === after.meldingsnummer, 20_000);
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);

    const logs = daemon.logs();
    expect(logs.filter((l) => l.event === 'cert.switched')).toEqual([expect.objectContaining({ reason: 'current-refused', to: fingerprint(g4.clientCert).replaceAll(':', '').toLowerCase() })]);
    // No cycle failed: the refusal of the old certificate was answered with the new one in the same cycle.
    expect(logs.filter((l) => l.event === 'cycle.finished').every((l) => l.outcome === 'ok')).toBe(true);
    expect(logs.some((l) => l.event === 'cycle.fetch-failed')).toBe(false);

    // The switch holds for once, without a probe; status says which certificate is in use.
    const later = w.feed.append(w.generator.nieuweMelding());
    const onceAfter = await w.once();
    expect(onceAfter.code, onceAfter.stdout).toBe(0);
    expect(onceAfter.logs.find((l) => l.event === 'cert.loaded')).toMatchObject({ inUse: 'tls.next' });
    expect(onceAfter.logs.some((l) => l.event === 'cert.probed' || l.event === 'cert.switched')).toBe(false);
    expect(onceAfter.logs.some((l) => l.event === 'mail.sent' && l.meldingsnummer === later.meldingsnummer)).toBe(true);
    const status = JSON.parse((await w.cli('status', '--json')).stdout);
    expect(status.certificate).toMatchObject({ inUse: 'tls.next', switchReason: 'current-refused' });

    // Audited once, mailed once to the alert address; every melding mailed.
    expect(await auditEvents(w, 'cert.switched')).toHaveLength(1);
    const mails = await w.parsedMails();
    expect(mails.filter((m) => /Overgestapt op het nieuwe certificaat/.test(m.subject ?? ''))).toHaveLength(1);
    for (const m of [first, ...during, after, later]) {
      expect(mails.some((mail) => (mail.text ?? '').includes(m.meldingsnummer)), `melding ${m.meldingsnummer} mailed`).toBe(true);
    }

    // The tidy-up: tls.next promoted to tls, at any time; recognised by its fingerprint.
    writeFileSync(
      w.configFile,
      readFileSync(w.configFile, 'utf8').replace(g1.clientCert, g4.clientCert).replace(g1.clientKey, g4.clientKey).replace(/\n {2}next:\n(?: {4}.*\n)+/, '\n'),
    );
    const promoted = await w.once();
    expect(promoted.code, promoted.stdout + promoted.stderr).toBe(0);
    expect(promoted.logs.find((l) => l.event === 'cert.loaded')).toMatchObject({ inUse: 'tls', next: false });
    expect(promoted.logs.some((l) => l.event === 'cert.switched')).toBe(false);
  });

  it('switches at the daily probe when DUO registers tls.next and keeps the old one too', async () => {
    const anchors = bothRoots(mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-rollover-')));
    world = await createWorld({
      pki: g4,
      clientCa: anchors,
      protocol,
      certificates: { registered: [fingerprint(g1.clientCert)], later: { fingerprints: [fingerprint(g4.clientCert)], afterSeconds: 0 } },
      config: { tls: { cert: g1.clientCert, key: g1.clientKey, trustAnchors: anchors, allowUnknownRoots: true, next: { cert: g4.clientCert, key: g4.clientKey } } },
    });
    const m = world.feed.append(world.generator.nieuweMelding());
    const run = await world.once();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.logs.find((l) => l.event === 'cert.probed')).toMatchObject({ result: 'accepted' });
    expect(run.logs.find((l) => l.event === 'cert.switched')).toMatchObject({ reason: 'next-accepted' });
    // The switch came before the cycle: every request of the cycle used the new certificate.
    const events = run.logs.map((l) => l.event);
    expect(events.indexOf('cert.switched')).toBeLessThan(events.indexOf('cycle.started'));
    expect(run.logs.some((l) => l.event === 'mail.sent' && l.meldingsnummer === m.meldingsnummer)).toBe(true);
    expect(await auditEvents(world, 'cert.switched')).toHaveLength(1);
  });

  it('tls.next expired: nothing changes, and a clear warning (unregistered: see the first test)', async () => {
    world = await createWorld({
      pki: g4,
      protocol,
      certificates: { registered: [fingerprint(g4.clientCert)] },
      config: { tls: { next: { cert: g4.broken.expired!.cert, key: g4.broken.expired!.key } } },
    });
    const m = world.feed.append(world.generator.nieuweMelding());
    const expired = await world.once();
    expect(expired.code, expired.stdout + expired.stderr).toBe(0);
    expect(expired.logs.find((l) => l.event === 'cert.next-unusable')).toMatchObject({ code: 'CERT_EXPIRED' });
    expect(expired.logs.some((l) => l.event === 'cert.probed' || l.event === 'cert.switched')).toBe(false);
    expect(expired.logs.some((l) => l.event === 'mail.sent' && l.meldingsnummer === m.meldingsnummer)).toBe(true);
    expect(JSON.parse((await world.cli('status', '--json')).stdout).certificate).toMatchObject({ inUse: 'tls', next: { usable: false } });
  });

  it('the current certificate expired first: the relay switches to tls.next rather than stop', async () => {
    world = await createWorld({
      pki: g4,
      protocol,
      certificates: { registered: [fingerprint(g4.clientCert)] },
      config: { tls: { cert: g4.broken.expired!.cert, key: g4.broken.expired!.key, next: { cert: g4.clientCert, key: g4.clientKey } } },
    });
    const m = world.feed.append(world.generator.nieuweMelding());
    const run = await world.once();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.logs.find((l) => l.event === 'cert.switched')).toMatchObject({ reason: 'current-expired' });
    expect(run.logs.find((l) => l.event === 'cert.loaded')).toMatchObject({ inUse: 'tls.next' });
    expect(run.logs.some((l) => l.event === 'mail.sent' && l.meldingsnummer === m.meldingsnummer)).toBe(true);
    const health = await world.cli('healthcheck', '--json');
    expect(JSON.parse(health.stdout).problems.some((p: string) => p.startsWith('certificate'))).toBe(false);
  });
});
