/**
 * The configuration of a test relay, as a plain object: deep-merged with a
 * test's overrides and written with `yaml`, for the in-process tests
 * (testConfig) and the end-to-end ones (world.ts) alike.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { TestPkiFiles } from '../../tools/testpki/generate.js';
import { ALERT_EMAIL, MUNICIPALITY, routingSection } from './fixtures.js';

export type RodProtocol = 'edukoppeling' | 'rest';
/** Both transports, for tests that must hold over each. */
export const PROTOCOLS: readonly RodProtocol[] = ['edukoppeling', 'rest'];

/** A YAML mapping. */
export interface ConfigTree {
  [key: string]: unknown;
}

/**
 * Changes to a configuration tree: mappings are merged key by key, anything else replaces what was
 * there, and `undefined` deletes the key.
 */
export type ConfigOverrides = Record<string, unknown>;

export interface ConfigPlace {
  pki: TestPkiFiles;
  /** Default: a port nothing listens on. */
  rodUrl?: string;
  /** How the relay speaks to ROD (default edukoppeling, as in production). */
  protocol?: RodProtocol;
  /** Default 25. */
  smtpPort?: number;
  /** The folder of the configuration file and the database. */
  dir: string;
}

function isMapping(value: unknown): value is ConfigTree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepMerge(base: ConfigTree, overrides: ConfigOverrides = {}): ConfigTree {
  const merged: ConfigTree = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete merged[key];
    else if (isMapping(value) && isMapping(merged[key])) merged[key] = deepMerge(merged[key], value);
    else merged[key] = value;
  }
  return merged;
}

/** The configuration of a test relay, before overrides. */
export function baseConfig(o: ConfigPlace): ConfigTree {
  return {
    municipality: { ...MUNICIPALITY },
    rod: { protocol: o.protocol ?? 'edukoppeling', url: o.rodUrl ?? 'https://localhost:1/verzuim/v1', pageSize: 3, timeoutSeconds: 10 },
    tls: { cert: o.pki.clientCert, key: o.pki.clientKey, trustAnchors: o.pki.trustAnchors, allowUnknownRoots: true },
    routing: routingSection(),
    smtp: { host: 'localhost', port: o.smtpPort ?? 25, from: 'Verzuimrelay Utrecht <verzuim-relay@utrecht.example>', ca: o.pki.trustAnchors },
    delivery: { firstRetrySeconds: 1, maxRetryDelaySeconds: 2 },
    storage: { path: path.join(o.dir, 'relay.db') },
    alerts: { email: ALERT_EMAIL },
    schedule: { cron: '*/10 * * * *' },
  };
}

/** The configuration text of a test relay, with `overrides` deep-merged into it. */
export function configText(o: ConfigPlace & { overrides?: ConfigOverrides }): string {
  const tree = deepMerge(baseConfig(o), o.overrides);
  const text = stringify(tree);
  // The YAML pitfall: gemeentecode 0344 or an OIN written bare reads back as a number. `yaml` quotes
  // strings that would; make sure the file reads back as exactly the tree.
  if (!isDeepStrictEqual(parse(text), tree)) throw new Error(`the test configuration does not survive YAML:\n${text}`);
  return text;
}

/** Writes the configuration file `verzuim-relay.yaml` into o.dir; returns its path. */
export function writeTestConfig(o: ConfigPlace & { overrides?: ConfigOverrides }): string {
  const file = path.join(o.dir, 'verzuim-relay.yaml');
  writeFileSync(file, configText(o));
  return file;
}

/** A valid, parsed configuration for in-process tests, with paths into a temp folder. */
export function testConfig(options: Omit<ConfigPlace, 'dir'> & { dir?: string; overrides?: ConfigOverrides }): Config {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-unit-'));
  return parseConfig(configText({ ...options, dir }), path.join(dir, 'relay.yaml'), {});
}
