/**
 * Settings that are valid but weak are named at every start: a secret
 * written in the file itself (instead of ${VAR} or *_FILE) and SMTP that may
 * go without TLS. The warning names the key, never the value.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { readConfig } from '../../src/config/load.js';
import { REPO } from '../support/relay-process.js';

const EXAMPLE = readFileSync(path.join(REPO, 'config/verzuim-relay.example.yaml'), 'utf8');
const ENV = { ROD_KEY_PASSPHRASE: 'geheim', SMTP_PASSWORD: 'ook-geheim', ROD_PFX_PASSPHRASE: 'pfx-geheim' };

function variant(changes: [string[], unknown][]): string {
  const doc = parseDocument(EXAMPLE);
  for (const [at, value] of changes) {
    if (value === undefined) doc.deleteIn(at);
    else doc.setIn(at, value);
  }
  return doc.toString();
}

const warningsOf = (text: string, env: NodeJS.ProcessEnv = ENV) => readConfig(text, '/etc/verzuim-relay/test.yaml', env).warnings;

describe('configuration warnings', () => {
  it('has none for the example: its secrets come from the environment', () => {
    expect(warningsOf(EXAMPLE)).toEqual([]);
  });

  it('names a literal smtp.password and tls.keyPassphrase by key path, never by value', () => {
    const warnings = warningsOf(variant([[['smtp', 'password'], 'Zomer2026!'], [['tls', 'keyPassphrase'], 'sleutelwoord']]));
    expect(warnings.map((w) => w.key)).toEqual(['smtp.password', 'tls.keyPassphrase']);
    expect(warnings[0]!.message).toMatch(/literal secret.*\$\{SMTP_PASSWORD\}.*SMTP_PASSWORD_FILE/);
    expect(JSON.stringify(warnings)).not.toMatch(/Zomer2026|sleutelwoord/);
  });

  it('names a literal tls.pfxPassphrase', () => {
    const text = variant([[['tls', 'cert'], undefined], [['tls', 'key'], undefined], [['tls', 'keyPassphrase'], undefined], [['tls', 'pfx'], 'client.p12'], [['tls', 'pfxPassphrase'], 'p12-geheim']]);
    expect(warningsOf(text).map((w) => w.key)).toEqual(['tls.pfxPassphrase']);
  });

  it('accepts a secret from ${VAR} or its *_FILE, but not one that is partly written in the file', () => {
    expect(warningsOf(variant([[['smtp', 'password'], '${SMTP_PASSWORD}']]))).toEqual([]);
    expect(warningsOf(EXAMPLE, { ROD_KEY_PASSPHRASE: 'geheim', SMTP_PASSWORD_FILE: path.join(REPO, 'package.json') })).toEqual([]);
    expect(warningsOf(variant([[['smtp', 'password'], 'vast-${SMTP_PASSWORD}']])).map((w) => w.key)).toEqual(['smtp.password']);
  });

  it('warns about plain-text SMTP', () => {
    const plaintext = warningsOf(variant([[['smtp', 'requireTLS'], false], [['smtp', 'allowPlaintext'], true]]));
    expect(plaintext).toEqual([{ key: 'smtp.allowPlaintext', message: expect.stringMatching(/unencrypted/) as unknown as string }]);
    const idle = warningsOf(variant([[['smtp', 'allowPlaintext'], true]]));
    expect(idle).toEqual([{ key: 'smtp.allowPlaintext', message: expect.stringMatching(/no effect/) as unknown as string }]);
  });
});
