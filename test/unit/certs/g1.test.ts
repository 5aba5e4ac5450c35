/**
 * The G1 hierarchy: a G1-style chain (PKCS#1 v1.5, SHA-256) is usable but warns that the G1 root
 * expires on 13 November 2028; the real G1 root is recognised by its published thumbprint.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { certCheckCommand } from '../../../src/app/commands/cert.js';
import { G1_ROOT_EXPIRY, KNOWN_CAS, classifyRoot } from '../../../src/certs/hierarchy.js';
import { inspectClientCertificate } from '../../../src/certs/inspect.js';
import { readCertificates } from '../../../src/certs/read.js';
import { formatReport } from '../../../src/certs/report-format.js';
import type { TlsConfig } from '../../../src/config/schema.js';
import { TEST_OIN, configFor, pkiTls, problemCodes } from '../../support/certs.js';

const g1 = inject('pkiG1');

const tls = (overrides: Partial<TlsConfig> = {}): TlsConfig => pkiTls(g1, overrides);

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-certs-g1-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a G1-style chain', () => {
  it('is usable and warns that the G1 root expires on 13 November 2028', async () => {
    const report = inspectClientCertificate(tls(), TEST_OIN);
    expect(report.problems).toEqual([]);
    expect(report.usable).toBe(true);
    expect(report.leaf?.signatureAlgorithm).toBe('sha256WithRSAEncryption');
    expect(report.leaf?.publicKey).toBe('RSA 2048');
    expect(report.warnings.map((w) => w.code).sort()).toEqual(['G1_ROOT_EXPIRES', 'ROOT_UNKNOWN_ALLOWED']);
    const g1Warning = report.warnings.find((w) => w.code === 'G1_ROOT_EXPIRES')!;
    expect(g1Warning.message).toContain('13 November 2028');
    expect(g1Warning.message).toContain(G1_ROOT_EXPIRY);
    expect(g1Warning.advice).toContain('G4');

    const out: string[] = [];
    expect(await certCheckCommand(configFor(tls(), tmp), { json: false, out: (s) => out.push(s) })).toBe(0);
    expect(out.join('')).toContain('[G1_ROOT_EXPIRES]');
    expect(formatReport(report)).toContain('13 November 2028');
  });

  it('counts the days to the end of G1 from the given moment', () => {
    const report = inspectClientCertificate(tls(), TEST_OIN, new Date(Date.now() + 86_400_000));
    const at = new Date('2028-11-13T00:00:00Z').getTime();
    const expected = Math.floor((at - (Date.now() + 86_400_000)) / 86_400_000);
    const days = Number(report.warnings.find((w) => w.code === 'G1_ROOT_EXPIRES')!.message.match(/in (-?\d+) days/)![1]);
    expect(Math.abs(days - expected)).toBeLessThanOrEqual(1);
  });

  it.each([
    ['expired', 'CERT_EXPIRED'],
    ['wrongOin', 'OIN_MISMATCH'],
    ['noClientAuth', 'EKU_NO_CLIENT_AUTH'],
    ['keyMismatch', 'KEY_MISMATCH'],
    ['missingIntermediate', 'CHAIN_INCOMPLETE'],
    ['weakKey', 'KEY_TOO_WEAK'],
    ['untrustedRoot', 'CHAIN_ROOT_NOT_TRUSTED'],
    ['notYetValid', 'CERT_NOT_YET_VALID'],
  ])('broken G1 variant %s is refused with %s', (name, code) => {
    const broken = g1.broken[name]!;
    expect(problemCodes(inspectClientCertificate(tls({ cert: broken.cert, key: broken.key }), TEST_OIN))).toEqual([code]);
  });

  it('a G1 certificate against G4 anchors does not chain, and the message names the missing G1 root', () => {
    const g4 = inject('pkiG4');
    const report = inspectClientCertificate(tls({ trustAnchors: g4.trustAnchors }), TEST_OIN);
    expect(problemCodes(report)).toEqual(['CHAIN_INCOMPLETE']);
    expect(report.problems[0]!.message).toContain("its issuer 'TRIAL Staat der Nederlanden Private Root CA - G1'");
  });
});

describe('the published PKIoverheid thumbprints', () => {
  // The real G1 root lives beside the checkout in ../shared; the test is skipped where it is not.
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const realG1Root = path.join(repoRoot, '..', 'shared', 'pkioverheid', 'staat-der-nederlanden-private-root-ca-g1.pem');

  it.skipIf(!existsSync(realG1Root))('recognise the real G1 root', () => {
    const [root] = readCertificates(realG1Root).certs;
    expect(classifyRoot(root!)).toEqual({ hierarchy: 'G1', name: 'Staat der Nederlanden Private Root CA - G1', known: true });
    // The anchors file an administrator writes: the real G1 root beside (here) a test root.
    const anchors = path.join(tmp, 'anchors.pem');
    writeFileSync(anchors, readFileSync(realG1Root, 'utf8') + readFileSync(g1.trustAnchors, 'utf8'));
    expect(readCertificates(anchors).certs).toHaveLength(2);
    expect(inspectClientCertificate(tls({ trustAnchors: anchors }), TEST_OIN).problems).toEqual([]);
  });

  it('know no root by name alone: a copy of the G1 name is "unknown"', () => {
    const [testRoot] = readCertificates(g1.trustAnchors).certs;
    // The test root's name imitates G1 ("TRIAL Staat der Nederlanden Private Root CA - G1").
    expect(classifyRoot(testRoot!)).toMatchObject({ hierarchy: 'TRIAL', known: false });
    const table = [...KNOWN_CAS.entries()];
    expect(table.filter(([, ca]) => ca.level === 'root').map(([, ca]) => ca.hierarchy).sort()).toEqual(['G1', 'G4']);
    expect(table.every(([sha]) => /^[0-9a-f]{64}$/.test(sha))).toBe(true);
    const sha = createHash('sha256').update(new X509Certificate(readFileSync(g1.trustAnchors)).raw).digest('hex');
    expect(KNOWN_CAS.has(sha)).toBe(false);
  });
});
