/** The daemon as a real child process: its schedule, and its stop on SIGINT. */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startDaemon } from '../support/relay-process.js';
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

  it('refuses to start with an unusable certificate: exit 2 and what to do', async () => {
    world = await createWorld({ pki, config: { tls: { cert: pki.broken.expired!.cert, key: pki.broken.expired!.key } } });
    const daemon = startDaemon(['run', '--config', world.configFile]);
    const exit = await daemon.exited;
    expect(exit.code).toBe(2);
    expect(daemon.stderr()).toMatch(/expired/i);
    expect(daemon.stderr()).toContain('cert check');
  });
});
