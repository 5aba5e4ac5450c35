/**
 * Reading the configuration: find the file, parse the YAML, substitute
 * `${NAME}` from the environment (or NAME_FILE, the secrets convention),
 * validate, and turn every problem into one line that names the key path.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = 'config/verzuim-relay.yaml';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} configuration problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file it came from. */
  file: string;
  /** Settings that are valid but weaken the relay's protection; shown at every start and by check-config. */
  warnings: ConfigWarning[];
}

/** A valid but weak setting: the key path and what to do about it, never the value. */
export interface ConfigWarning {
  key: string;
  message: string;
}

export function resolveConfigPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(explicit ?? env.VERZUIM_RELAY_CONFIG ?? DEFAULT_CONFIG_PATH);
}

export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = resolveConfigPath(explicit, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the configuration file: ${describeFsError(err)}`]);
  }
  return { ...readConfig(text, file, env), file };
}

/** Parses and validates configuration text; relative file paths are taken relative to the file's folder. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  return readConfig(text, file, env).config;
}

/** parseConfig, with the warnings about weak settings in a valid file. */
export function readConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): { config: Config; warnings: ConfigWarning[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'YAML';
        return `${where}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, ['(file): expected a YAML mapping with municipality, rod, tls, routing, smtp and storage (or gemeenten instead of municipality and routing)']);
  }

  const problems: string[] = [];
  const substituted = substitute(raw, [], env, problems);
  const result = configSchema.safeParse(substituted);
  if (!result.success) problems.push(...formatIssues(result.error.issues));
  if (problems.length > 0 || !result.success) throw new ConfigError(file, problems);

  return { config: resolvePaths(result.data, path.dirname(file)), warnings: weakSettings(raw, result.data) };
}

/** The secrets a configuration may hold, by key path, with the variable the example configuration uses for each. */
const SECRET_KEYS: readonly { at: readonly string[]; variable: string }[] = [
  { at: ['smtp', 'password'], variable: 'SMTP_PASSWORD' },
  { at: ['tls', 'keyPassphrase'], variable: 'ROD_KEY_PASSPHRASE' },
  { at: ['tls', 'pfxPassphrase'], variable: 'ROD_PFX_PASSPHRASE' },
  { at: ['tls', 'next', 'keyPassphrase'], variable: 'ROD_NEXT_KEY_PASSPHRASE' },
  { at: ['tls', 'next', 'pfxPassphrase'], variable: 'ROD_NEXT_PFX_PASSPHRASE' },
];

/**
 * Settings that are allowed but weaken the relay, judged on the file as
 * written (`raw`, before substitution): a secret is fine when it comes from
 * the environment or a *_FILE (written as `${VAR}`), not when it stands in
 * the file itself, which gets copied, backed up and pasted into tickets.
 */
function weakSettings(raw: object, config: Config): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  for (const { at, variable: name } of SECRET_KEYS) {
    const value = at.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), raw);
    // Whatever is left besides ${VAR} references was written in the file.
    if (typeof value !== 'string' || value.replace(VARIABLE, '').trim() === '') continue;
    warnings.push({
      key: at.join('.'),
      message: `a literal secret in the configuration file: write \${${name}} instead and set ${name} or ${name}_FILE (a file only the relay can read) in the environment`,
    });
  }
  const smtp = config.smtp;
  if (smtp.allowPlaintext && !smtp.secure && !smtp.requireTLS) {
    warnings.push({
      key: 'smtp.allowPlaintext',
      message: "true with smtp.requireTLS: false: mail with pupils' personal data crosses the network unencrypted whenever the SMTP relay does not offer STARTTLS, or someone in between strips it; only for a relay on this host or a network you trust",
    });
  } else if (smtp.allowPlaintext) {
    warnings.push({ key: 'smtp.allowPlaintext', message: 'true has no effect while TLS is required (smtp.requireTLS or smtp.secure); remove it, so nobody relies on it later' });
  }
  return warnings;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function substitute(value: unknown, at: (string | number)[], env: NodeJS.ProcessEnv, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_match, name: string) => {
      const direct = env[name];
      if (direct !== undefined) return direct;
      const fileVar = `${name}_FILE`;
      const secretFile = env[fileVar];
      if (secretFile !== undefined) {
        try {
          return readFileSync(secretFile, 'utf8').replace(/\r?\n$/, '');
        } catch (err) {
          problems.push(`${keyPath(at)}: cannot read ${fileVar} (${secretFile}): ${describeFsError(err)}`);
          return '';
        }
      }
      problems.push(`${keyPath(at)}: environment variable ${name} is not set (nor ${fileVar})`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...at, i], env, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, [...at, k], env, problems)]));
  }
  return value;
}

function keyPath(at: readonly PropertyKey[]): string {
  return at.length === 0 ? '(file)' : at.map(String).join('.');
}

function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(issue.path);
      for (const key of issue.keys) {
        const suggestion = nearest(key, known);
        lines.push(`${keyPath([...issue.path, key])}: unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`);
      }
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      lines.push(`${keyPath(issue.path)}: required`);
    } else {
      lines.push(`${keyPath(issue.path)}: ${issue.message}`);
    }
  }
  return lines;
}

/** The keys the schema knows at a path, found by walking the zod schema itself (no second list to keep in sync). */
function knownKeysAt(at: readonly PropertyKey[]): string[] {
  let schema: unknown = configSchema;
  for (const key of [...at, null]) {
    schema = unwrap(schema);
    const def = (schema as { _zod?: { def?: { type?: string; shape?: Record<string, unknown>; valueType?: unknown } } })._zod?.def;
    if (!def) return [];
    if (key === null) return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
    if (def.type === 'object' && def.shape) schema = def.shape[String(key)];
    else if (def.type === 'record') schema = def.valueType;
    else if (def.type === 'array') schema = (def as { element?: unknown }).element;
    else return [];
  }
  return [];
}

function unwrap(schema: unknown): unknown {
  for (;;) {
    const def = (schema as { _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown } } })?._zod?.def;
    if (!def) return schema;
    if (def.innerType !== undefined && ['default', 'optional', 'nullable', 'prefault', 'catch', 'readonly'].includes(def.type ?? '')) {
      schema = def.innerType;
    } else if (def.type === 'pipe' && def.in !== undefined) {
      schema = def.in;
    } else {
      return schema;
    }
  }
}

function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function resolvePaths(config: Config, base: string): Config {
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(base, p));
  return {
    ...config,
    tls: {
      ...config.tls,
      cert: abs(config.tls.cert),
      key: abs(config.tls.key),
      pfx: abs(config.tls.pfx),
      trustAnchors: abs(config.tls.trustAnchors)!,
      ...(config.tls.next
        ? { next: { ...config.tls.next, cert: abs(config.tls.next.cert), key: abs(config.tls.next.key), pfx: abs(config.tls.next.pfx) } }
        : {}),
    },
    rod: config.rod.edukoppeling
      ? {
          ...config.rod,
          edukoppeling: { ...config.rod.edukoppeling, signerCertificates: config.rod.edukoppeling.signerCertificates?.map((f) => abs(f)!) },
        }
      : config.rod,
    smtp: { ...config.smtp, ca: abs(config.smtp.ca) },
    storage: { path: abs(config.storage.path)! },
  };
}

/**
 * The files the configuration names must exist and be readable, and the
 * database's folder writable. Certificate contents are judged by the
 * certificate check, which has more to say about them.
 */
export function checkReferencedFiles(config: Config): string[] {
  const problems: string[] = [];
  const readable: [string, string | undefined][] = [
    ['tls.cert', config.tls.cert],
    ['tls.key', config.tls.key],
    ['tls.pfx', config.tls.pfx],
    ['tls.trustAnchors', config.tls.trustAnchors],
    ['tls.next.cert', config.tls.next?.cert],
    ['tls.next.key', config.tls.next?.key],
    ['tls.next.pfx', config.tls.next?.pfx],
    ['smtp.ca', config.smtp.ca],
    ...(config.rod.edukoppeling?.signerCertificates ?? []).map(
      (file, i, all): [string, string] => [`rod.edukoppeling.signerCertificates${all.length > 1 ? `.${i}` : ''}`, file],
    ),
  ];
  for (const [key, file] of readable) {
    if (file === undefined) continue;
    try {
      if (!statSync(file).isFile()) problems.push(`${key}: ${file} is not a file`);
      else accessSync(file, constants.R_OK);
    } catch (err) {
      problems.push(`${key}: cannot read ${file}: ${describeFsError(err)}`);
    }
  }
  const dir = path.dirname(config.storage.path);
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    problems.push(`storage.path: the folder ${dir} is not writable: ${describeFsError(err)}`);
  }
  return problems;
}

export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a folder, not a file';
    default:
      return e?.message ?? String(err);
  }
}
