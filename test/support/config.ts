/** A valid configuration for in-process tests, with paths into a temp folder. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { TestPkiFiles } from '../../src/testpki/generate.js';
import { GEMEENTECODE, INSTANCES, OIN, ROUTING } from './world.js';

export function testConfig(options: { pki: TestPkiFiles; smtpPort?: number; rodUrl?: string; yaml?: string; dir?: string }): Config {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-unit-'));
  const text = `
municipality: { code: "${GEMEENTECODE}", name: Utrecht, oin: "${OIN}" }
rod: { url: "${options.rodUrl ?? 'https://localhost:1/verzuim/v1'}", pageSize: 3, timeoutSeconds: 5 }
tls: { cert: ${options.pki.clientCert}, key: ${options.pki.clientKey}, trustAnchors: ${options.pki.trustAnchors}, allowUnknownRoots: true }
routing:
  instances:
${Object.entries(INSTANCES).map(([id, i]) => `    ${id}: { name: ${i.name}, email: ${i.email} }`).join('\n')}
  verzuimsoorten:
${Object.entries(ROUTING).map(([s, id]) => `    ${s}: ${id}`).join('\n')}
  unknown: leerplicht
smtp: { host: localhost, port: ${options.smtpPort ?? 25}, from: "Verzuimrelay Utrecht <verzuim-relay@utrecht.example>", ca: ${options.pki.trustAnchors} }
storage: { path: ${path.join(dir, 'relay.db')} }
alerts: { email: applicatiebeheer@utrecht.example }
${options.yaml ?? ''}
`;
  return parseConfig(text, path.join(dir, 'relay.yaml'), {});
}
