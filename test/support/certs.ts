/**
 * Helpers shared by the certificate tests (test/certs*.test.ts): a whole, valid configuration around
 * a given tls section, and the problem codes of a report.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { configSchema, type Config, type TlsConfig } from '../../src/config/schema.js';
import type { CertificateReport } from '../../src/certs/inspect.js';
import type { TestPkiFiles } from '../../tools/testpki/generate.js';
import { MUNICIPALITY, OIN, routingSection } from './fixtures.js';

export const TEST_OIN = OIN;

/** Whether the openssl command is on this machine (the tests that use it are skipped where it is not). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function configFor(tls: TlsConfig, dir: string, municipality: { code?: string; name?: string; oin?: string } = {}): Config {
  return configSchema.parse({
    municipality: { code: municipality.code ?? MUNICIPALITY.code, name: municipality.name ?? MUNICIPALITY.name, oin: municipality.oin ?? MUNICIPALITY.oin },
    rod: { url: 'https://rod.duo.example/verzuim/v1' },
    tls,
    routing: routingSection(),
    smtp: { host: 'smtp.utrecht.example', from: 'relay@utrecht.example' },
    storage: { path: path.join(dir, 'relay.db') },
  });
}

export function problemCodes(report: CertificateReport): string[] {
  return report.problems.map((p) => p.code);
}

/** A tls section for the given files, TRIAL roots allowed, the defaults otherwise. */
export function tlsSection(files: Pick<TlsConfig, 'cert' | 'key' | 'trustAnchors'>, overrides: Partial<TlsConfig> = {}): TlsConfig {
  return { ...files, allowUnknownRoots: true, expiryWarningDays: 60, ...overrides };
}

/** The tls section for a generated test PKI's client certificate. */
export function pkiTls(pki: TestPkiFiles, overrides: Partial<TlsConfig> = {}): TlsConfig {
  return tlsSection({ cert: pki.clientCert, key: pki.clientKey, trustAnchors: pki.trustAnchors }, overrides);
}
