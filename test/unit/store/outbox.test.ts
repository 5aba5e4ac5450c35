/**
 * The outbox as a state machine, on a real SQLite file: each transition
 * applies only from the states it leaves, says whether it applied, and writes
 * its audit row in the same transaction — or nothing at all.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAIL_STATES, TRANSITIONS, type MailState, type TransitionName } from '../../../src/store/mail-states.js';
import type { OutboxRow } from '../../../src/store/outbox.js';
import { Store } from '../../../src/store/store.js';

const NOW = new Date('2026-11-28T09:00:00Z');
let stores: Store[] = [];
afterEach(() => {
  for (const store of stores) store.close();
  stores = [];
});

function openStore(): Store {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-outbox-'));
  const store = Store.open(path.join(dir, 'relay.db'), '0344', () => NOW);
  stores.push(store);
  return store;
}

/** A mail put straight into the given state, as if earlier transitions had led there. */
function mailIn(store: Store, state: MailState): OutboxRow {
  const id = store.outbox.enqueue({
    messageId: `<verzuim.2026000001.${Math.floor(Math.random() * 1e9) + 1}.leerplicht.nieuw@utrecht.example>`,
    kind: 'Nieuw',
    meldingsnummer: '2026000001',
    volgnummer: 1,
    instance: 'leerplicht',
    recipient: 'leerplicht@utrecht.example',
    createdAt: NOW,
  })!;
  store.db.prepare('UPDATE outbox SET state = ? WHERE id = ?').run(state, id);
  return store.outbox.get(id)!;
}

const apply: Record<TransitionName, (store: Store, row: OutboxRow) => boolean> = {
  claim: (store, row) => store.outbox.claim(row),
  complete: (store, row) => store.outbox.complete(row, { response: '250 2.0.0 OK', at: NOW, cycleId: null }),
  defer: (store, row) => store.outbox.defer(row, { error: '451 try later', nextAttempt: new Date(NOW.getTime() + 60_000), attempts: 1, cycleId: null }),
  bury: (store, row) => store.outbox.bury(row, { error: '550 no such user', attempts: 1, cycleId: null }),
  requeue: (store, row) => store.outbox.requeue([row.id], NOW).includes(row.id),
  resume: (store) => store.outbox.resumeInterrupted() === 1,
  release: (store, row) => store.outbox.release(row),
};

const audited: Record<TransitionName, string | null> = {
  claim: null, // the attempt's outcome is audited, not the attempt
  complete: 'mail.sent',
  defer: 'mail.deferred',
  bury: 'mail.dead',
  requeue: 'mail.requeued',
  resume: 'mail.resumed',
  release: null, // undoes a claim, which is not audited either
};

describe('outbox transitions', () => {
  for (const [name, transition] of Object.entries(TRANSITIONS) as [TransitionName, (typeof TRANSITIONS)[TransitionName]][]) {
    for (const state of MAIL_STATES) {
      const allowed = (transition.from as readonly MailState[]).includes(state);
      it(`${name} from ${state}: ${allowed ? `applies, now ${transition.to}` : 'refused, nothing changes'}`, () => {
        const store = openStore();
        const row = mailIn(store, state);
        const auditRowsBefore = store.audit.verify().rows;
        expect(apply[name](store, row)).toBe(allowed);
        const after = store.outbox.get(row.id)!;
        expect(after.state).toBe(allowed ? transition.to : state);
        const newEvents = [...store.audit.since(undefined)].slice(auditRowsBefore).map((a) => a.event);
        expect(newEvents).toEqual(allowed && audited[name] ? [audited[name]] : []);
      });
    }
  }

  it('claim counts the attempt; requeue starts the count and the age afresh', () => {
    const store = openStore();
    const row = mailIn(store, 'pending');
    store.outbox.claim(row);
    expect(store.outbox.get(row.id)!.attempts).toBe(1);
    store.outbox.bury(store.outbox.get(row.id)!, { error: '550', cycleId: null });
    const later = new Date(NOW.getTime() + 86_400_000);
    store.outbox.requeue('all-dead', later);
    expect(store.outbox.get(row.id)).toMatchObject({ state: 'pending', attempts: 0, created_at: later.toISOString(), next_attempt_at: later.toISOString() });
  });

  it('a second claim of the same listed mail does not apply: two passes never send it twice', () => {
    const store = openStore();
    const row = mailIn(store, 'pending');
    expect(store.outbox.claim(row)).toBe(true);
    expect(store.outbox.claim(row)).toBe(false);
  });
});

describe('the list of mail states', () => {
  it('is what the table accepts, and the counts have every state', () => {
    const store = openStore();
    const row = mailIn(store, 'pending');
    for (const state of MAIL_STATES) store.db.prepare('UPDATE outbox SET state = ? WHERE id = ?').run(state, row.id);
    expect(() => store.db.prepare(`UPDATE outbox SET state = 'bounced' WHERE id = ?`).run(row.id)).toThrow(/CHECK constraint failed/);
    expect(Object.keys(store.outbox.countByState())).toEqual([...MAIL_STATES]);
  });
});
