/**
 * A renewal as the administrator does it, following what the relay says: the expiry warning names the
 * next step (request), `cert request` writes the key and CSR and says what comes next, the TSP (the
 * test PKI) issues on the CSR, the certificate goes under tls.next, `cert check` reports both,
 * `cert bundle --next` makes DUO's zip, and the next run switches to it by itself.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestPki, type TestPkiFiles } from '../../tools/testpki/generate.js';
import { issueOnCsr } from '../../tools/testpki/issue-on-csr.js';
import { TEST_KEY_BITS } from '../../tools/testpki/profiles.js';
import { writeTestConfig } from '../support/config.js';
import { createWorld, type World } from '../support/world.js';

describe('renewing the certificate by following what the relay says', () => {
  let pki: TestPkiFiles;
  let world: World;

  beforeAll(async () => {
    // Made 355 days ago: ten days left.
    pki = await generateTestPki({ dir: mkdtempSync(path.join(os.tmpdir(), 'vr-renewal-')), now: new Date(Date.now() - 355 * 86_400_000), variants: false, keyBits: TEST_KEY_BITS });
    world = await createWorld({ pki });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('warning, request, issue, tls.next, check, bundle, switch', async () => {
    const first = await world.once();
    expect(first.code, first.stderr).toBe(0);
    const warning = first.logs.find((l) => l.event === 'cert.expiring');
    expect(String(warning?.msg)).toMatch(/next step: request the new certificate \(`verzuim-relay cert request --out DIR`/);
    const alert = (await world.parsedMails()).find((m) => String(m.subject).includes('Certificaat verloopt'));
    expect(alert?.text).toContain('Volgende stap: een nieuw certificaat aanvragen');
    expect(alert?.text).toContain('verzuim-relay cert request --out MAP');

    const dir = path.join(world.dir, 'renewal');
    const requested = await world.cli('cert', 'request', '--out', dir, '--cn', 'verzuim-relay.utrecht.nl', '--kvk', '30280353');
    expect(requested.code, requested.stderr).toBe(0);
    expect(statSync(path.join(dir, 'client.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'client.csr'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    expect(requested.stdout).toContain('O=Gemeente Utrecht, organizationIdentifier=NTRNL-30280353, serialNumber=00000001002220647000 (OIN), CN=verzuim-relay.utrecht.nl');
    expect(requested.stdout).toMatch(/Send .*client\.csr to your TSP/);
    expect(requested.stdout).toContain('cert bundle --next');

    // Never over an existing key: it may belong to a certificate still on its way.
    const again = await world.cli('cert', 'request', '--out', dir, '--cn', 'verzuim-relay.utrecht.nl', '--kvk', '30280353');
    expect(again.code).toBe(64);
    expect(again.stderr).toContain('exists');

    // The TSP delivers; the administrator configures it as tls.next.
    writeFileSync(path.join(dir, 'client.crt'), await issueOnCsr({ pki, csrPem: readFileSync(path.join(dir, 'client.csr'), 'utf8') }));
    writeTestConfig({
      pki,
      rodUrl: world.simulator.url,
      smtpPort: world.catcher.port,
      dir: world.dir,
      overrides: { tls: { next: { cert: path.join(dir, 'client.crt'), key: path.join(dir, 'client.key') } } },
    });

    const check = await world.cli('cert', 'check');
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toContain('Current certificate (tls)');
    expect(check.stdout).toContain('Next certificate (tls.next)');
    expect(check.stdout).toMatch(/Same OIN as tls: +yes/);

    const bundle = await world.cli('cert', 'bundle', '--next', '--out', path.join(world.dir, 'duo'));
    expect(bundle.code, bundle.stdout).toBe(0);
    expect(bundle.stdout).toContain('switches to it by itself');
    const zip = bundle.stdout.match(/Wrote (\S+\.zip)/)?.[1];
    expect(zip && existsSync(zip)).toBe(true);

    // DUO registered it (this simulator knows every certificate that chains): the next run switches.
    const m = world.feed.append(world.generator.nieuweMelding());
    const run = await world.once();
    expect(run.code, run.stdout).toBe(0);
    expect(run.logs.find((l) => l.event === 'cert.switched')).toMatchObject({ reason: 'next-accepted' });
    expect(run.logs.some((l) => l.event === 'mail.sent' && l.meldingsnummer === m.meldingsnummer)).toBe(true);
    const status = await world.cli('status');
    expect(status.stdout).toMatch(/certificate: +tls\.next \(switched .*next-accepted\)/);
  });
});
