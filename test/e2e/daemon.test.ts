/** The daemon as a real child process: its schedule, and its stop on SIGINT. */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseLogs, startDaemon } from '../support/relay-process.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

describe('verzuim-relay run', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('runs a cycle at start and then on the schedule, picks up new meldingen, and stops on SIGINT', async () => {
    // croner accepts a seconds field: a cycle every two seconds keeps the test short.
    world = await createWorld({ pki, config: { schedule: { cron: '*/2 * * * * *', timezone: 'Europe/Amsterdam' } } });
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'LUXE' }));
    const daemon = startDaemon(['run', '--config', world.configFile]);
    try {
      await daemon.waitForLog((l) => l.event === 'cycle.finished' && l.sent === 1);
      const later = world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
      await daemon.waitForLog((l) => l.event === 'mail.sent' && l.meldingsnummer === later.meldingsnummer, 20_000);
      daemon.child.kill('SIGINT');
      const exit = await daemon.exited;
      expect(exit.code).toBe(0);
      const logs = daemon.logs();
      expect(logs.filter((l) => l.event === 'cycle.started').length).toBeGreaterThanOrEqual(2);
      expect(logs.find((l) => l.event === 'relay.stopping')).toMatchObject({ signal: 'SIGINT' });
      expect(logs.at(-1)?.event).toBe('relay.stopped');
      // Never two cycles at once: every start is followed by its finish before the next start.
      const sequence = logs.filter((l) => l.event === 'cycle.started' || l.event === 'cycle.finished').map((l) => l.event);
      for (let i = 0; i < sequence.length; i++) expect(sequence[i]).toBe(i % 2 === 0 ? 'cycle.started' : 'cycle.finished');
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    }
  });

  it('stops at once on SIGTERM while waiting out a Retry-After from ROD', async () => {
    world = await createWorld({ pki });
    world.feed.failNext(503, { retryAfter: '45', times: 1 });
    const daemon = startDaemon(['run', '--config', world.configFile]);
    try {
      await daemon.waitForLog((l) => l.event === 'rod.throttled');
      const signalled = Date.now();
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exited;
      expect(exit.code).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(10_000);
      const logs = daemon.logs();
      expect(logs.some((l) => l.event === 'cycle.interrupted')).toBe(true);
      expect(logs.at(-1)?.event).toBe('relay.stopped');
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    }
  });

  it('stops cleanly on a SIGTERM that arrives during start-up, before the first cycle', async () => {
    world = await createWorld({ pki });
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'LUXE' }));
    const daemon = startDaemon(['run', '--config', world.configFile]);
    try {
      // relay.starting is logged once the stop handlers are in, before the
      // certificate, the database and the audit chain are looked at.
      await daemon.waitForLog((l) => l.event === 'relay.starting');
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exited;
      expect(exit, daemon.stderr()).toEqual({ code: 0, signal: null });
      const logs = daemon.logs();
      expect(logs.find((l) => l.event === 'relay.stopping')).toMatchObject({ signal: 'SIGTERM' });
      expect(logs.at(-1)?.event).toBe('relay.stopped');
      // A stop asked for before relay.started starts no cycle.
      const events = logs.map((l) => l.event);
      if (events.indexOf('relay.stopping') < events.indexOf('relay.started')) expect(events).not.toContain('cycle.started');
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    }
  });

  it('once: SIGTERM during a Retry-After wait ends the cycle at once with exit 1, and the next once loses nothing', async () => {
    world = await createWorld({ pki });
    const melding = world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'LUXE' }));
    world.feed.failNext(503, { retryAfter: '45', times: 1 });
    const once = startDaemon(['once', '--config', world.configFile]);
    try {
      await once.waitForLog((l) => l.event === 'rod.throttled');
      const signalled = Date.now();
      once.child.kill('SIGTERM');
      const exit = await once.exited;
      expect(exit, once.stderr()).toEqual({ code: 1, signal: null });
      expect(Date.now() - signalled).toBeLessThan(10_000);
      const logs = once.logs();
      expect(logs.find((l) => l.event === 'relay.stopping')).toMatchObject({ signal: 'SIGTERM' });
      expect(logs.some((l) => l.event === 'cycle.interrupted')).toBe(true);
    } finally {
      if (once.child.exitCode === null) once.child.kill('SIGKILL');
    }
    const again = await world.cli('once');
    expect(again.code, again.stderr).toBe(0);
    expect(parseLogs(again.stdout).some((l) => l.event === 'mail.sent' && l.meldingsnummer === melding.meldingsnummer)).toBe(true);
  });

  it('refuses to start with an unusable certificate: exit 2 and what to do', async () => {
    world = await createWorld({ pki, config: { tls: { cert: pki.broken.expired!.cert, key: pki.broken.expired!.key } } });
    const daemon = startDaemon(['run', '--config', world.configFile]);
    const exit = await daemon.exited;
    expect(exit.code).toBe(2);
    expect(daemon.stderr()).toMatch(/expired/i);
    expect(daemon.stderr()).toContain('cert check');
  });
});
