/**
 * Makes the test PKIs once per test run (RSA 4096 keys take seconds) and
 * hands their file paths to every test file through vitest's provide/inject.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { generateTestPki, type TestPkiFiles } from '../../tools/testpki/generate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pkiG4: TestPkiFiles;
    pkiG1: TestPkiFiles;
    /** A second, unrelated hierarchy: its root is not among the relay's anchors. */
    pkiForeign: TestPkiFiles;
    /** The G4 hierarchy again, with a server certificate for another host name. */
    pkiWrongName: TestPkiFiles;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-test-pki-'));
  const [g4, g1, foreign, wrongName] = await Promise.all([
    generateTestPki({ dir: path.join(dir, 'g4'), style: 'G4' }),
    generateTestPki({ dir: path.join(dir, 'g1'), style: 'G1' }),
    generateTestPki({ dir: path.join(dir, 'foreign'), style: 'G4', variants: false }),
    generateTestPki({ dir: path.join(dir, 'wrong-name'), style: 'G4', variants: false, serverNames: ['rod.elders.example'] }),
  ]);
  project.provide('pkiG4', g4);
  project.provide('pkiG1', g1);
  project.provide('pkiForeign', foreign);
  project.provide('pkiWrongName', wrongName);
  return () => rmSync(dir, { recursive: true, force: true });
}
