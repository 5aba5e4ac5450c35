/**
 * verzuim-relay <command> [--config PATH]: every command, behind the entry
 * point cli.ts. Expected failures end with a one-line (or one-line-per-problem)
 * message on standard error and a documented exit status, never a stack trace.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CertificateError } from '../certs/read.js';
import { ConfigError, checkReferencedFiles, loadConfig, type ConfigWarning, type LoadedConfig } from '../config/load.js';
import { certificateOin, configSchema } from '../config/schema.js';
import { MAIL_STATES, type MailState } from '../store/mail-states.js';
import { inspectClientCertificate } from '../certs/inspect.js';
import { createCertificateWatch } from './certificate-watch.js';
import { runCycle } from './cycle.js';
import { createLogger, effectiveLogLevel, LogLevelError, type Logger } from '../observability/log.js';
import { openRelay } from './runtime.js';
import { commandHelp, parseCommandLine, positionalsOf, UsageError, type CommandSpec, type OptionSpecs, type ParsedArgs } from './commands/args.js';
import { ExitCode } from './exit-codes.js';
import { relayVersion } from './version.js';
import { LeaseHeldError } from '../store/lease.js';
import { stderr, stdout } from './commands/output.js';

// Loaded when asked for: the daemon and `once` do not carry the code (and the
// memory) of the commands an administrator runs now and then.
const adminCommands = () => import('./commands/admin.js');
const certCommands = () => import('./commands/cert.js');
const backupCommands = () => import('./commands/backup.js');
const daemon = () => import('./daemon.js');

interface Command {
  spec: CommandSpec;
  run(argv: string[]): Promise<number> | number;
}

/** A command from its declaration: the parse and the --help both come from `spec`. */
function command<O extends OptionSpecs>(spec: CommandSpec<O>, run: (args: ParsedArgs<O>) => Promise<number> | number): Command {
  return {
    spec,
    run(argv) {
      const args = parseCommandLine(spec, argv);
      if (args.help) {
        stdout(commandHelp(spec));
        return ExitCode.OK;
      }
      return run(args);
    },
  };
}

const CONFIG = {
  config: { type: 'string', value: 'PATH', description: 'the YAML file (default: $VERZUIM_RELAY_CONFIG, else config/verzuim-relay.yaml)' },
} as const satisfies OptionSpecs;

const JSON_OUTPUT = { type: 'boolean', description: 'JSON instead of text, for scripts' } as const;

/** For a relay that serves several gemeenten: one gemeente's rows only. */
const GEMEENTE = {
  type: 'string',
  value: 'CODE',
  description: 'only this gemeente (its gemeentecode, four digits)',
  check: (v: string) => (/^[0-9]{4}$/.test(v) ? undefined : 'expected a gemeentecode of four digits, such as 0344'),
} as const;

function config(values: { config?: string }): LoadedConfig {
  return loadConfig(values.config);
}

/** At every start: one config.warning line per weak setting, naming the key, never its value. */
function logWarnings(log: Logger, warnings: readonly ConfigWarning[]): void {
  for (const w of warnings) log.warn('config.warning', { key: w.key }, `${w.key}: ${w.message}`);
}

const COMMANDS: Command[] = [
  command(
    { name: 'run', summary: 'the daemon: a cycle at start, then on schedule.cron; stops cleanly on SIGTERM/SIGINT', options: CONFIG },
    async ({ values }) => {
      const { config: c, warnings } = config(values);
      const log = createLogger({ level: effectiveLogLevel(c.log.level) });
      logWarnings(log, warnings);
      return (await daemon()).runDaemon(c, log);
    },
  ),
  command(
    { name: 'once', summary: 'one cycle (fetch all pages, store, deliver what is due), then exit: 0 feed read to its end, 1 ended early', options: CONFIG },
    async ({ values }) => {
      const { config: c, warnings } = config(values);
      const log = createLogger({ level: effectiveLogLevel(c.log.level) });
      logWarnings(log, warnings);
      // A `once` from a scheduler gets SIGTERM when its job is cancelled: like
      // `run`, it aborts a ROD wait, finishes the mail in hand and closes the
      // database, and exits 1 (the feed was not read to its end). The handlers
      // go in before the slow start-up steps, or a signal there kills outright.
      const stop = new AbortController();
      const onSignal = (signal: string) => {
        if (stop.signal.aborted) return;
        log.info('relay.stopping', { signal, cycleRunning: true });
        stop.abort();
      };
      const onSigterm = () => onSignal('SIGTERM');
      const onSigint = () => onSignal('SIGINT');
      process.once('SIGTERM', onSigterm);
      process.once('SIGINT', onSigint);
      try {
        const relay = openRelay(c, log, { signal: stop.signal, onLeaseLost: () => onSignal('lease.lost') });
        try {
          await createCertificateWatch(c, relay.store, log, undefined, relay.rollover)();
          const result = await runCycle({ config: c, store: relay.store, rod: relay.rodFor, sender: relay.sender, log, signal: stop.signal });
          return result.outcome === 'ok' && !stop.signal.aborted ? ExitCode.OK : ExitCode.CYCLE_INCOMPLETE;
        } finally {
          await relay.close();
        }
      } finally {
        process.off('SIGTERM', onSigterm);
        process.off('SIGINT', onSigint);
      }
    },
  ),
  command(
    { name: 'check-config', summary: 'validate the configuration and the files it names: 0 valid, 78 invalid', options: { json: JSON_OUTPUT, ...CONFIG } },
    async ({ values }) => {
      let loaded: LoadedConfig;
      try {
        loaded = config(values);
      } catch (err) {
        // With --json the verdict is one object on standard output; the exit status stays 78.
        if (!(values.json === true && err instanceof ConfigError)) throw err;
        stdout(JSON.stringify({ file: err.file, valid: false, problems: err.problems, warnings: [] }));
        return ExitCode.CONFIG;
      }
      const { config: c, file, warnings } = loaded;
      // Weak settings are not errors: said on standard error, the exit status stays 0.
      if (values.json !== true) for (const w of warnings) stderr(`${file}: warning: ${w.key}: ${w.message}`);
      const problems = checkReferencedFiles(c);
      if (problems.length === 0) {
        const report = inspectClientCertificate(c.tls, certificateOin(c));
        for (const p of report.problems) problems.push(`tls: ${p.message}${p.advice ? ` — ${p.advice}` : ''}`);
      }
      if (values.json === true) {
        stdout(JSON.stringify({ file, valid: problems.length === 0, problems, warnings: warnings.map((w) => ({ key: w.key, message: w.message })) }));
        return problems.length ? ExitCode.CONFIG : ExitCode.OK;
      }
      if (problems.length) throw new ConfigError(file, problems);
      stdout(`${file}: configuration valid`);
      return ExitCode.OK;
    },
  ),
  command(
    {
      name: 'cert check',
      summary: 'the certificate report: chain, hierarchy (G1/G4), OIN, key usage, days left, problems with advice: 0 usable, 2 not',
      options: { json: JSON_OUTPUT, ...CONFIG },
    },
    async ({ values }) => (await certCommands()).certCheckCommand(config(values).config, { json: values.json === true, out: stdout }),
  ),
  command(
    {
      name: 'cert bundle',
      synopsis: '--out DIR',
      summary: 'write the zip and filled-in details to send to DUO: 0 written, 2 the certificate is not usable',
      options: {
        out: { type: 'string', value: 'DIR', description: 'the folder to write the zip to (created if missing)' },
        next: { type: 'boolean', description: 'the renewed certificate in tls.next instead of the one in tls' },
        ...CONFIG,
      },
    },
    async ({ values }) => {
      if (values.out === undefined) throw new UsageError('--out DIR is required');
      return (await certCommands()).certBundleCommand(config(values).config, { outDir: values.out, next: values.next === true, out: stdout });
    },
  ),
  command(
    {
      name: 'cert request',
      synopsis: '--out DIR --cn NAME --kvk NUMBER',
      summary: 'a new key and certificate request (CSR) for the renewal, with the subject a TSP needs for a G4 Private G-TLS certificate, and what to do next: 0 written',
      options: {
        out: { type: 'string', value: 'DIR', description: 'the folder for client.key (0600) and client.csr (created if missing; existing files are never overwritten)' },
        cn: { type: 'string', value: 'NAME', description: "the certificate's common name, e.g. verzuim-relay.utrecht.nl" },
        kvk: {
          type: 'string',
          value: 'NUMBER',
          description: 'the KvK number (8 digits), written as organizationIdentifier NTRNL-<KvK>',
          check: (v) => (/^[0-9]{8}$/.test(v) ? undefined : 'expected 8 digits'),
        },
        organisation: { type: 'string', value: 'NAME', description: 'O in the subject (default "Gemeente <municipality.name>"; required with a gemeenten list)' },
        oin: {
          type: 'string',
          value: 'OIN',
          description: "serialNumber in the subject (default municipality.oin; with a gemeenten list the OIN of the certificate in tls, the bureau's)",
          check: (v) => (/^[0-9]{20}$/.test(v) ? undefined : 'expected 20 digits'),
        },
        bits: { type: 'string', value: 'N', description: 'RSA key size (default 3072, what G4 uses)', choices: ['3072', '4096'] },
        'passphrase-env': { type: 'string', value: 'NAME', description: 'encrypt the key with the passphrase in this environment variable (default: not encrypted)' },
        ...CONFIG,
      },
      details: 'The subject also carries serialNumber = the OIN (--oin) and C=NL. The CSR is read back and checked (it parses, its signature verifies, the subject is as asked) before anything is written.',
    },
    async ({ values }) => {
      if (values.out === undefined) throw new UsageError('--out DIR is required');
      if (values.cn === undefined) throw new UsageError('--cn NAME is required');
      if (values.kvk === undefined) throw new UsageError('--kvk NUMBER is required');
      return (await certCommands()).certRequestCommand(config(values).config, {
        outDir: values.out,
        commonName: values.cn,
        kvk: values.kvk,
        organisation: values.organisation,
        oin: values.oin,
        bits: values.bits === '4096' ? 4096 : 3072,
        passphraseEnv: values['passphrase-env'],
        out: stdout,
      });
    },
  ),
  command(
    { name: 'status', summary: 'last cycle, and per gemeente: cursor, meldingen per status, mail pending and dead; certificate days left', options: { gemeente: GEMEENTE, json: JSON_OUTPUT, ...CONFIG } },
    async ({ values }) => (await adminCommands()).statusCommand(config(values).config, { json: values.json === true, out: stdout, gemeente: values.gemeente }),
  ),
  command(
    {
      name: 'outbox list',
      summary: 'the mail queue: state, attempts, next attempt, last error',
      options: {
        dead: { type: 'boolean', description: 'only dead mail (the same as --state dead)' },
        state: { type: 'string', value: 'STATE', description: 'only mail in this state', choices: MAIL_STATES },
        melding: { type: 'string', value: 'NR', description: 'only mail about this meldingsnummer' },
        gemeente: GEMEENTE,
        json: JSON_OUTPUT,
        ...CONFIG,
      },
    },
    async ({ values }) => {
      const state = values.dead ? 'dead' : (values.state as MailState | undefined);
      return (await adminCommands()).outboxListCommand(config(values).config, { state, melding: values.melding, gemeente: values.gemeente, json: values.json === true, out: stdout });
    },
  ),
  command(
    {
      name: 'outbox retry',
      synopsis: 'ID… | --all-dead',
      summary: 'requeue dead (or deferred) mail, by id (see outbox list) or all dead mail at once',
      positionals: true,
      options: { 'all-dead': { type: 'boolean', description: 'requeue every dead mail' }, ...CONFIG },
    },
    async ({ values, positionals }) => {
      if (values['all-dead']) return (await adminCommands()).outboxRetryCommand(config(values).config, { ids: 'all-dead', out: stdout });
      const ids = positionals.map((id) => {
        if (!/^\d+$/.test(id)) throw new UsageError(`"${id}" is not a mail id (see outbox list)`);
        return Number(id);
      });
      if (ids.length === 0) throw new UsageError('needs mail ids or --all-dead');
      return (await adminCommands()).outboxRetryCommand(config(values).config, { ids, out: stdout });
    },
  ),
  command(
    {
      name: 'quarantine list',
      summary: 'records that failed validation and are waiting',
      options: { all: { type: 'boolean', description: 'also the records that have been processed since' }, gemeente: GEMEENTE, json: JSON_OUTPUT, ...CONFIG },
    },
    async ({ values }) => (await adminCommands()).quarantineListCommand(config(values).config, { all: values.all === true, json: values.json === true, out: stdout, gemeente: values.gemeente }),
  ),
  command(
    { name: 'quarantine retry', summary: 'reprocess the records in quarantine (after an upgrade); their mail goes out with the next cycle', options: CONFIG },
    async ({ values }) => (await adminCommands()).quarantineRetryCommand(config(values).config, { out: stdout }),
  ),
  command(
    { name: 'audit verify', summary: "check the audit log's hash chain: 0 intact, 3 broken", options: { json: JSON_OUTPUT, ...CONFIG } },
    async ({ values }) => (await adminCommands()).auditVerifyCommand(config(values).config, { out: stdout, json: values.json === true }),
  ),
  command(
    {
      name: 'audit export',
      summary: 'the audit log as JSON lines',
      options: {
        since: {
          type: 'string',
          value: 'DATE',
          description: 'only what happened from this date or time on',
          check: (v) => (Number.isNaN(Date.parse(v)) ? 'expected a date such as 2026-11-01' : undefined),
        },
        gemeente: GEMEENTE,
        ...CONFIG,
      },
    },
    async ({ values }) => (await adminCommands()).auditExportCommand(config(values).config, { since: values.since, gemeente: values.gemeente, out: stdout }),
  ),
  command(
    {
      name: 'healthcheck',
      synopsis: '[--liveness | --readiness]',
      summary: 'for the container: --liveness, the daemon\'s heartbeat is recent; --readiness (the default), a recent successful cycle and a usable certificate (0 healthy, 1 not)',
      options: {
        liveness: { type: 'boolean', description: "the daemon works: its heartbeat (written by run every 30 s, whatever ROD does) is at most 120 s old; for Docker's HEALTHCHECK and a livenessProbe" },
        readiness: { type: 'boolean', description: 'the relay does its job: a successful cycle within health.maxCycleAgeMinutes (default: from schedule.cron) and a usable certificate; the default' },
        json: JSON_OUTPUT,
        ...CONFIG,
      },
    },
    async ({ values }) => {
      if (values.liveness && values.readiness) throw new UsageError('give --liveness or --readiness, not both');
      return (await adminCommands()).healthcheckCommand(config(values).config, { out: stdout, check: values.liveness ? 'liveness' : 'readiness', json: values.json === true });
    },
  ),
  command(
    {
      name: 'backup',
      synopsis: '--out FILE',
      summary: 'a checked copy of the live database (0600) and its audit head file, while the relay runs: 0 written',
      options: {
        out: { type: 'string', value: 'FILE', description: 'the backup file to write (also FILE.audit-head)' },
        force: { type: 'boolean', description: 'replace FILE if it exists' },
        ...CONFIG,
      },
    },
    async ({ values }) => {
      if (values.out === undefined) throw new UsageError('--out FILE is required');
      return (await backupCommands()).backupCommand(config(values).config, { out: values.out, force: values.force === true, print: stdout });
    },
  ),
  command({ name: 'config schema', summary: "the configuration's JSON Schema, for editors", options: {} }, () => {
    stdout(JSON.stringify(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), null, 2));
    return ExitCode.OK;
  }),
  {
    // The simulator parses its own command line (and prints its own --help)
    // from the declaration in commands/simulator.ts, loaded only when asked for.
    spec: { name: 'simulator', synopsis: '--cert FILE --key FILE --client-ca FILE', summary: 'a ROD stand-in over mutual TLS, for demos and integration tests', options: {} },
    async run(argv) {
      const { simulatorCommand } = await import('./commands/simulator.js');
      return simulatorCommand(argv);
    },
  },
  command(
    {
      name: 'demo',
      summary: 'the whole relay on this machine: test PKI, simulator, local mail catcher, a few cycles, a summary',
      options: {
        dir: { type: 'string', value: 'DIR', description: 'where the test PKI, configuration and database go (default: a new temporary folder)' },
        style: { type: 'string', value: 'STYLE', description: 'the PKIoverheid hierarchy the test certificates imitate (default G4)', choices: ['G4', 'G1'] },
      },
    },
    async ({ values }) => {
      // The demo, its test PKI and its mail catcher are tooling, built into
      // build/ from a source checkout and never shipped in the image: look
      // for them at run time instead of importing them.
      const demoModule = new URL('../../build/tools/demo/demo.js', import.meta.url);
      if (!existsSync(fileURLToPath(demoModule))) {
        stderr('verzuim-relay demo: the demo is part of the source checkout, not of this installation; run it there with: npm ci && npm run demo');
        return ExitCode.UNAVAILABLE;
      }
      const { runDemo } = (await import(demoModule.href)) as { runDemo: (o: { dir?: string; style?: 'G4' | 'G1' }) => Promise<number> };
      return runDemo({ dir: values.dir, style: values.style as 'G4' | 'G1' | undefined });
    },
  ),
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  return [
    'verzuim-relay: fetches verzuimmeldingen from DUO (ROD) over mutual TLS and mails them to the gemeente\'s instances',
    '',
    'usage: verzuim-relay <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    `  --config PATH   ${CONFIG.config.description}`,
    '  --version, -V   the version of this installation',
    '',
    'verzuim-relay <command> --help lists the options of one command.',
  ].join('\n');
}

/** "outbox" and the like: a word that only names a group of commands. */
function groupOf(word: string): Command[] {
  return COMMANDS.filter((c) => c.spec.name.split(' ')[0] === word);
}

/**
 * The command argv names and the arguments meant for it. The subcommand is
 * the first word that is not an option or an option's value, so
 * `outbox --config x.yaml list` works as well as `outbox list --config x.yaml`.
 */
function resolve(group: Command[], word: string, rest: string[]): { command: Command; argv: string[] } | 'group-help' {
  const single = group.find((c) => c.spec.name === word);
  if (single) return { command: single, argv: rest };
  const sub = positionalsOf(rest, Object.assign({}, ...group.map((c) => c.spec.options)) as OptionSpecs)[0];
  const command = sub && group.find((c) => c.spec.name === `${word} ${sub.value}`);
  if (command) return { command, argv: rest.toSpliced(sub.index, 1) };
  if (!sub && rest.some((a) => a === '--help' || a === '-h')) return 'group-help';
  const names = group.map((c) => `"${c.spec.name}"`);
  throw new UsageError(`expected ${names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)!}` : names[0]!}${sub ? `, got "${word} ${sub.value}"` : ''}`);
}

export async function main(argv: string[]): Promise<number> {
  const [word, ...rest] = argv;
  if (word === undefined || word === '--help' || word === '-h' || word === 'help') {
    stdout(help());
    return word === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (word === '--version' || word === '-V') {
    stdout(`verzuim-relay ${relayVersion()}`);
    return ExitCode.OK;
  }
  const group = groupOf(word);
  if (group.length === 0) {
    stderr(`verzuim-relay: unknown command "${word}"\n\n${help()}`);
    return ExitCode.USAGE;
  }
  let name = word;
  try {
    const resolved = resolve(group, word, rest);
    if (resolved === 'group-help') {
      stdout(group.map((c) => commandHelp(c.spec)).join('\n\n'));
      return ExitCode.OK;
    }
    name = resolved.command.spec.name;
    return await resolved.command.run(resolved.argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      stderr(`${err.file}: configuration invalid`);
      for (const problem of err.problems) stderr(`  ${problem}`);
      return ExitCode.CONFIG;
    }
    if (err instanceof LogLevelError) {
      stderr(err.message);
      return ExitCode.CONFIG;
    }
    if (err instanceof CertificateError) {
      stderr('the client certificate cannot be used:');
      for (const p of err.problems) stderr(`  ${p.message}${p.advice ? `\n    → ${p.advice}` : ''}`);
      stderr('run "verzuim-relay cert check" for the full report');
      return ExitCode.CERT_UNUSABLE;
    }
    if (err instanceof LeaseHeldError) {
      stderr(`verzuim-relay ${name}: ${err.message}`);
      return ExitCode.TEMPFAIL;
    }
    if (err instanceof UsageError) {
      stderr(`verzuim-relay ${name}: ${err.message} (verzuim-relay ${name} --help lists the options)`);
      return ExitCode.USAGE;
    }
    const message = err instanceof Error ? err.message : String(err);
    stderr(`verzuim-relay ${name}: ${message}`);
    if (process.env.VERZUIM_RELAY_DEBUG) stderr(err instanceof Error ? (err.stack ?? '') : '');
    return ExitCode.FAILURE;
  }
}
