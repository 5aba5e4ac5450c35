/**
 * Several gemeenten in one relay, in process: the `gemeenten` list and its
 * errors, the one shape the rest of the relay sees, and the migration of a
 * single-gemeente database that keeps everything and tags it.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { Store, auditHeadFile } from '../../src/store/store.js';
import { messageId } from '../../src/mail/message-id.js';
import { certBundleCommand, certCheckCommand } from '../../src/app/commands/cert.js';
import { readFileSync, readdirSync } from 'node:fs';
import { baseConfig, deepMerge, testConfig } from '../support/config.js';
import { gemeentenSection } from '../support/gemeenten.js';
import { melding } from '../support/fixtures.js';

const pki = inject('pkiG4');

function problemsOf(overrides: Record<string, unknown>): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-gemeenten-'));
  const text = stringify(deepMerge(baseConfig({ pki, dir }), overrides));
  try {
    parseConfig(text, path.join(dir, 'relay.yaml'), {});
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

const LISTED = { municipality: undefined, routing: undefined, gemeenten: gemeentenSection() };

describe('the gemeenten list', () => {
  it('is one shape for the relay: a single-gemeente file is a list of one, alerts falling back to the top level', () => {
    const single = testConfig({ pki });
    expect(single.gemeenten).toHaveLength(1);
    expect(single.gemeenten[0]).toMatchObject({ municipality: { code: '0344', name: 'Utrecht' }, alerts: {} });
    expect(single.listed).toBe(false);

    const listed = testConfig({ pki, overrides: LISTED });
    expect(listed.gemeenten.map((g) => g.municipality.code)).toEqual(['0344', '0356', '0321']);
    expect(listed.gemeenten[1]!.routing.instances.leerplicht!.email).toBe('leerplicht@nieuwegein.example');
    expect(listed.gemeenten[2]!.alerts.email).toBe('beheer@houten.example');
    expect(listed.listed).toBe(true);
  });

  it('names the list index of a repeated gemeentecode', () => {
    const gemeenten = gemeentenSection();
    (gemeenten[2] as { municipality: { code: string } }).municipality.code = '0344';
    expect(problemsOf({ ...LISTED, gemeenten })).toEqual(['gemeenten.2.municipality.code: gemeentecode 0344 is already listed at gemeenten.0: each gemeente once']);
  });

  it('names the list index of a missing gemeentecode', () => {
    const gemeenten = gemeentenSection();
    delete (gemeenten[1] as { municipality: { code?: string } }).municipality.code;
    expect(problemsOf({ ...LISTED, gemeenten })).toEqual(['gemeenten.1.municipality.code: expected the CBS gemeentecode as a quoted string of 4 digits']);
  });

  it("checks each gemeente's routing and suggests the nearest key inside the list", () => {
    const gemeenten = gemeentenSection();
    (gemeenten[1] as { routing: { unknwn?: string } }).routing.unknwn = 'zorg';
    expect(problemsOf({ ...LISTED, gemeenten })).toContain('gemeenten.1.routing.unknwn: unknown key (did you mean "unknown"?)');
  });

  it('refuses municipality or routing beside the list, and a file with neither', () => {
    expect(problemsOf({ gemeenten: gemeentenSection() })).toEqual([
      'municipality: not allowed together with gemeenten: give each gemeente its own municipality inside the gemeenten list',
      'routing: not allowed together with gemeenten: give each gemeente its own routing inside the gemeenten list',
    ]);
    expect(problemsOf({ municipality: undefined })).toEqual(['municipality: required']);
    expect(problemsOf({ ...LISTED, gemeenten: [] })).toEqual(['gemeenten: expected at least one gemeente']);
  });
});

describe('the Message-ID of a relay that serves several gemeenten', () => {
  const tuple = { meldingsnummer: '2026004711', volgnummer: 57, instance: 'leerplicht', kind: 'Nieuw' } as const;
  it('carries the gemeentecode, so a moved pupil with a coinciding volgnummer gets two ids; one gemeente keeps the old id', () => {
    expect(messageId(tuple, 'bureau.example')).toBe('<verzuim.2026004711.57.leerplicht.nieuw@bureau.example>');
    expect(messageId({ ...tuple, gemeentecode: '0344' }, 'bureau.example')).toBe('<verzuim.g0344.2026004711.57.leerplicht.nieuw@bureau.example>');
    expect(messageId({ ...tuple, gemeentecode: '0344' }, 'bureau.example')).not.toBe(messageId({ ...tuple, gemeentecode: '0356' }, 'bureau.example'));
  });
});

/** A database file as a single-gemeente relay left it: schema version 5, before several gemeenten. */
function schema5Database(): { file: string; v5: Database.Database } {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-migrate-')), 'relay.db');
  const v5 = new Database(file);
  v5.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  for (const m of MIGRATIONS.filter((x) => x.version <= 5)) {
    v5.exec(m.sql as string);
    v5.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-11-01T00:00:00Z');
  }
  return { file, v5 };
}

describe('migration 6 from a single-gemeente database', () => {
  it('keeps every row, tags it with the gemeente of the cursor, and leaves the audit chain intact', () => {
    const { file, v5 } = schema5Database();
    const at = '2026-11-02T08:00:00.000Z';
    const m = melding();
    v5.prepare(`INSERT INTO feed_cursor VALUES ('0363', 57, 1, ?)`).run(at);
    v5.prepare(`INSERT INTO mutations (id, meldingsnummer, volgnummer, received_at, outcome, policy_row, payload) VALUES (1, ?, 57, ?, 'processed', 3, ?)`).run(m.meldingsnummer, at, JSON.stringify(m));
    v5.prepare(`INSERT INTO meldingen (meldingsnummer, volgnummer, verzuimsoort, status, mutation_id, known_by, first_seen_at, updated_at) VALUES (?, 57, 'ZESTIEN_UUR', 'GEREGISTREERD', 1, '["leerplicht"]', ?, ?)`).run(m.meldingsnummer, at, at);
    v5.prepare(`INSERT INTO outbox (message_id, kind, meldingsnummer, volgnummer, mutation_id, instance, recipient, state, created_at, next_attempt_at) VALUES ('<a@x>', 'Nieuw', ?, 57, 1, 'leerplicht', 'l@x.example', 'pending', ?, ?)`).run(m.meldingsnummer, at, at);
    v5.prepare(`INSERT INTO outbox (message_id, kind, recipient, alert, state, created_at, next_attempt_at) VALUES ('<b@x>', 'alert', 'beheer@x.example', '{}', 'sent', ?, ?)`).run(at, at);
    v5.prepare(`INSERT INTO quarantine (received_at, reason, payload, gemeentecode) VALUES (?, 'bad', '{}', '0344')`).run(at);
    v5.prepare(`INSERT INTO status_reports VALUES (?, 'IN_BEHANDELING', 'pending', 0, ?, ?, NULL)`).run(m.meldingsnummer, at, at);
    const oldAudit = new AuditLog(v5, () => new Date(at));
    oldAudit.append({ event: 'cycle.started', outcome: 'info', cycleId: 1 });
    oldAudit.append({ event: 'mail.queued', outcome: 'ok', meldingsnummer: m.meldingsnummer, volgnummer: 57 });
    const auditBefore = v5.prepare('SELECT id, hash FROM audit_log ORDER BY id').all();
    v5.close();

    // The configuration names another first gemeente: the file's own cursor decides whose the rows are.
    const store = Store.open(file, '0344');
    try {
      const db = store.db;
      expect(db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.at(-1)!.version);
      expect(store.meldingen.get('0363', m.meldingsnummer)).toMatchObject({ gemeentecode: '0363', volgnummer: 57, knownBy: ['leerplicht'] });
      expect(store.meldingen.get('0344', m.meldingsnummer)).toBeUndefined();
      expect(db.prepare('SELECT gemeentecode FROM mutations').pluck().all()).toEqual(['0363']);
      expect(db.prepare('SELECT kind, gemeentecode FROM outbox ORDER BY id').all()).toEqual([
        { kind: 'Nieuw', gemeentecode: '0363' },
        { kind: 'alert', gemeentecode: null },
      ]);
      expect(db.prepare('SELECT gemeentecode, feed_gemeentecode FROM quarantine').get()).toEqual({ gemeentecode: '0344', feed_gemeentecode: '0363' });
      expect(store.statusReports.pending('0363').map((r) => r.meldingsnummer)).toEqual([m.meldingsnummer]);
      expect(store.cursorOf('0363').get()).toEqual({ volgnummer: 57, backlogDone: true });

      // The audit rows are not rewritten (their hashes stand); the export names their gemeente.
      expect(db.prepare('SELECT id, hash FROM audit_log ORDER BY id').all()).toEqual(auditBefore);
      expect(store.audit.verify()).toEqual({ rows: 2, brokenAt: null });
      expect([...store.audit.since(undefined)].map((r) => r.gemeentecode)).toEqual(['0363', '0363']);
      expect([...store.audit.since(undefined, '0363')]).toHaveLength(2);
      store.audit.append({ event: 'page.fetched', outcome: 'ok', gemeentecode: '0344' });
      expect([...store.audit.since(undefined, '0344')].map((r) => r.event)).toEqual(['page.fetched']);
      expect(store.audit.verify().brokenAt).toBeNull();
    } finally {
      store.close();
    }
    expect(auditHeadFile(file)).toContain('relay.db');
  });

  it('tags the rows with the configured gemeente when the file has no cursor yet', () => {
    const { file, v5 } = schema5Database();
    new AuditLog(v5).append({ event: 'audit.anchored', outcome: 'info' });
    v5.close();
    const store = Store.open(file, '0344');
    try {
      expect([...store.audit.since(undefined)].map((r) => r.gemeentecode)).toEqual(['0344']);
    } finally {
      store.close();
    }
  });
});

describe("a bureau's certificate", () => {
  it('cert check accepts a certificate whose OIN is none of the gemeenten\'s and says so; one gemeente still refuses it', async () => {
    const listed = testConfig({ pki, overrides: LISTED });
    const out: string[] = [];
    expect(await certCheckCommand(listed, { json: false, out: (t) => out.push(t) })).toBe(0);
    const text = out.join('');
    expect(text).toContain("The certificate carries OIN 00000001002220647000, which is none of the gemeenten's: the bureau's");
    expect(text).toContain('0356 Nieuwegein: From OIN 00000001002222222000');

    const json: string[] = [];
    await certCheckCommand(listed, { json: true, out: (t) => json.push(t) });
    expect(JSON.parse(json.join(''))).toMatchObject({ usable: true, actsFor: { certificateOin: '00000001002220647000', bureau: true } });

    const single = testConfig({ pki, overrides: { municipality: { code: '0344', name: 'Utrecht', oin: '00000001001111111000' } } });
    expect(await certCheckCommand(single, { json: false, out: () => undefined })).toBe(2);
  });

  it('cert bundle writes the registration for every gemeente the certificate serves', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-bundle-'));
    const listed = testConfig({ pki, overrides: LISTED });
    // Now, not a fixed date: the test PKI is generated when the suite starts and is valid from a day
    // before that, so a fixed date is refused as "not yet valid" once the clock passes it by a day.
    const now = new Date();
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now).replace(/-/g, '');
    const out: string[] = [];
    expect(await certBundleCommand(listed, { outDir: dir, now, out: (t) => out.push(t) })).toBe(0);
    expect(readdirSync(dir)).toEqual([`verzuim-relay-gemeenten-${day}.zip`]);
    const zip = readFileSync(path.join(dir, `verzuim-relay-gemeenten-${day}.zip`));
    // Entry names stand in the zip as they are; the CSV (deflated) is read back by the bundle's own test.
    for (const code of ['0344', '0356', '0321']) expect(zip.includes(`verzuim-relay-gemeenten-${day}-registratie-${code}.txt`)).toBe(true);
    expect(zip.includes(`verzuim-relay-gemeenten-${day}-registratie.csv`)).toBe(true);
    expect(out.join('')).toContain('for 0344 Utrecht (From OIN 00000001001111111000), 0356 Nieuwegein (From OIN 00000001002222222000), 0321 Houten (From OIN 00000001003333333000)');
  });
});
