/**
 * `npm run bench`: how fast the relay works through a backlog and how much
 * memory it takes, measured as a user runs it, against the ceilings of the
 * parts it talks to.
 *
 * Three processes: the ROD simulator (`verzuim-relay simulator`, mutual TLS),
 * an SMTP sink (STARTTLS, counts and discards) and the relay itself as
 * `verzuim-relay once`, repeated until its outbox is empty; then the idle cycle, in a
 * fresh `once` and in the running daemon (`verzuim-relay run`). In the same run,
 * before the relay and again after it, the ceilings (the faster of the two
 * counts): the pages fetched with the relay's TLS settings and no processing,
 * and the sink's acceptance rate from a plain nodemailer pool with the
 * relay's SMTP settings. Prints a table and, as its last line:
 *
 *   bench: n=<N> ingest_per_s=<x> delivery_per_s=<y> ingest_ratio=<a> delivery_ratio=<b> peak_rss_mb=<m> idle_ms=<t> cycles=<c>
 *
 *   npm run bench -- [--meldingen N] [--page-size N] [--protocol edukoppeling|rest] [--keep] [--profile DIR] [--store-time]
 *
 * --store-time adds what bounds fetch + store: the time the relay spent inside
 * SQLite, its CPU and the simulator's, against what the ingest target allows
 * (store-time.ts).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config/load.js';
import { composeMail } from '../../src/mail/compose.js';
import { MeldingGenerator } from '../../src/simulator/generate.js';
import type { Verzuimmelding } from '../../src/domain/melding.js';
import { localConfig } from '../demo/local-config.js';
import { RELAY_ENV, RELAY_NODE_FLAGS } from '../../src/app/node-flags.js';
import { generateTestPki } from '../testpki/generate.js';
import { rawPageRate, rawSmtpRate, type Rate } from './ceilings.js';
import type { StoreTime } from './store-time.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = path.join(root, 'dist/app/cli.js');
const sinkScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sink.js');
const storeTimeScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'store-time.js');

const { values } = parseArgs({
  options: {
    meldingen: { type: 'string', default: '5000' },
    'page-size': { type: 'string', default: '500' },
    protocol: { type: 'string', default: 'edukoppeling' },
    keep: { type: 'boolean', default: false },
    // Writes a V8 CPU profile of every `once` (and of the simulator) into this directory: see docs/performance.md.
    profile: { type: 'string' },
    'store-time': { type: 'boolean', default: false },
  },
});
if (values.protocol !== 'edukoppeling' && values.protocol !== 'rest') usage(`--protocol must be edukoppeling or rest, got "${values.protocol}"`);
const protocol: 'edukoppeling' | 'rest' = values.protocol as 'edukoppeling' | 'rest';
const meldingen = Number(values.meldingen);
const pageSize = Number(values['page-size']);
if (!Number.isSafeInteger(meldingen) || meldingen < 1 || meldingen > 250_000) usage(`--meldingen expects 1 to 250000, got "${values.meldingen}"`);
if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 500) usage(`--page-size expects 1 to 500 (rod.pageSize), got "${values['page-size']}"`);

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(64);
}

type Child = ChildProcessByStdio<null, Readable, Readable>;
const children: Child[] = [];

/** A child process whose stdout is read line by line (and always drained: the simulator logs every request). */
function start(args: string[], onLine: (line: string) => void, env: Record<string, string> = {}): { child: Child; exited: Promise<number>; stderr: () => string } {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
  createInterface({ input: child.stdout }).on('line', onLine);
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  return { child, exited, stderr: () => err };
}

function json(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Resolves with the first stdout line that `accept` takes; rejects when the process ends first. */
function firstLine<T>(args: string[], accept: (fields: Record<string, unknown>) => T | undefined): Promise<{ value: T; child: Child }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const started = start(args, (line) => {
      const fields = json(line);
      const value = fields && accept(fields);
      if (!done && value !== undefined) {
        done = true;
        resolve({ value, child: started.child });
      }
    });
    void started.exited.then((code) => !done && reject(new Error(`${path.basename(args[0]!)} ${args[1] ?? ''} exited with ${code}: ${started.stderr()}`)));
  });
}

/** The peak resident set of a running process (VmHWM), in bytes; 0 once it is gone. */
function peakRss(pid: number): number {
  try {
    const kb = /VmHWM:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The CPU a process has used so far (user + system, every thread), in ms; 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/PID/stat, after the command name in parentheses; in USER_HZ, 100 a second.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

interface OnceRun {
  exit: number;
  peakRss: number;
  startedAt: number;
  lastPageAt: number;
  finishedAt: number;
  counts: Record<string, number>;
  /** With --store-time: the relay's own figures (store-time.ts) and the simulator's CPU in the same window. */
  storeTime?: StoreTime;
  simulatorCpuMs?: number;
}

/**
 * `verzuim-relay once`, its log read for the moments that split the cycle; peak RSS sampled from /proc.
 * `simulatorPid`, with --store-time: the simulator whose CPU is read at cycle.started and at each page.stored.
 */
async function once(configFile: string, simulatorPid?: number): Promise<OnceRun> {
  const run: OnceRun = { exit: 0, peakRss: 0, startedAt: 0, lastPageAt: 0, finishedAt: 0, counts: {} };
  const storeTimeFile = values['store-time'] ? path.join(path.dirname(configFile), `store-time-${Date.now()}.json`) : undefined;
  const measuring = storeTimeFile ? [`--import=${storeTimeScript}`] : [];
  let simulatorCpu = { atStart: 0, atLastPage: 0 };
  const simulatorNow = () => (storeTimeFile && simulatorPid ? cpuMs(simulatorPid) : 0);
  // As the image runs it (Dockerfile ENV and ENTRYPOINT, see src/app/node-flags.ts).
  const started = start([...RELAY_NODE_FLAGS, ...profiling('once'), ...measuring, cli, 'once', '--config', configFile], (line) => {
    const fields = json(line);
    if (!fields) return;
    const time = typeof fields.time === 'number' ? fields.time : Date.parse(String(fields.time));
    if (fields.event === 'cycle.started') {
      run.startedAt = run.lastPageAt = time;
      simulatorCpu = { atStart: simulatorNow(), atLastPage: simulatorNow() };
    } else if (fields.event === 'page.stored') {
      run.lastPageAt = time;
      simulatorCpu.atLastPage = simulatorNow();
    } else if (fields.event === 'cycle.finished') {
      run.finishedAt = time;
      for (const [key, value] of Object.entries(fields)) if (typeof value === 'number') run.counts[key] = value;
    }
  }, { ...RELAY_ENV, ...(storeTimeFile ? { VERZUIM_BENCH_STORE_TIME: storeTimeFile } : {}) });
  const pid = started.child.pid!;
  // VmHWM is the peak so far: sampling it often enough misses only the last moments' growth.
  const sampler = setInterval(() => (run.peakRss = Math.max(run.peakRss, peakRss(pid))), 25);
  run.exit = await started.exited;
  clearInterval(sampler);
  if (run.exit > 1) throw new Error(`verzuim-relay once exited with ${run.exit}: ${started.stderr()}`);
  // A cycle that stored no page (delivery only) writes no file: it has no store time.
  if (storeTimeFile && existsSync(storeTimeFile)) {
    run.storeTime = JSON.parse(readFileSync(storeTimeFile, 'utf8')) as StoreTime;
    run.simulatorCpuMs = simulatorCpu.atLastPage - simulatorCpu.atStart;
  }
  return run;
}

interface DaemonRun {
  /** cycle.started → cycle.finished of each cycle, in order; the first is the start-up cycle. */
  cycles: number[];
  peakRss: number;
}

/**
 * `verzuim-relay run`, the daemon as an administrator runs it, on a schedule of every second, until
 * it has finished `count` cycles; then SIGTERM, as the container runtime stops it. Its first cycle runs at
 * start in a fresh process, like `once`; the ones after it are the cycles the daemon runs all day.
 */
async function daemon(configFile: string, count: number): Promise<DaemonRun> {
  const scheduled = configFile.replace(/\.yaml$/, '.daemon.yaml');
  writeFileSync(scheduled, `${readFileSync(configFile, 'utf8')}\nschedule:\n  cron: "* * * * * *"\n`);
  const run: DaemonRun = { cycles: [], peakRss: 0 };
  let startedAt = 0;
  let enough: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (enough = resolve));
  const started = start([...RELAY_NODE_FLAGS, ...profiling('run'), cli, 'run', '--config', scheduled], (line) => {
    const fields = json(line);
    if (!fields) return;
    const time = typeof fields.time === 'number' ? fields.time : Date.parse(String(fields.time));
    if (fields.event === 'cycle.started') startedAt = time;
    else if (fields.event === 'cycle.finished') {
      run.cycles.push(time - startedAt);
      if (run.cycles.length >= count) enough();
    }
  }, RELAY_ENV);
  const pid = started.child.pid!;
  const sampler = setInterval(() => (run.peakRss = Math.max(run.peakRss, peakRss(pid))), 25);
  const exited = started.exited.then((code) => {
    throw new Error(`verzuim-relay run exited with ${code} after ${run.cycles.length} cycles: ${started.stderr()}`);
  });
  await Promise.race([done, exited]);
  run.peakRss = Math.max(run.peakRss, peakRss(pid));
  clearInterval(sampler);
  started.child.kill('SIGTERM');
  const code = await started.exited;
  if (code !== 0) throw new Error(`verzuim-relay run stopped with ${code} on SIGTERM: ${started.stderr()}`);
  return run;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Node's flags for a CPU profile of one process, when --profile asked for them. */
function profiling(name: string): string[] {
  if (!values.profile) return [];
  mkdirSync(values.profile, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`, `--cpu-prof-name=${name}-${Date.now()}-${process.pid}.cpuprofile`];
}

/** The page ceiling's sample: enough pages for a steady rate, all of them for the default 5,000 meldingen. */
const CEILING_PAGES = 40;
/**
 * Idle cycles of the running daemon after its start-up cycle, one a second: the median is reported. Ten,
 * because one idle cycle is a few tens of milliseconds that a busy moment of the machine can double.
 */
const DAEMON_IDLE_CYCLES = 10;

const mb = (bytes: number) => bytes / 2 ** 20;
const f = (n: number, digits = 0) => n.toFixed(digits);

/**
 * --store-time: what the relay spent in fetch + store, against the time an ingest ratio of 0.5 allows
 * (the mutations at half the page ceiling) and the CPU the machine's cores have in that time.
 */
function storeTimeRows(runs: OnceRun[], fetched: number, ingestSeconds: number, ceiling: number): [string, string, string][] {
  const measured = runs.filter((run) => run.storeTime);
  if (measured.length === 0) return [['relay: in SQLite', '-', 'no cycle stored a page']];
  const count = (key: 'statements' | 'commits') => measured.reduce((sum, run) => sum + run.storeTime![key], 0);
  const total = (key: 'statementsMs' | 'commitsMs' | 'cpuMs' | 'windowMs') => measured.reduce((sum, run) => sum + run.storeTime![key], 0) / 1000;
  const simulator = measured.reduce((sum, run) => sum + (run.simulatorCpuMs ?? 0), 0) / 1000;
  const allowed = fetched / (ceiling / 2);
  const cores = os.cpus().length;
  return [
    ['relay: in SQLite', `${f(total('statementsMs') + total('commitsMs'), 2)} s`, `of the ${f(ingestSeconds, 2)} s of fetch + store: ${count('statements')} statements ${f(total('statementsMs'), 2)} s, ${count('commits')} commits ${f(total('commitsMs'), 2)} s (wall time inside the calls, fsync included)`],
    ['relay: CPU', `${f(total('cpuMs'), 2)} s`, `user + system of the relay over fetch + store (${f((100 * total('cpuMs')) / total('windowMs'))} % of one core)`],
    ['simulator: CPU', `${f(simulator, 2)} s`, `user + system of the simulator over the same window`],
    ['ratio 0.5 allows', `${f(allowed, 2)} s`, `for fetch + store: ${fetched} mutations at half the page ceiling; ${cores} cores give ${f(cores * allowed, 2)} s of CPU in that time`],
  ];
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-bench-'));
let exitCode = 0;
try {
  const pki = await generateTestPki({ dir: path.join(dir, 'pki'), variants: false });

  const simStarted = process.hrtime.bigint();
  const sim = await firstLine(
    [...profiling('simulator'), cli, 'simulator', '--cert', pki.serverCert, '--key', pki.serverKey, '--client-ca', pki.trustAnchors, '--port', '0', '--meldingen', String(meldingen), '--protocol', protocol],
    (fields) => (fields.event === 'simulator.listening' ? { url: String(fields.url), mutaties: Number(fields.mutaties) } : undefined),
  );
  const simulatorStart = Number(process.hrtime.bigint() - simStarted) / 1e9;
  const sink = await firstLine([sinkScript, '--cert', pki.serverCert, '--key', pki.serverKey], (fields) => (typeof fields.port === 'number' ? fields.port : undefined));

  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const configFile = path.join(dir, 'relay.yaml');
  // A generous rod.timeoutSeconds: the bench measures throughput, and a simulator signing pages of 500 on a
  // busy machine may take longer than the demo's 10 s.
  writeFileSync(configFile, localConfig({ rodUrl: sim.value.url, smtpPort: sink.value, pageSize, protocol }).replace('timeoutSeconds: 10', 'timeoutSeconds: 120'));
  const { config } = loadConfig(configFile);

  // Ceilings first, while nothing else runs, and again after the relay (below).
  const gemeente = config.gemeenten[0]!;
  const gen = new MeldingGenerator({ seed: 3, gemeentecode: gemeente.municipality.code });
  const melding = { ...gen.nieuweMelding(), volgnummer: 1 } as Verzuimmelding;
  const instance = gemeente.routing.instances.leerplicht!;
  const sample = composeMail({ kind: 'Nieuw', melding, changes: [], instance: { id: 'leerplicht', ...instance }, content: config.mail.content, municipality: gemeente.municipality });
  const ceilings = async () => ({
    pages: await rawPageRate(config, CEILING_PAGES),
    smtp: await rawSmtpRate(config, { to: instance.email, messageId: '<bench.ceiling@utrecht.example>', ...sample }, Math.min(5000, Math.max(500, meldingen))),
  });
  const before = await ceilings();

  // The relay, as `once`, until its outbox is empty (or a cycle sends nothing).
  const runs: OnceRun[] = [];
  const unfinished = () => {
    const db = new Database(config.storage.path, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(`SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending', 'deferred')`).pluck().get() as number;
    } finally {
      db.close();
    }
  };
  for (;;) {
    const run = await once(configFile, sim.child.pid);
    runs.push(run);
    if (unfinished() === 0 || (run.counts.sent ?? 0) === 0 || runs.length >= 50) break;
  }
  const backlogCycles = runs.length;
  // An idle cycle: nothing new in the feed, nothing due. Once in a fresh process (`once`: start-up
  // work included), and as the running daemon does it every schedule.cron (the figure the target is for).
  const idle = await once(configFile);
  const running = await daemon(configFile, 1 + DAEMON_IDLE_CYCLES);
  const steady = running.cycles.slice(1);
  // A ceiling is what the part can do. The first measurement meets the simulator and the sink fresh (the
  // relay meets them warmed up) and may catch a busy moment of the machine; the faster of the two counts.
  const after = await ceilings();
  const faster = <T extends Rate>(a: T, b: T): T => (b.perSecond > a.perSecond ? b : a);
  const pagesCeiling = faster(before.pages, after.pages);
  const smtpCeiling = faster(before.smtp, after.smtp);
  const both = (a: Rate, b: Rate) => `faster of ${f(a.perSecond)} before and ${f(b.perSecond)} after the relay`;

  const sum = (key: string) => runs.reduce((total, run) => total + (run.counts[key] ?? 0), 0);
  const fetched = sum('fetched');
  const sent = sum('sent');
  const ingestSeconds = runs.reduce((total, run) => total + (run.lastPageAt - run.startedAt), 0) / 1000;
  const deliverySeconds = runs.reduce((total, run) => total + (run.finishedAt - run.lastPageAt), 0) / 1000;
  const ingestPerS = fetched / ingestSeconds;
  const deliveryPerS = sent / deliverySeconds;
  const peak = Math.max(...runs.map((r) => r.peakRss), idle.peakRss, running.peakRss);
  const onceIdleMs = idle.finishedAt - idle.startedAt;
  const idleMs = Math.round(median(steady));
  const db = statSync(config.storage.path).size;

  sim.child.kill('SIGTERM');
  sink.child.kill('SIGTERM');

  const rows: [string, string, string][] = [
    ['simulator start', `${f(simulatorStart, 1)} s`, `${meldingen} meldingen, ${sim.value.mutaties} mutations, ${protocol}`],
    ['ceiling: pages', `${f(pagesCeiling.perSecond)} mutations/s`, `${pagesCeiling.pages} pages of ${pageSize}${pagesCeiling.pages >= CEILING_PAGES ? ' (the first)' : ''}, raw (same TLS, no processing); ${both(before.pages, after.pages)}`],
    ['ceiling: SMTP', `${f(smtpCeiling.perSecond)} mails/s`, `${smtpCeiling.count} mails, plain nodemailer pool, ${config.smtp.maxConnections} connections, STARTTLS; ${both(before.smtp, after.smtp)}`],
    ['relay: fetch + store', `${f(ingestPerS)} mutations/s`, `${fetched} mutations in ${f(ingestSeconds, 1)} s (ratio ${f(ingestPerS / pagesCeiling.perSecond, 2)})`],
    ['relay: delivery', `${f(deliveryPerS)} mails/s`, `${sent} mails in ${f(deliverySeconds, 1)} s (ratio ${f(deliveryPerS / smtpCeiling.perSecond, 2)})`],
    ['relay: peak RSS', `${f(mb(peak))} MiB`, `per cycle: ${runs.map((r) => f(mb(r.peakRss))).join(', ')}; idle ${f(mb(idle.peakRss))}; daemon ${f(mb(running.peakRss))}`],
    ['relay: idle cycle', `${idleMs} ms`, `the running daemon, median of ${steady.length} (${steady.join(', ')} ms): cycle.started → cycle.finished, TLS handshake included`],
    ['relay: idle, fresh', `${onceIdleMs} ms`, `once, in a new process (start-up cycle of the daemon: ${running.cycles[0]} ms)`],
    ['relay: cycles', `${backlogCycles}`, `until the outbox was empty (${unfinished()} left)`],
    ['database', `${f(mb(db), 1)} MiB`, config.storage.path.replace(dir, '$TMP')],
    ...(values['store-time'] ? storeTimeRows(runs, fetched, ingestSeconds, pagesCeiling.perSecond) : []),
  ];
  console.log(`verzuim-relay bench: Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${f(os.totalmem() / 2 ** 30)} GiB`);
  for (const [name, value, note] of rows) console.log(`  ${name.padEnd(22)} ${value.padStart(20)}   ${note}`);
  console.log(
    `bench: n=${meldingen} ingest_per_s=${f(ingestPerS)} delivery_per_s=${f(deliveryPerS)} ingest_ratio=${f(ingestPerS / pagesCeiling.perSecond, 2)} ` +
      `delivery_ratio=${f(deliveryPerS / smtpCeiling.perSecond, 2)} peak_rss_mb=${f(mb(peak))} idle_ms=${idleMs} cycles=${backlogCycles}`,
  );
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  exitCode = 1;
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`bench: kept ${dir}\n`);
}
process.exit(exitCode);
