#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=4194304 node --optimize-for-size --no-concurrent-recompilation
/**
 * verzuim-relay <command> [--config PATH]: the one entry point. Expected
 * failures end with a one-line (or one-line-per-problem) message on standard
 * error and a documented exit status, never a stack trace. The commands are
 * in main.ts.
 */
// First: V8's memory setting must be in place before the other modules load (see memory.ts).
import './memory.js';
import { ExitCode } from './exit-codes.js';
import { stderr } from './commands/output.js';

/**
 * The simulator (started with up to 250,000 meldingen by the bench and the
 * demo) needs none of the relay's own modules: loading them all (x509,
 * undici, SQLite, nodemailer, yaml, prom-client, …) before it could start
 * was about half a second of CPU at every start. It reports its own usage
 * errors; anything else ends as main() would end it.
 */
async function simulator(argv: string[]): Promise<number> {
  const { simulatorCommand } = await import('./commands/simulator.js');
  try {
    return await simulatorCommand(argv);
  } catch (err) {
    stderr(`verzuim-relay simulator: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.VERZUIM_RELAY_DEBUG) stderr(err instanceof Error ? (err.stack ?? '') : '');
    return ExitCode.FAILURE;
  }
}

const argv = process.argv.slice(2);
const run = argv[0] === 'simulator' ? simulator(argv.slice(1)) : import('./main.js').then(({ main }) => main(argv));
run.then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Only a fault in the CLI itself gets here: main() turns every expected failure into a status.
    stderr(`verzuim-relay: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = ExitCode.SOFTWARE;
  },
);
