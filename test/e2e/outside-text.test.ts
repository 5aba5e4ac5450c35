/**
 * Text from ROD (a REST problem's title and detail, a SOAP faultstring, a
 * business fouttekst) that carries a pupil's BSN and onderwijsnummer, an
 * e-mail address, a terminal escape and a bidi override: none of it may reach
 * the log, the audit log or `status`, while the codes an administrator looks
 * up stay.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

const BSN = '123456782';
const ONDERWIJSNUMMER = '112345678';
const EMAIL = 'jan.jansen@school.example.nl';
const HOSTILE = `Leerling ${BSN} (onderwijsnummer ${ONDERWIJSNUMMER}), vragen aan ${EMAIL} \x1b[31mROOD\x1b[0m \u202eteksT`;
const FORBIDDEN = [BSN, ONDERWIJSNUMMER, EMAIL, '\x1b', '\\u001b', '\u202e', '\\u202e'];

function expectClean(where: string, text: string): void {
  for (const bad of FORBIDDEN) expect(text.includes(bad), `${where} contains ${JSON.stringify(bad)}`).toBe(false);
}

describe('text from ROD is never passed on verbatim', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  async function cycleAndLook(w: World, code: string): Promise<void> {
    const cycle = await w.once();
    expect(cycle.logs.find((l) => l.event === 'cycle.fetch-failed')).toBeDefined();
    expectClean('the log', cycle.stdout + cycle.stderr);
    expect(cycle.stdout).toContain(code);
    const audit = await w.cli('audit', 'export');
    expectClean('audit export', audit.stdout);
    expect(audit.stdout).toContain(code);
    for (const args of [['status'], ['status', '--json']]) {
      const status = await w.cli(...args);
      expect(status.code).toBe(0);
      expectClean(`verzuim-relay ${args.join(' ')}`, status.stdout);
      expect(status.stdout).toContain(code);
    }
  }

  it('a REST problem title and detail', async () => {
    world = await createWorld({ pki, protocol: 'rest' });
    world.feed.failNext(500, { problem: { title: `Fout ${HOSTILE}`, detail: HOSTILE, code: 'ROD-500-INTERN' } });
    await cycleAndLook(world, 'ROD-500-INTERN');
  });

  it('a SOAP faultstring', async () => {
    world = await createWorld({ pki });
    world.simulator.edukoppeling!.faultNext('Client.EK0030', { faultstring: HOSTILE });
    await cycleAndLook(world, 'Client.EK0030');
  });

  it('a business fouttekst', async () => {
    world = await createWorld({ pki });
    world.simulator.edukoppeling!.refuseNext('V403', { fouttekst: HOSTILE });
    await cycleAndLook(world, 'V403');
  });
});
