/** One writer per database: a second `run` or `once` is refused while a relay holds it, not after a crash. */
import os from 'node:os';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { killDaemon, startDaemon, type Daemon } from '../support/relay-process.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

describe('the single-writer lease', () => {
  let world: World | undefined;
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await killDaemon(daemon);
    daemon = undefined;
    await world?.close();
    world = undefined;
  });

  it('refuses once while run holds the database: exit 75 naming the pid and host; read-only commands still work; free again after a clean stop', async () => {
    world = await createWorld({ pki });
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'LUXE' }));
    daemon = startDaemon(['run', '--config', world.configFile]);
    await daemon.waitForLog((l) => l.event === 'cycle.finished');
    const mailsBefore = world.catcher.mails.length;
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));

    const second = await world.once();
    expect(second.code, second.stderr).toBe(75);
    const lines = second.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^verzuim-relay once: another verzuim-relay holds the database .*relay\.db: pid (\d+) on host (\S+) \("run" since/);
    expect(lines[0]).toContain(`pid ${daemon.child.pid!} on host ${os.hostname()}`);
    expect(second.logs.some((l) => l.event === 'cycle.started')).toBe(false);
    expect(world.catcher.mails.length).toBe(mailsBefore);

    const secondRun = await world.cli('run');
    expect(secondRun.code).toBe(75);
    expect(secondRun.stderr).toContain(`pid ${daemon.child.pid!}`);

    const status = await world.cli('status');
    expect(status.code, status.stderr).toBe(0);

    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    const after = await world.once();
    expect(after.code, after.stderr).toBe(0);
  });

  it('takes over the lease of a SIGKILLed run at once', async () => {
    world = await createWorld({ pki });
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'LUXE' }));
    daemon = startDaemon(['run', '--config', world.configFile]);
    await daemon.waitForLog((l) => l.event === 'cycle.finished');
    daemon.child.kill('SIGKILL');
    expect((await daemon.exited).signal).toBe('SIGKILL');

    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    const started = Date.now();
    const next = await world.once();
    expect(next.code, next.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(next.logs.some((l) => l.event === 'cycle.finished')).toBe(true);
  });
});
