/** `schedule.cron` is checked with the parser `run` schedules with: check-config refuses what run would die on. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { writeTestConfig } from '../support/config.js';
import { runCli } from '../support/relay-process.js';

const pki = inject('pkiG4');

function configWithCron(cron: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-cron-'));
  return writeTestConfig({ pki, dir, overrides: { schedule: { cron, timezone: 'Europe/Amsterdam' } } });
}

describe('schedule.cron', () => {
  it.each([['every ten minutes'], ['61 * * * *'], ['* * *']])('check-config refuses "%s": exit 78 naming schedule.cron and what is expected', async (cron) => {
    const result = await runCli(['check-config', '--config', configWithCron(cron)]);
    expect(result.code, result.stderr).toBe(78);
    expect(result.stderr).toMatch(/^ {2}schedule\.cron: expected a cron expression of five fields .*such as "\*\/10 \* \* \* \*"/m);
    expect(result.stderr).toContain(`got "${cron}"`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('run refuses it the same way, before it opens anything', async () => {
    const result = await runCli(['run', '--config', configWithCron('every ten minutes')], { timeoutMs: 20_000 });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/schedule\.cron: expected a cron expression/);
  });

  it.each([['*/10 * * * *'], ['*/2 * * * * *'], ['0 7 * * 1-5']])('check-config accepts "%s"', async (cron) => {
    const result = await runCli(['check-config', '--config', configWithCron(cron)]);
    expect(result.stderr).not.toMatch(/schedule\.cron/);
    expect(result.code, result.stderr).toBe(0);
  });
});
