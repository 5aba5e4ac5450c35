/** A valid configuration for in-process tests, with paths into a temp folder. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { TestPkiFiles } from '../../tools/testpki/generate.js';
import { worldConfig } from './world.js';

export function testConfig(options: { pki: TestPkiFiles; smtpPort?: number; rodUrl?: string; extra?: Record<string, string>; dir?: string }): Config {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-unit-'));
  const text = worldConfig({
    pki: options.pki,
    rodUrl: options.rodUrl ?? 'https://localhost:1/verzuim/v1',
    smtpPort: options.smtpPort ?? 25,
    dir,
    extra: options.extra ?? {},
  });
  return parseConfig(text, path.join(dir, 'relay.yaml'), {});
}
