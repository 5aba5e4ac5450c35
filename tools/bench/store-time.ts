/**
 * `npm run bench -- --store-time`: loaded into each `verzuim-relay once` with
 * `--import`, it measures how much of fetch + store the single SQLite writer
 * itself takes, and how much CPU the relay spends on it. The bench prints it
 * beside the ingest ratio, to show what bounds that ratio (docs/performance.md).
 *
 * Every statement's `run`, `get` and `all` is timed (wall time inside
 * better-sqlite3's call, so a commit's `fsync` counts), the commits apart. The
 * window is the relay's own: from the statement that records the cycle's start
 * to the commit of the last transaction that moved a feed cursor, which is
 * the commit of the last page. At exit the totals of that window are written,
 * as JSON, to the file named by VERZUIM_BENCH_STORE_TIME.
 *
 * Two `process.hrtime.bigint()` calls per statement (some 2 × 100 ns, 1.2
 * million statements for 150,000 meldingen) slow the relay by about 1 %.
 */
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface StoreTime {
  /** Wall time inside statements other than BEGIN and COMMIT, in ms, and how many ran. */
  statementsMs: number;
  statements: number;
  /** Wall time inside COMMIT (the WAL write, its fsync, a checkpoint when one is due), in ms, and how many. */
  commitsMs: number;
  commits: number;
  /** The relay process's CPU (user + system, every thread) over the window, in ms. */
  cpuMs: number;
  /** The window itself, in ms. */
  windowMs: number;
}

const output = process.env.VERZUIM_BENCH_STORE_TIME;
if (output) measure(output);

function measure(file: string): void {
  const probe = new Database(':memory:');
  const statement = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<'run' | 'get' | 'all', (...args: unknown[]) => unknown>;
  probe.close();

  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const total = { statementsNs: 0n, statements: 0, commitsNs: 0n, commits: 0 };
  let start: { at: bigint; cpuMs: number; statementsNs: bigint; statements: number; commitsNs: bigint; commits: number } | undefined;
  let movedCursor = false;
  let window: StoreTime | undefined;

  for (const method of ['run', 'get', 'all'] as const) {
    const original = statement[method]!;
    statement[method] = function (this: { source: string }, ...args: unknown[]) {
      const began = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        const ended = process.hrtime.bigint();
        const source = this.source;
        if (source === 'COMMIT') {
          total.commitsNs += ended - began;
          total.commits++;
          if (movedCursor && start) {
            movedCursor = false;
            window = {
              statementsMs: Number(total.statementsNs - start.statementsNs) / 1e6,
              statements: total.statements - start.statements,
              commitsMs: Number(total.commitsNs - start.commitsNs) / 1e6,
              commits: total.commits - start.commits,
              cpuMs: cpu() - start.cpuMs,
              windowMs: Number(ended - start.at) / 1e6,
            };
          }
        } else if (!source.startsWith('BEGIN')) {
          total.statementsNs += ended - began;
          total.statements++;
          if (method === 'run' && source.startsWith('INSERT INTO feed_cursor')) movedCursor = true;
          // The cycle's start: the window begins with this statement, as the bench's does with cycle.started.
          else if (method === 'run' && source.startsWith('INSERT INTO cycles') && !start) start = { at: began, cpuMs: cpu(), ...total };
        }
      }
    };
  }
  process.on('exit', () => {
    if (window) writeFileSync(file, `${JSON.stringify(window)}\n`);
  });
}
