/** LOG_LEVEL over log.level, and the version on relay.started, with the built CLI as an administrator runs it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { effectiveLogLevel, LogLevelError } from '../../src/observability/log.js';
import { REPO, runCli, startDaemon } from '../support/relay-process.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');
const packageVersion = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

describe('LOG_LEVEL', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('is read over log.level: unset or empty keeps the configured level, any case of a level name wins, anything else is refused', () => {
    expect(effectiveLogLevel('info', undefined)).toBe('info');
    expect(effectiveLogLevel('warn', '')).toBe('warn');
    expect(effectiveLogLevel('info', 'DEBUG')).toBe('debug');
    expect(() => effectiveLogLevel('info', 'verbose')).toThrow(LogLevelError);
  });

  it('LOG_LEVEL=debug shows the debug lines that log.level: info hides', async () => {
    world = await createWorld({ pki, config: { log: { level: 'info' } } });
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'LUXE' }));
    const quiet = await runCli(['once', '--config', world.configFile], { env: { LOG_LEVEL: '' } });
    expect(quiet.code).toBe(0);
    expect(quiet.logs.some((l) => l.level === 'debug')).toBe(false);

    const loud = await runCli(['once', '--config', world.configFile], { env: { LOG_LEVEL: 'debug' } });
    expect(loud.code).toBe(0);
    expect(loud.logs.find((l) => l.event === 'rod.response')).toMatchObject({ level: 'debug', status: 200 });
  });

  it('an invalid LOG_LEVEL stops the relay with exit 78, naming LOG_LEVEL and the allowed levels', async () => {
    world = await createWorld({ pki });
    const result = await runCli(['once', '--config', world.configFile], { env: { LOG_LEVEL: 'verbose' } });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('LOG_LEVEL: "verbose" is not a log level; expected one of fatal, error, warn, info, debug, trace');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.logs).toEqual([]);
  });
});

describe('relay.started', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('carries the version from package.json', async () => {
    world = await createWorld({ pki });
    const daemon = startDaemon(['run', '--config', world.configFile]);
    try {
      const started = await daemon.waitForLog((l) => l.event === 'relay.started');
      expect(started).toMatchObject({ level: 'info', version: packageVersion });
      // The daemon takes its signals once the first cycle is under way.
      await daemon.waitForLog((l) => l.event === 'cycle.finished');
      daemon.child.kill('SIGTERM');
      expect((await daemon.exited).code).toBe(0);
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    }
  });
});
