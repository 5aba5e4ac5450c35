/**
 * Makes the test PKIs once per test run and hands their file paths to every
 * test file through vitest's provide/inject.
 *
 * Only the G4 hierarchy keeps the real key sizes (CAs RSA 4096, leaves RSA
 * 3072): the certificate report tests assert them. The others use RSA 2048
 * where their key size is beside the point (G1's leaves are 2048 anyway), as
 * RSA 4096 key generation takes seconds a key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { generateTestPki, type TestPkiFiles } from '../../tools/testpki/generate.js';
import { TEST_KEY_BITS } from '../../tools/testpki/profiles.js';

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
    generateTestPki({ dir: path.join(dir, 'g1'), style: 'G1', keyBits: TEST_KEY_BITS }),
    generateTestPki({ dir: path.join(dir, 'foreign'), style: 'G4', variants: false, keyBits: TEST_KEY_BITS }),
    generateTestPki({ dir: path.join(dir, 'wrong-name'), style: 'G4', variants: false, serverNames: ['rod.elders.example'], keyBits: TEST_KEY_BITS }),
  ]);
  project.provide('pkiG4', g4);
  project.provide('pkiG1', g1);
  project.provide('pkiForeign', foreign);
  project.provide('pkiWrongName', wrongName);
  return () => rmSync(dir, { recursive: true, force: true });
}
