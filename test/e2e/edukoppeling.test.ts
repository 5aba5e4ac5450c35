/**
 * Edukoppeling end to end: the built relay against the simulator speaking
 * SOAP as DUO's gateway does, which checks every request against the wire
 * rules. A forged or unverifiable response must never lead to a stored
 * melding or a mail: the cycle ends (exit 1), the cursor stays, and the next
 * honest answer is processed as if nothing happened.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FORGERIES } from '../../src/simulator/server.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');
const foreign = inject('pkiForeign');

describe('Edukoppeling: forged and faulty responses', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld({
      pki,
      edukoppeling: {
        // Within the anchors but with the municipality's OIN, not DUO's.
        otherOinSigner: { cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) },
        untrustedSigner: { cert: readFileSync(foreign.serverCert), key: readFileSync(foreign.serverKey) },
      },
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('every request the relay sends passes the simulator\'s checks of the wire rules', async () => {
    world.feed.append(world.generator.nieuweMelding());
    const result = await world.once();
    expect(result.code, result.stderr).toBe(0);
    expect(world.simulator.edukoppeling!.refusals).toEqual([]);
    // Nothing on stderr: a library's deprecation warning there (xml-crypto 6.3 warns for
    // findChildren and validateDigestValue) is noise in the administrator's logs.
    expect(result.stderr).not.toMatch(/Warning/);
  });

  for (const forgery of FORGERIES) {
    it(`refuses a response with ${forgery}: exit 1, nothing stored, nothing mailed, cursor unmoved`, async () => {
      const m = world.feed.append(world.generator.nieuweMelding());
      const mailsBefore = world.catcher.mails.length;
      const cursorBefore = JSON.parse((await world.cli('status', '--json')).stdout).cursor.volgnummer as number;

      world.simulator.edukoppeling!.forgeNext(forgery);
      const refused = await world.once();
      expect(refused.code, refused.stdout).toBe(1);
      expect(refused.logs.find((l) => l.event === 'cycle.fetch-failed')).toMatchObject({ kind: 'unverified' });
      expect(refused.logs.some((l) => l.event === 'mutation.stored' || l.event === 'page.stored')).toBe(false);
      expect(world.catcher.mails.length).toBe(mailsBefore);
      expect(JSON.parse((await world.cli('status', '--json')).stdout).cursor.volgnummer).toBe(cursorBefore);

      // The next honest answer carries the same melding, and it goes out.
      const honest = await world.once();
      expect(honest.code, honest.stdout).toBe(0);
      expect(honest.logs.some((l) => l.event === 'mail.sent' && l.meldingsnummer === m.meldingsnummer)).toBe(true);
    });
  }

  it('a Server fault is temporary: exit 1, and the next cycle reads on', async () => {
    world.feed.append(world.generator.nieuweMelding());
    world.simulator.edukoppeling!.faultNext('Server.DK0050');
    const failed = await world.once();
    expect(failed.code).toBe(1);
    expect(String(failed.logs.find((l) => l.event === 'cycle.fetch-failed')?.error)).toContain('DK0050');
    expect((await world.once()).code).toBe(0);
  });

  it('a business refusal (requestGoedgekeurd false) ends the cycle naming the foutcode', async () => {
    world.simulator.edukoppeling!.refuseNext('V400', { fouttekst: 'Verzoek ongeldig' });
    const refused = await world.once();
    expect(refused.code).toBe(1);
    expect(String(refused.logs.find((l) => l.event === 'cycle.fetch-failed')?.error)).toContain('V400');
  });
});
