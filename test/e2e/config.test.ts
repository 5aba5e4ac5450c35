import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { REPO, runCli } from '../support/relay-process.js';

const EXAMPLE = readFileSync(path.join(REPO, 'config/verzuim-relay.example.yaml'), 'utf8');
const ENV = { ROD_KEY_PASSPHRASE: 'geheim', SMTP_PASSWORD: 'ook-geheim' };

/** The example with one change applied to its YAML tree (path → value; undefined deletes). */
function variant(changes: [string[], unknown][]): string {
  const doc = parseDocument(EXAMPLE);
  for (const [at, value] of changes) {
    if (value === undefined) doc.deleteIn(at);
    else doc.setIn(at, value);
  }
  return doc.toString();
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = ENV): string[] {
  try {
    parseConfig(text, '/etc/verzuim-relay/test.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('accepts the example, with its defaults and substituted secrets', () => {
    const config = parseConfig(EXAMPLE, '/etc/verzuim-relay/example.yaml', ENV);
    expect(config.gemeenten[0]!.municipality).toEqual({ code: '0344', name: 'Utrecht', oin: '00000001002220647000' });
    expect(config.tls.keyPassphrase).toBe('geheim');
    expect(config.smtp.password).toBe('ook-geheim');
    expect(Object.keys(config.gemeenten[0]!.routing.instances)).toHaveLength(4);
    expect(config.delivery).toEqual({ maxAgeHours: 72, firstRetrySeconds: 60, maxRetryDelaySeconds: 3600 });
    expect(config.storage.path).toBe('/data/verzuim-relay.db');
  });

  it('fills in the defaults of the spec for a minimal file and resolves relative paths next to the file', () => {
    const minimal = variant([
      [['rod', 'pageSize'], undefined],
      [['schedule'], undefined],
      [['delivery'], undefined],
      [['mail'], undefined],
      [['tls', 'keyPassphrase'], undefined],
      [['smtp', 'password'], undefined],
      [['smtp', 'user'], undefined],
      [['storage', 'path'], 'data/relay.db'],
    ]);
    const config = parseConfig(minimal, '/srv/relay/config.yaml', {});
    expect(config.rod.pageSize).toBe(100);
    expect(config.schedule).toEqual({ cron: '*/10 * * * *', timezone: 'Europe/Amsterdam' });
    expect(config.mail.content).toBe('full');
    expect(config.storage.path).toBe('/srv/relay/data/relay.db');
  });

  it('reads a secret from NAME_FILE when NAME is unset', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vr-secret-'));
    const file = path.join(dir, 'smtp-password');
    writeFileSync(file, 'uit-een-bestand\n');
    const config = parseConfig(EXAMPLE, '/x.yaml', { ROD_KEY_PASSPHRASE: 'a', SMTP_PASSWORD_FILE: file });
    expect(config.smtp.password).toBe('uit-een-bestand');
  });

  const cases: [string, string, NodeJS.ProcessEnv | undefined, RegExp][] = [
    ['an unset variable', EXAMPLE, { SMTP_PASSWORD: 'x' }, /^tls\.keyPassphrase: environment variable ROD_KEY_PASSPHRASE is not set \(nor ROD_KEY_PASSPHRASE_FILE\)$/],
    ['three instances', variant([[['routing', 'instances', 'zorg'], undefined], [['routing', 'verzuimsoorten', 'LANGDURIG_RELATIEF'], 'leerplicht']]), undefined, /^routing\.instances: expected exactly 4 instances.*got 3$/],
    ['five instances', variant([[['routing', 'instances', 'extra'], { name: 'Extra', email: 'extra@x.example' }]]), undefined, /^routing\.instances: expected exactly 4 instances.*got 5$/],
    ['a known verzuimsoort not assigned', variant([[['routing', 'verzuimsoorten', 'LUXE'], undefined]]), undefined, /^routing\.verzuimsoorten\.LUXE: missing/],
    ['a verzuimsoort assigned to no instance', variant([[['routing', 'verzuimsoorten', 'LUXE'], 'politie']]), undefined, /^routing\.verzuimsoorten\.LUXE: "politie" is not one of the instances/],
    ['the unknown instance not an instance', variant([[['routing', 'unknown'], 'niemand']]), undefined, /^routing\.unknown: "niemand" is not one of the instances/],
    ['the unknown instance missing', variant([[['routing', 'unknown'], undefined]]), undefined, /^routing\.unknown: required$/],
    ['an invalid e-mail address', variant([[['routing', 'instances', 'rmc', 'email'], 'doorstroompunt-at-utrecht']]), undefined, /^routing\.instances\.rmc\.email: expected an e-mail address$/],
    ['an invalid alert address', variant([[['alerts', 'email'], 'beheer']]), undefined, /^alerts\.email: expected an e-mail address$/],
    ['a gemeentecode as a number', EXAMPLE.replace('code: "0344"', 'code: 0344'), undefined, /^municipality\.code: .*got the number 344: put it in quotes, e\.g\. "0344"/],
    ['an OIN as a number', EXAMPLE.replace('oin: "00000001002220647000"', 'oin: 00000001002220647000'), undefined, /^municipality\.oin: .*put it in quotes/],
    ['an OIN of the wrong length', variant([[['municipality', 'oin'], '1234']]), undefined, /^municipality\.oin: expected the OIN: exactly 20 digits$/],
    ['a typo in a key', EXAMPLE.replace('pageSize: 100', 'pagesize: 100'), undefined, /^rod\.pagesize: unknown key \(did you mean "pageSize"\?\)$/],
    ['an unknown top-level key', `${EXAMPLE}\nretries: 3\n`, undefined, /^retries: unknown key/],
    ['plain http for ROD', variant([[['rod', 'url'], 'http://rod.example/v1']]), undefined, /^rod\.url: expected an https:\/\/ URL$/],
    ['a page size over 500', variant([[['rod', 'pageSize'], 501]]), undefined, /^rod\.pageSize: /],
    ['neither cert nor pfx', variant([[['tls', 'cert'], undefined], [['tls', 'key'], undefined]]), undefined, /^tls\.cert: required \(or give pfx/],
    ['both cert and pfx', variant([[['tls', 'pfx'], '/certs/client.p12']]), undefined, /^tls\.pfx: give either pfx or cert \+ key, not both$/],
    ['no trust anchors', variant([[['tls', 'trustAnchors'], undefined]]), undefined, /^tls\.trustAnchors: required$/],
    ['plain-text SMTP without allowPlaintext', variant([[['smtp', 'requireTLS'], false]]), undefined, /^smtp\.requireTLS: false is only allowed together with allowPlaintext: true/],
    ['an unknown time zone', variant([[['schedule', 'timezone'], 'Europe/Utrecht']]), undefined, /^schedule\.timezone: expected an IANA time zone/],
    ['a wrong backlog mode', variant([[['sync', 'backlog'], 'skip']]), undefined, /^sync\.backlog: /],
    ['missing municipality', variant([[['municipality'], undefined]]), undefined, /^municipality: required$/],
    ['a sender without a domain', variant([[['smtp', 'from'], 'Verzuimrelay']]), undefined, /^smtp\.from: expected a sender address/],
    ['broken YAML', 'municipality: [\n', undefined, /^line \d+, column \d+: /],
  ];

  it.each(cases)('refuses %s with the key path', (_name, text, env, expected) => {
    const problems = problemsOf(text, env ?? ENV);
    expect(problems.some((p) => expected.test(p)), `problems: ${JSON.stringify(problems)}`).toBe(true);
  });

  it('reports every problem, one line each', () => {
    const text = variant([
      [['routing', 'unknown'], 'niemand'],
      [['routing', 'instances', 'rmc', 'email'], 'geen-adres'],
      [['rod', 'pageSize'], 0],
    ]);
    expect(problemsOf(text)).toHaveLength(3);
  });

  it('check-config exits 78 and names the key path on standard error, without a stack trace', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vr-config-'));
    const file = path.join(dir, 'relay.yaml');
    writeFileSync(file, variant([[['routing', 'instances', 'zorg'], undefined], [['routing', 'verzuimsoorten', 'LANGDURIG_RELATIEF'], 'leerplicht']]));
    const result = await runCli(['check-config', '--config', file], { env: ENV });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('routing.instances: expected exactly 4 instances');
    expect(result.stderr).not.toMatch(/\bat .+\.js:\d+/);
  });

  it('check-config names files that cannot be read', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vr-config-'));
    const file = path.join(dir, 'relay.yaml');
    writeFileSync(file, variant([[['storage', 'path'], path.join(dir, 'relay.db')]]));
    const result = await runCli(['check-config', '--config', file], { env: ENV });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('tls.cert: cannot read /certs/client.crt: no such file or folder');
    expect(result.stderr).toContain('tls.trustAnchors: cannot read');
  });

  it('uses $VERZUIM_RELAY_CONFIG when --config is not given', async () => {
    const result = await runCli(['check-config'], { env: { ...ENV, VERZUIM_RELAY_CONFIG: '/nonexistent/relay.yaml' } });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('/nonexistent/relay.yaml');
    expect(result.stderr).toContain('cannot read the configuration file: no such file or folder');
  });

  it('config schema prints a JSON Schema an editor can use', async () => {
    const result = await runCli(['config', 'schema']);
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as { properties: Record<string, { properties: Record<string, { type?: string; pattern?: string }> }>; required: string[] };
    expect(schema.properties.municipality!.properties.code).toMatchObject({ type: 'string', pattern: '^[0-9]{4}$' });
    expect(schema.properties.rod!.properties.pageSize).toMatchObject({ type: 'integer', maximum: 500 });
    // municipality + routing, or gemeenten: the either-or is checked by the relay, not by the editor's schema.
    expect(schema.required).toEqual(expect.arrayContaining(['rod', 'tls', 'smtp', 'storage']));
    expect(schema.properties).toHaveProperty('gemeenten');
    expect(schema.properties).toHaveProperty('routing');
  });
});
