/**
 * The log contract: every event the code can log is documented in
 * docs/logging.md, and the document lists no event the code no longer logs.
 * Administrators write alerting rules against these names; an event renamed
 * or added without the document changing breaks their rules silently.
 *
 * The events are found by reading src/ with the TypeScript parser: every call
 * `<x>.info|warn|error|debug|fatal(...)` whose receiver is a logger (a name
 * ending in `log` or `logger`), taking its first argument as the event. A call
 * whose first argument is not a string literal, or whose receiver is not a
 * logger, must be listed below with a reason; an unlisted one fails the test,
 * so a new way of logging cannot slip past the scan.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/relay-process.js';

const SRC = path.join(REPO, 'src');
const DOC = path.join(REPO, 'docs', 'logging.md');
const LEVELS = new Set(['info', 'warn', 'error', 'debug', 'fatal']);
const LOGGER_RECEIVER = /(^|\.)(log|logger)$/i;

interface Site {
  file: string;
  line: number;
  receiver: string;
  level: string;
  /** The event when the first argument is a string literal. */
  event?: string;
  firstArgument: string;
}

/**
 * Calls the scan cannot read an event name from, each with where its names
 * come from instead. Keyed by file and the call's text up to the first comma.
 */
const DYNAMIC: Record<string, { reason: string; events: () => string[] }> = {
  'src/app/commands/simulator.ts logger.info(event': {
    reason: "forwards the simulator's own events; their names are the string literals passed to the `log(event, fields)` callback in src/simulator/",
    events: () => simulatorCallbackEvents(),
  },
};

/** Calls named warn/info/… that are not on a logger. */
const NOT_A_LOGGER: Record<string, string> = {
  'src/certs/expiry.ts this.deps.warn(lowest': "ExpiryWatcher's own callback; the daemon logs it as cert.expiring (src/app/certificate-watch.ts)",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
}

function literal(node: ts.Node | undefined): string | undefined {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
}

function logCallSites(): Site[] {
  const sites: Site[] = [];
  for (const file of sourceFiles(SRC)) {
    const source = parse(file);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && LEVELS.has(node.expression.name.text)) {
        const first = node.arguments[0];
        sites.push({
          file: path.relative(REPO, file).split(path.sep).join('/'),
          line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1,
          receiver: node.expression.expression.getText(source).replace(/\?$/, ''),
          level: node.expression.name.text,
          event: literal(first),
          firstArgument: first ? first.getText(source) : '',
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return sites;
}

function key(site: Site): string {
  return `${site.file} ${site.receiver}.${site.level}(${site.firstArgument}`;
}

/** The simulator logs through a `log(event, fields)` callback that the simulator command forwards to its logger. */
function simulatorCallbackEvents(): string[] {
  const events: string[] = [];
  for (const file of sourceFiles(path.join(SRC, 'simulator'))) {
    const source = parse(file);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'log') {
        const event = literal(node.arguments[0]);
        if (event === undefined) throw new Error(`${path.relative(REPO, file)}: a simulator log(...) call without a literal event name; list its names in DYNAMIC`);
        events.push(event);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return events;
}

/** Event names emitted by the code, each with where it is logged. */
function emittedEvents(): Map<string, string[]> {
  const events = new Map<string, string[]>();
  const add = (event: string, where: string) => events.set(event, [...(events.get(event) ?? []), where]);
  const unexplained: string[] = [];
  for (const site of logCallSites()) {
    const where = `${site.file}:${site.line}`;
    if (NOT_A_LOGGER[key(site)]) continue;
    if (!LOGGER_RECEIVER.test(site.receiver)) {
      unexplained.push(`${where} ${site.receiver}.${site.level}(…): not a receiver the scan knows as a logger; rename it, or list it in NOT_A_LOGGER with a reason`);
      continue;
    }
    if (site.event !== undefined) {
      add(site.event, where);
      continue;
    }
    const dynamic = DYNAMIC[key(site)];
    if (!dynamic) {
      unexplained.push(`${where} ${site.receiver}.${site.level}(${site.firstArgument}, …): the event is not a string literal; use one, or list the call in DYNAMIC with where its names come from`);
      continue;
    }
    for (const event of dynamic.events()) add(event, `${where} (forwarded)`);
  }
  if (unexplained.length) throw new Error(`log calls the contract test cannot read:\n  ${unexplained.join('\n  ')}`);
  return events;
}

/** Every event documented: the back-quoted name in the first cell of a table row under "## Events". */
function documentedEvents(): Set<string> {
  const doc = readFileSync(DOC, 'utf8');
  const events = new Set<string>();
  for (const line of doc.split('\n')) {
    const cell = /^\|\s*`([a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+)`\s*\|/.exec(line);
    if (cell) events.add(cell[1]!);
  }
  return events;
}

describe('the log contract (docs/logging.md)', () => {
  const emitted = emittedEvents();
  const documented = documentedEvents();

  it('the scan of src/ finds the events it must (it cannot pass on an empty list)', () => {
    expect(emitted.size).toBeGreaterThanOrEqual(40);
    for (const event of ['mail.sent', 'cycle.fetch-failed', 'mail.queued', 'relay.started', 'rod.response', 'simulator.request']) {
      expect(emitted.has(event), `the scan did not find ${event}`).toBe(true);
    }
    expect(documented.size).toBeGreaterThanOrEqual(40);
  });

  it('documents every event the code can log', () => {
    const missing = [...emitted.keys()].filter((e) => !documented.has(e)).sort();
    const lines = missing.map((e) => `  ${e}  (logged at ${emitted.get(e)!.join(', ')})`);
    expect(missing, `events logged by src/ but missing from docs/logging.md; add a table row for each (event, level, fields, when):\n${lines.join('\n')}\n`).toEqual([]);
  });

  it('documents no event the code no longer logs', () => {
    const stale = [...documented].filter((e) => !emitted.has(e)).sort();
    expect(stale, `events in docs/logging.md that no code in src/ logs any more; remove or rename their rows:\n  ${stale.join('\n  ')}\n`).toEqual([]);
  });

  it('documents each event at the level the code logs it', () => {
    const doc = readFileSync(DOC, 'utf8');
    const levels = new Map<string, Set<string>>();
    for (const site of logCallSites()) if (site.event && LOGGER_RECEIVER.test(site.receiver)) levels.set(site.event, new Set([...(levels.get(site.event) ?? []), site.level]));
    const wrong: string[] = [];
    for (const line of doc.split('\n')) {
      const row = /^\|\s*`([^`]+)`\s*\|\s*([a-z, ]+?)\s*\|/.exec(line);
      if (!row || !levels.has(row[1]!)) continue;
      const written = new Set(row[2]!.split(/,\s*/));
      const actual = levels.get(row[1]!)!;
      if ([...actual].some((l) => !written.has(l)) || [...written].some((l) => !actual.has(l))) wrong.push(`${row[1]}: docs say ${row[2]}, code logs ${[...actual].join(', ')}`);
    }
    expect(wrong, `levels in docs/logging.md that differ from the code:\n  ${wrong.join('\n  ')}\n`).toEqual([]);
  });
});
