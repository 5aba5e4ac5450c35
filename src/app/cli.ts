#!/usr/bin/env node
/**
 * verzuim-relay <command> [--config PATH]: the one entry point. Expected
 * failures end with a one-line (or one-line-per-problem) message on standard
 * error and a documented exit status, never a stack trace.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CertificateError } from '../certs/read.js';
import { certBundleCommand, certCheckCommand } from './commands/cert.js';
import { ConfigError, EXIT_CONFIG, checkReferencedFiles, loadConfig, type LoadedConfig } from '../config/load.js';
import { configSchema } from '../config/schema.js';
import { inspectClientCertificate } from '../certs/inspect.js';
import { createCertificateWatch } from './certificate-watch.js';
import { runCycle } from './cycle.js';
import { runDaemon } from './daemon.js';
import { createLogger } from '../observability/log.js';
import { openRelay } from './runtime.js';
import { parseArgs, flag, UsageError, type ParsedArgs } from './commands/args.js';
import {
  auditExportCommand,
  auditVerifyCommand,
  healthcheckCommand,
  outboxListCommand,
  outboxRetryCommand,
  quarantineListCommand,
  quarantineRetryCommand,
  statusCommand,
} from './commands/admin.js';
import { stderr, stdout } from './commands/output.js';

const EXIT_USAGE = 64;
const EXIT_CERTIFICATE = 2;

interface Command {
  usage: string;
  summary: string;
  values?: string[];
  booleans?: string[];
  run(args: ParsedArgs): Promise<number> | number;
}

const CONFIG_OPTION = '  --config PATH   the YAML file (default: $VERZUIM_RELAY_CONFIG, else config/verzuim-relay.yaml)';

function config(args: ParsedArgs): LoadedConfig {
  return loadConfig(flag(args, 'config'));
}

const COMMANDS: Record<string, Command> = {
  run: {
    usage: 'run [--config PATH]',
    summary: 'the daemon: a cycle at start, then on schedule.cron; stops cleanly on SIGTERM/SIGINT',
    values: ['config'],
    async run(args) {
      const { config: c } = config(args);
      return runDaemon(c, createLogger({ level: c.log.level }));
    },
  },
  once: {
    usage: 'once [--config PATH]',
    summary: 'one cycle (fetch all pages, store, deliver what is due), then exit: 0 feed read to its end, 1 ended early',
    values: ['config'],
    async run(args) {
      const { config: c } = config(args);
      const log = createLogger({ level: c.log.level });
      const relay = openRelay(c, log);
      try {
        await createCertificateWatch(c, relay.store, log)();
        const result = await runCycle({ config: c, store: relay.store, rod: relay.rod, sender: relay.sender, log });
        return result.outcome === 'ok' ? 0 : 1;
      } finally {
        await relay.close();
      }
    },
  },
  'check-config': {
    usage: 'check-config [--config PATH]',
    summary: 'validate the configuration and the files it names: 0 valid, 78 invalid',
    values: ['config'],
    run(args) {
      const { config: c, file } = config(args);
      const problems = checkReferencedFiles(c);
      if (problems.length === 0) {
        const report = inspectClientCertificate(c.tls, c.municipality.oin);
        for (const p of report.problems) problems.push(`tls: ${p.message}${p.advice ? ` — ${p.advice}` : ''}`);
      }
      if (problems.length) throw new ConfigError(file, problems);
      stdout(`${file}: configuration valid`);
      return 0;
    },
  },
  cert: {
    usage: 'cert check [--json] | cert bundle --out DIR   [--config PATH]',
    summary: 'the certificate report (0 usable, 2 not) | the zip and details to send to DUO',
    values: ['config', 'out'],
    booleans: ['json'],
    async run(args) {
      const sub = args.positionals[0];
      if (sub === 'check') return certCheckCommand(config(args).config, { json: args.flags.has('json'), out: stdout });
      if (sub === 'bundle') {
        const outDir = flag(args, 'out');
        if (!outDir) throw new UsageError('cert bundle needs --out DIR');
        return certBundleCommand(config(args).config, { outDir, out: stdout });
      }
      throw new UsageError('expected "cert check" or "cert bundle --out DIR"');
    },
  },
  status: {
    usage: 'status [--json] [--config PATH]',
    summary: 'last cycle, cursor, meldingen per status, mail pending and dead, certificate days left',
    values: ['config'],
    booleans: ['json'],
    run: (args) => statusCommand(config(args).config, { json: args.flags.has('json'), out: stdout }),
  },
  outbox: {
    usage: 'outbox list [--dead | --state STATE] [--melding NR] [--json] | outbox retry ID... | outbox retry --all-dead',
    summary: 'inspect and requeue mail',
    values: ['config', 'state', 'melding'],
    booleans: ['dead', 'json', 'all-dead'],
    run(args) {
      const [sub, ...rest] = args.positionals;
      if (sub === 'list') {
        const state = args.flags.has('dead') ? 'dead' : flag(args, 'state');
        if (state !== undefined && !['pending', 'sending', 'sent', 'deferred', 'dead'].includes(state)) throw new UsageError(`--state: expected pending, sending, sent, deferred or dead, got "${state}"`);
        return outboxListCommand(config(args).config, { state: state as never, melding: flag(args, 'melding'), json: args.flags.has('json'), out: stdout });
      }
      if (sub === 'retry') {
        if (args.flags.has('all-dead')) return outboxRetryCommand(config(args).config, { ids: 'all-dead', out: stdout });
        const ids = rest.map((id) => {
          if (!/^\d+$/.test(id)) throw new UsageError(`outbox retry: "${id}" is not a mail id (see outbox list)`);
          return Number(id);
        });
        if (ids.length === 0) throw new UsageError('outbox retry needs mail ids or --all-dead');
        return outboxRetryCommand(config(args).config, { ids, out: stdout });
      }
      throw new UsageError('expected "outbox list" or "outbox retry"');
    },
  },
  quarantine: {
    usage: 'quarantine list [--all] [--json] | quarantine retry',
    summary: 'inspect and reprocess records that failed validation',
    values: ['config'],
    booleans: ['all', 'json'],
    run(args) {
      const sub = args.positionals[0];
      if (sub === 'list') return quarantineListCommand(config(args).config, { all: args.flags.has('all'), json: args.flags.has('json'), out: stdout });
      if (sub === 'retry') return quarantineRetryCommand(config(args).config, { out: stdout });
      throw new UsageError('expected "quarantine list" or "quarantine retry"');
    },
  },
  audit: {
    usage: 'audit verify | audit export [--since DATE]',
    summary: "check the audit log's hash chain (0 intact, 3 broken) | the audit log as JSON lines",
    values: ['config', 'since'],
    run(args) {
      const sub = args.positionals[0];
      if (sub === 'verify') return auditVerifyCommand(config(args).config, { out: stdout });
      if (sub === 'export') return auditExportCommand(config(args).config, { since: flag(args, 'since'), out: stdout });
      throw new UsageError('expected "audit verify" or "audit export"');
    },
  },
  healthcheck: {
    usage: 'healthcheck [--config PATH]',
    summary: 'for the container: a recent successful cycle and a usable certificate (0 healthy, 1 not)',
    values: ['config'],
    run: (args) => healthcheckCommand(config(args).config, { out: stdout }),
  },
  config: {
    usage: 'config schema',
    summary: "the configuration's JSON Schema, for editors",
    run(args) {
      if (args.positionals[0] !== 'schema') throw new UsageError('expected "config schema"');
      stdout(JSON.stringify(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), null, 2));
      return 0;
    },
  },
  simulator: {
    usage: 'simulator --cert FILE --key FILE --client-ca FILE [--port N] [--fixtures FILE] ... (see simulator --help)',
    summary: 'a ROD stand-in over mutual TLS, for demos and integration tests',
    async run() {
      const { simulatorCommand } = await import('./commands/simulator.js');
      return simulatorCommand(process.argv.slice(3));
    },
  },
  demo: {
    usage: 'demo [--dir DIR] [--style G4|G1]',
    summary: 'the whole relay on this machine: test PKI, simulator, local mail catcher, a few cycles, a summary',
    values: ['dir', 'style'],
    async run(args) {
      // The demo, its test PKI and its mail catcher are tooling, built into
      // build/ from a source checkout and never shipped in the image: look
      // for them at run time instead of importing them.
      const demoModule = new URL('../../build/tools/demo/demo.js', import.meta.url);
      if (!existsSync(fileURLToPath(demoModule))) {
        process.stderr.write('verzuim-relay demo: the demo is part of the source checkout, not of this installation; run it there with: npm ci && npm run demo\n');
        return 69;
      }
      const { runDemo } = (await import(demoModule.href)) as { runDemo: (o: { dir?: string; style?: 'G4' | 'G1' }) => Promise<number> };
      return runDemo({ dir: flag(args, 'dir'), style: flag(args, 'style') as 'G4' | 'G1' | undefined });
    },
  },
};

function help(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.split(' ')[0]!.length));
  return [
    'verzuim-relay: fetches verzuimmeldingen from DUO (ROD) over mutual TLS and mails them to the gemeente\'s instances',
    '',
    'usage: verzuim-relay <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width + 2)}${c.summary}`),
    '',
    CONFIG_OPTION,
    '',
    'verzuim-relay <command> --help shows the options of one command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    stdout(help());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version') {
    stdout('verzuim-relay 0.1.0');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    stderr(`verzuim-relay: unknown command "${name}"\n\n${help()}`);
    return EXIT_USAGE;
  }
  try {
    if (name === 'simulator') return await command.run({ positionals: rest, flags: new Map() });
    const args = parseArgs(rest, { values: command.values, booleans: command.booleans });
    if (args.flags.has('help')) {
      stdout(`usage: verzuim-relay ${command.usage}\n\n${command.summary}\n\n${command.values?.includes('config') ? CONFIG_OPTION : ''}`.trimEnd());
      return 0;
    }
    return await command.run(args);
  } catch (err) {
    if (err instanceof ConfigError) {
      stderr(`${err.file}: configuration invalid`);
      for (const problem of err.problems) stderr(`  ${problem}`);
      return EXIT_CONFIG;
    }
    if (err instanceof CertificateError) {
      stderr('the client certificate cannot be used:');
      for (const p of err.problems) stderr(`  ${p.message}${p.advice ? `\n    → ${p.advice}` : ''}`);
      stderr('run "verzuim-relay cert check" for the full report');
      return EXIT_CERTIFICATE;
    }
    if (err instanceof UsageError) {
      stderr(`verzuim-relay ${name}: ${err.message}\nusage: verzuim-relay ${command.usage}`);
      return EXIT_USAGE;
    }
    const message = err instanceof Error ? err.message : String(err);
    stderr(`verzuim-relay ${name}: ${message}`);
    if (process.env.VERZUIM_RELAY_DEBUG) stderr(err instanceof Error ? (err.stack ?? '') : '');
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    stderr(`verzuim-relay: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
