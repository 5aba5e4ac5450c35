/**
 * What ROD says back: a 403 for an OIN DUO has not registered, and the
 * optional status report (rod.reportStatus: IN_BEHANDELING) whose own feed
 * mutation must not cause mail.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

describe('ROD feedback', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('explains a 403 for an unregistered OIN and exits 1 (REST stand-in)', async () => {
    world = await createWorld({ pki, protocol: 'rest', registeredOin: '00000001009999999000' });
    world.feed.append(world.generator.nieuweMelding());
    const result = await world.once();
    expect(result.code).toBe(1);
    const error = String(result.logs.find((l) => l.event === 'cycle.fetch-failed')?.error);
    expect(error).toContain('403');
    expect(error).toContain('ROD-403-OIN');
    expect(error).toContain('cert bundle');
  });

  it('explains a refusal for an OIN not allowed to read the gemeente (Edukoppeling V403) and exits 1', async () => {
    world = await createWorld({ pki, registeredOin: '00000001009999999000' });
    world.feed.append(world.generator.nieuweMelding());
    const result = await world.once();
    expect(result.code).toBe(1);
    const error = String(result.logs.find((l) => l.event === 'cycle.fetch-failed')?.error);
    expect(error).toContain('V403');
    expect(error).toContain('ask DUO to authorise this OIN');
    expect(world.catcher.mails).toHaveLength(0);
  });

  it('explains a SOAP fault EK0030 (certificate not authorised for this OIN) and exits 1 with nothing stored', async () => {
    world = await createWorld({ pki });
    world.feed.append(world.generator.nieuweMelding());
    world.simulator.edukoppeling!.faultNext('Client.EK0030');
    const result = await world.once();
    expect(result.code).toBe(1);
    const error = String(result.logs.find((l) => l.event === 'cycle.fetch-failed')?.error);
    expect(error).toContain('EK0030');
    expect(result.logs.some((l) => l.event === 'mutation.stored' || l.event === 'page.stored')).toBe(false);
  });

  it('reports IN_BEHANDELING after the Nieuw left, and sends no mail for the mutation that causes', async () => {
    world = await createWorld({ pki, config: { rod: { reportStatus: 'IN_BEHANDELING' } } });

    const m = world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'LUXE' }));
    const first = await world.once();
    expect(first.code, first.stderr).toBe(0);
    expect(world.catcher.mails).toHaveLength(1);
    expect(world.feed.current(m.meldingsnummer)?.status).toBe('IN_BEHANDELING');
    expect(first.logs.some((l) => l.event === 'rod.status-reported' && l.meldingsnummer === m.meldingsnummer)).toBe(true);

    const second = await world.once();
    expect(second.code).toBe(0);
    expect(second.logs.find((l) => l.event === 'cycle.finished')).toMatchObject({ processed: 1, queued: 0 });
    expect(world.catcher.mails).toHaveLength(1);
  });
});
