/**
 * The expiry warning as the administrator meets it: a certificate with ten
 * days left makes `once` log, audit and mail one warning; the next run does
 * not repeat it.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestPki, type TestPkiFiles } from '../../tools/testpki/generate.js';
import { TEST_KEY_BITS } from '../../tools/testpki/profiles.js';
import { createWorld, type World } from '../support/world.js';

describe('certificate expiry warnings', () => {
  let pki: TestPkiFiles;
  let world: World;

  beforeAll(async () => {
    // Leaves are valid for 365 days from `now`: made 355 days ago, ten days remain.
    pki = await generateTestPki({
      dir: mkdtempSync(path.join(os.tmpdir(), 'vr-expiring-')),
      now: new Date(Date.now() - 355 * 86_400_000),
      variants: false,
      keyBits: TEST_KEY_BITS,
    });
    world = await createWorld({ pki });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('warns once, at the lowest threshold crossed, in the log, the audit log and by mail', async () => {
    const first = await world.once();
    expect(first.code, first.stderr).toBe(0);
    const warning = first.logs.find((l) => l.event === 'cert.expiring');
    expect(warning).toMatchObject({ level: 'warn', threshold: 14 });
    expect(warning?.daysLeft).toBeGreaterThanOrEqual(9);
    expect(warning?.daysLeft).toBeLessThanOrEqual(10);
    const mails = await world.parsedMails();
    const alert = mails.find((m) => String(m.subject).includes('Certificaat verloopt'));
    expect(alert?.text).toContain('cert bundle');

    const second = await world.once();
    expect(second.code).toBe(0);
    expect(second.logs.some((l) => l.event === 'cert.expiring')).toBe(false);
    expect(world.catcher.mails).toHaveLength(mails.length);

    const audit = await world.cli('audit', 'export');
    expect(audit.stdout.split('\n').filter((l) => l.includes('"cert.expiring"'))).toHaveLength(1);
  });
});
