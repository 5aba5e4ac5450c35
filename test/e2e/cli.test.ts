/**
 * The command line as an administrator meets it: every command's --help
 * lists all of its options, a mistake on the command line is one line naming
 * the option and exit 64, and each exit status in the table is the one the
 * commands really end with.
 */
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/app/exit-codes.js';
import { REPO, runCli, runNode } from '../support/relay-process.js';

const ENV = { ROD_KEY_PASSPHRASE: 'geheim', SMTP_PASSWORD: 'ook-geheim' };

/** The example configuration, valid, but with certificate files that do not exist here and a database that was never made. */
function exampleConfig(dir: string): string {
  const example = readFileSync(path.join(REPO, 'config/verzuim-relay.example.yaml'), 'utf8');
  const file = path.join(dir, 'relay.yaml');
  writeFileSync(file, example.replace(/^(\s*path:\s*)\/data\/verzuim-relay\.db/m, `$1${path.join(dir, 'relay.db')}`));
  return file;
}

describe('command line', () => {
  let dir: string;
  let config: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vr-cli-'));
    config = exampleConfig(dir);
  });

  it('verzuim-relay --help lists every command', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['run', 'once', 'check-config', 'cert check', 'cert bundle', 'status', 'outbox list', 'outbox retry', 'quarantine list', 'quarantine retry', 'audit verify', 'audit export', 'healthcheck', 'config schema', 'simulator', 'demo']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });

  it('without a command it shows the same list and exits 64', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(64);
    expect(result.stdout).toContain('outbox list');
  });

  const options: [string[], string[]][] = [
    [['outbox', 'list'], ['--dead', '--state STATE', '--melding NR', '--json', '--config PATH', '--help']],
    [['outbox', 'retry'], ['--all-dead', '--config PATH', '--help']],
    [['cert', 'check'], ['--json', '--config PATH']],
    [['cert', 'bundle'], ['--out DIR', '--config PATH']],
    [['status'], ['--json', '--config PATH']],
    [['quarantine', 'list'], ['--all', '--json', '--config PATH']],
    [['audit', 'export'], ['--since DATE', '--config PATH']],
    [['run'], ['--config PATH']],
    [['demo'], ['--dir DIR', '--style STYLE']],
    [['simulator'], ['--cert FILE', '--key FILE', '--client-ca FILE', '--port N', '--host H', '--gemeente CODE', '--oin OIN', '--seed N', '--meldingen N', '--fixtures FILE', '--protocol P', '--soap-path PATH', '--duo-oin OIN', '--signing-cert FILE', '--signing-key FILE', '--acting-for OIN', '--tick SECONDS', '--help']],
  ];
  it.each(options)('%j --help lists every option', async (command, expected) => {
    const result = await runCli([...command, '--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`usage: verzuim-relay ${command.join(' ')}`);
    const listed = result.stdout.split('\n').filter((l) => /^ {2}(-h, )?--/.test(l));
    for (const option of expected) expect(listed.some((l) => l.includes(option)), `${option} in\n${result.stdout}`).toBe(true);
  });

  it('outbox --help shows the help of both outbox commands', async () => {
    const result = await runCli(['outbox', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('usage: verzuim-relay outbox list');
    expect(result.stdout).toContain('usage: verzuim-relay outbox retry');
    expect(result.stdout).toContain('--all-dead');
  });

  const mistakes: [string[], RegExp][] = [
    [['outbox', 'list', '--bogus'], /unknown option --bogus/],
    [['status', '--verbose'], /unknown option --verbose/],
    [['cert', 'check', '-x'], /unknown option -x/],
    [['simulator', '--bogus'], /unknown option --bogus/],
    [['outbox', 'list', '--state', 'weg'], /--state: expected pending, sending, sent, deferred or dead, got "weg"/],
    [['audit', 'export', '--since', 'gisteren'], /--since: expected a date/],
    [['demo', '--style', 'G2'], /--style: expected G4 or G1, got "G2"/],
    [['run', '--config'], /--config needs a value/],
    [['status', '--json=ja'], /--json takes no value/],
    [['cert', 'bundle'], /--out DIR is required/],
    [['outbox', 'retry'], /needs mail ids or --all-dead/],
    [['outbox', 'retry', 'alles'], /"alles" is not a mail id/],
    [['outbox', 'wissen'], /expected "outbox list" or "outbox retry"/],
    [['once', 'nu'], /unexpected argument "nu"/],
  ];
  it.each(mistakes)('%j is a one-line usage error, exit 64', async (argv, message) => {
    const result = await runCli([...argv, '--config', config], { env: ENV });
    expect(result.code).toBe(ExitCode.USAGE);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('an unknown command exits 64 and shows the commands', async () => {
    const result = await runCli(['versturen']);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('unknown command "versturen"');
  });

  it('finds the subcommand among the options', async () => {
    // Parsed as "outbox list --dead": it gets as far as looking for the database.
    const result = await runCli(['outbox', '--config', config, 'list', '--dead'], { env: ENV });
    expect(result.code).toBe(ExitCode.FAILURE);
    expect(result.stderr).toContain('no database at storage.path');
  });

  it('the exit codes are the documented numbers', () => {
    expect(ExitCode).toEqual({
      OK: 0,
      FAILURE: 1,
      CYCLE_INCOMPLETE: 1,
      UNHEALTHY: 1,
      CERT_UNUSABLE: 2,
      AUDIT_BROKEN: 3,
      USAGE: 64,
      UNAVAILABLE: 69,
      SOFTWARE: 70,
      TEMPFAIL: 75,
      CONFIG: 78,
    });
  });

  // The cases a relay that never ran can show; a broken audit chain (3), an
  // incomplete cycle (1) and a clean stop (0) are in admin, rod-feedback and daemon.
  const statuses: [string, string[], keyof typeof ExitCode, RegExp | undefined][] = [
    ['the schema, which needs no configuration', ['config', 'schema'], 'OK', undefined],
    ['a valid configuration whose files are missing', ['check-config'], 'CONFIG', /tls\.cert: cannot read/],
    ['a configuration file that does not exist', ['status', '--config', '/nonexistent/relay.yaml'], 'CONFIG', /cannot read the configuration file/],
    ['an unusable certificate', ['cert', 'check'], 'CERT_UNUSABLE', undefined],
    ['an unusable certificate, before a cycle', ['once'], 'CERT_UNUSABLE', /the client certificate cannot be used/],
    ['no cycle yet', ['healthcheck'], 'UNHEALTHY', undefined],
    ['no database yet', ['audit', 'verify'], 'FAILURE', /no database at storage\.path/],
  ];
  it.each(statuses)('%s: %j exits %s', async (_, argv, status, message) => {
    const needsConfig = argv[0] !== 'config' && !argv.includes('--config');
    const result = await runCli(needsConfig ? [...argv, '--config', config] : argv, { env: ENV });
    expect(result.code, result.stderr).toBe(ExitCode[status]);
    if (message) expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\bat .+\.js:\d+/);
  });

  it('demo outside a source checkout exits 69 (unavailable)', async () => {
    // An installation: the built relay and its dependencies, without build/tools.
    const install = mkdtempSync(path.join(os.tmpdir(), 'vr-install-'));
    cpSync(path.join(REPO, 'dist'), path.join(install, 'dist'), { recursive: true });
    cpSync(path.join(REPO, 'package.json'), path.join(install, 'package.json'));
    symlinkSync(path.join(REPO, 'node_modules'), path.join(install, 'node_modules'));
    const result = await runNode([path.join(install, 'dist', 'app', 'cli.js'), 'demo']);
    expect(result.code).toBe(ExitCode.UNAVAILABLE);
    expect(result.stderr).toContain('part of the source checkout');
  });
});
