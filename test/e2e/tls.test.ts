/**
 * Mutual TLS refusals, each as the administrator sees it: a ROD whose
 * certificate does not chain to the configured anchors, a ROD whose name does
 * not match, and a client without a certificate.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Agent, request } from 'undici';
import { startSimulator } from '../../src/simulator/server.js';
import { runCli } from '../support/relay-process.js';
import { createWorld, type World } from '../support/world.js';

const g4 = inject('pkiG4');
const g1 = inject('pkiG1');
const foreign = inject('pkiForeign');
const wrongName = inject('pkiWrongName');

describe('TLS towards ROD', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('refuses a ROD whose certificate does not chain to tls.trustAnchors', async () => {
    world = await createWorld({ pki: g4, serverPki: foreign });
    world.feed.append(world.generator.nieuweMelding());
    const result = await world.once();
    expect(result.code).toBe(1);
    const failure = result.logs.find((l) => l.event === 'cycle.fetch-failed');
    expect(String(failure?.error)).toContain('does not chain to the trust anchors in tls.trustAnchors');
    expect(world.catcher.mails).toHaveLength(0);
  });

  it('refuses a ROD whose certificate is for another host name', async () => {
    world = await createWorld({ pki: wrongName });
    world.feed.append(world.generator.nieuweMelding());
    const result = await world.once();
    expect(result.code).toBe(1);
    const failure = result.logs.find((l) => l.event === 'cycle.fetch-failed');
    expect(String(failure?.error)).toMatch(/not valid for the host name "localhost"/);
  });

  it('works end to end with a G1-style (PKCS#1 v1.5) chain as well', async () => {
    world = await createWorld({ pki: g1 });
    world.feed.append(world.generator.nieuweMelding());
    const result = await world.once();
    expect(result.code, result.stderr + result.stdout.slice(-2000)).toBe(0);
    expect(world.catcher.mails).toHaveLength(1);
    expect(result.logs.find((l) => l.event === 'cert.loaded')).toMatchObject({ hierarchy: expect.any(String) });
  });

  it('works with a PKCS#12 file whose passphrase comes from a secret file', async () => {
    world = await createWorld({
      pki: g4,
      config: { tls: { cert: undefined, key: undefined, pfx: g4.clientPfx, pfxPassphrase: '${ROD_PFX_PASSPHRASE}' } },
    });
    const secret = path.join(world.dir, 'pfx-passphrase');
    writeFileSync(secret, `${g4.passphrase}\n`);
    world.feed.append(world.generator.nieuweMelding());
    const withoutSecret = await world.once();
    expect(withoutSecret.code).toBe(78);
    expect(withoutSecret.stderr).toContain('tls.pfxPassphrase: environment variable ROD_PFX_PASSPHRASE is not set (nor ROD_PFX_PASSPHRASE_FILE)');
    const result = await runCli(['once', '--config', world.configFile], { env: { ROD_PFX_PASSPHRASE_FILE: secret } });
    expect(result.code, result.stderr).toBe(0);
    expect(world.catcher.mails).toHaveLength(1);
  });

  it('ends the cycle with exit 1 when ROD is in maintenance longer than a cycle may wait', async () => {
    world = await createWorld({ pki: g4 });
    world.feed.failNext(503, { retryAfter: '3600', times: 5 });
    const result = await world.once();
    expect(result.code).toBe(1);
    expect(String(result.logs.find((l) => l.event === 'cycle.fetch-failed')?.error)).toMatch(/503.*retry after 3600 s/);
  });

  it('the simulator refuses a client without a certificate', async () => {
    const sim = await startSimulator({
      cert: readFileSync(g4.serverCert),
      key: readFileSync(g4.serverKey),
      clientCa: readFileSync(g4.trustAnchors),
    });
    const agent = new Agent({ connect: { ca: readFileSync(g4.trustAnchors, 'utf8') } });
    try {
      await expect(request(`${sim.url}/gemeenten/0344/verzuimmeldingen?vanaf=0&limit=1`, { dispatcher: agent }).then((r) => r.body.text())).rejects.toThrow();
      // With the certificate, the same request is answered.
      const withCert = new Agent({ connect: { ca: readFileSync(g4.trustAnchors, 'utf8'), cert: readFileSync(g4.clientCert, 'utf8'), key: readFileSync(g4.clientKey, 'utf8') } });
      const ok = await request(`${sim.url}/gemeenten/0344/verzuimmeldingen?vanaf=0&limit=1`, { dispatcher: withCert });
      expect(ok.statusCode).toBe(200);
      await ok.body.text();
      await withCert.close();
    } finally {
      await agent.close();
      await sim.close();
    }
  });
});
