/**
 * The administrator's commands against a relay that has run: dead letters
 * found and requeued, quarantine reprocessed, the audit chain checked (and
 * caught when tampered with), the container's healthcheck.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { INSTANCES } from '../support/fixtures.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

// Each test has a world of its own (simulator, mail catcher, database), so that each runs alone too.
describe('administrator commands', () => {
  let world: World;
  /** While set, the mail server refuses mail for the handhaving instance permanently. */
  let refuse: boolean;

  beforeEach(async () => {
    refuse = true;
    world = await createWorld({
      pki,
      smtp: { respond: ({ envelopeTo }) => (refuse && envelopeTo.includes(INSTANCES.handhaving.email) ? { code: 550, message: '5.1.1 Mailbox unavailable' } : undefined) },
    });
  });
  afterEach(async () => {
    await world?.close();
  });

  /**
   * A LUXE melding whose mail the server refuses, so it goes dead; the server then accepts again, the
   * administrator requeues the dead mail and the next cycle sends it.
   */
  async function deadLetterRequeued() {
    const m = world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'LUXE' }));
    const first = await world.once();
    const dead = await world.cli('outbox', 'list', '--dead');
    const id = /^(\d+)\s+dead/m.exec(dead.stdout)?.[1];
    refuse = false;
    const retry = await world.cli('outbox', 'retry', '--all-dead');
    const second = await world.once();
    return { m, first, dead, id, retry, second };
  }

  it('lists a dead letter, and delivers it after outbox retry --all-dead', async () => {
    const { m, first, dead, id, retry, second } = await deadLetterRequeued();
    expect(first.code).toBe(0); // a dead letter does not make the cycle fail
    expect(first.logs.find((l) => l.event === 'mail.dead')).toMatchObject({ level: 'error', meldingsnummer: m.meldingsnummer, instance: 'handhaving' });

    expect(dead.code).toBe(0);
    expect(dead.stdout).toContain(m.meldingsnummer);
    expect(dead.stdout).toContain('550');
    expect(id).toBeDefined();

    expect(retry.code).toBe(0);
    expect(retry.stdout).toContain(`requeued 1 mail(s): ${id}`);
    expect(second.logs.find((l) => l.event === 'mail.sent' && l.meldingsnummer === m.meldingsnummer)).toBeDefined();
    expect((await world.cli('outbox', 'list', '--dead')).stdout).toContain('no dead mail');
  });

  it('refuses outbox retry with something that is not an id', async () => {
    const result = await world.cli('outbox', 'retry', 'alles');
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('"alles" is not a mail id');
  });

  it('keeps a record that fails validation in quarantine until it can be processed', async () => {
    world.feed.appendRaw({ ...world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }), instelling: { naam: 'Zonder BRIN' }, volgnummer: undefined });
    await world.once();
    const list = await world.cli('quarantine', 'list');
    expect(list.stdout).toMatch(/instelling\.instellingscode/);
    const retry = await world.cli('quarantine', 'retry');
    expect(retry.code).toBe(0);
    expect(retry.stdout).toContain('reprocessed 0 record(s); 1 still fail validation');
  });

  it('audit verify says intact, and exit 3 once a row was altered', async () => {
    // A history with every kind of event: a page fetched, a mail dead, requeued and sent.
    const { second } = await deadLetterRequeued();
    expect(second.code, second.stderr).toBe(0);

    const intact = await world.cli('audit', 'verify');
    expect(intact.code).toBe(0);
    const exported = await world.cli('audit', 'export', '--since', '2000-01-01');
    const rows = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(rows.map((r) => r.event)).toEqual(expect.arrayContaining(['cycle.started', 'page.fetched', 'mutation.stored', 'mail.queued', 'mail.sent', 'mail.dead', 'mail.requeued', 'cycle.finished']));

    // The table refuses the edit; someone with the file drops the guard first, and is still caught.
    const db = new Database(path.join(world.dir, 'relay.db'));
    const edit = db.prepare(`UPDATE audit_log SET outcome = 'ok' WHERE event = 'mail.dead'`);
    expect(() => edit.run()).toThrow(/append-only/);
    db.exec('DROP TRIGGER audit_log_no_update');
    edit.run();
    db.close();
    const broken = await world.cli('audit', 'verify');
    expect(broken.code).toBe(3);
    expect(broken.stdout).toMatch(/BROKEN: row \d+ was altered/);
  });

  it('healthcheck: healthy after a successful cycle', async () => {
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    const cycle = await world.once();
    expect(cycle.code, cycle.stderr).toBe(0);
    const result = await world.cli('healthcheck');
    expect(result.stdout.trim()).toBe('healthy');
    expect(result.code).toBe(0);
  });
});
