/**
 * `cert request`'s CSR, opened by other readers than the one that wrote it: the openssl command line
 * when there is one, and node-forge (PKCS#1 v1.5 signatures it verifies well): subject, key size,
 * self-signature. Then a certificate issued on it by the test PKI (as a TSP would) passes the
 * certificate check, in tls.next beside the current one.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { certCheckCommand } from '../../../src/app/commands/cert.js';
import { createCsr, readCsr, type GeneratedCsr } from '../../../src/certs/csr.js';
import { inspectClientCertificate } from '../../../src/certs/inspect.js';
import { issueOnCsr } from '../../../tools/testpki/issue-on-csr.js';
import { TEST_OIN, hasOpenssl, configFor, pkiTls } from '../../support/certs.js';

const pki = inject('pkiG4');
const subject = { organisation: 'Gemeente Utrecht', commonName: 'verzuim-relay.utrecht.nl', kvk: '30280353', oin: TEST_OIN };

describe('cert request: the CSR', () => {
  let csr: GeneratedCsr;
  beforeAll(async () => {
    csr = await createCsr({ ...subject, bits: 3072 });
  });

  it('carries the subject a TSP needs, an RSA 3072 key, and a signature that verifies (node-forge)', () => {
    const parsed = forge.pki.certificationRequestFromPem(csr.csrPem);
    expect(parsed.verify()).toBe(true);
    const field = (type: string) => parsed.subject.attributes.find((a) => a.type === type)?.value;
    expect(field('2.5.4.6')).toBe('NL');
    expect(field('2.5.4.10')).toBe('Gemeente Utrecht');
    expect(field('2.5.4.97')).toBe('NTRNL-30280353');
    expect(field('2.5.4.5')).toBe(TEST_OIN);
    expect(field('2.5.4.3')).toBe('verzuim-relay.utrecht.nl');
    expect((parsed.publicKey as forge.pki.rsa.PublicKey).n.bitLength()).toBe(3072);
  });

  it.runIf(hasOpenssl())('is what openssl reads: verify OK, the subject, RSA 3072', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-csr-'));
    const file = path.join(dir, 'client.csr');
    writeFileSync(file, csr.csrPem);
    const text = execFileSync('openssl', ['req', '-in', file, '-noout', '-verify', '-text', '-nameopt', 'RFC2253'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(text).toMatch(/serialNumber=00000001002220647000|2\.5\.4\.5=#/);
    expect(text).toMatch(/CN=verzuim-relay\.utrecht\.nl/);
    expect(text).toMatch(/3072 bit/);
  });

  it('reads back as asked, and the key belongs to it', async () => {
    expect(await readCsr(csr.csrPem)).toEqual({ signatureValid: true, keyBits: 3072, country: 'NL', ...{ organisation: subject.organisation, organizationIdentifier: 'NTRNL-30280353', serialNumber: TEST_OIN, commonName: subject.commonName } });
    expect(createPrivateKey(csr.keyPem).asymmetricKeyDetails?.modulusLength).toBe(3072);
  });

  it('encrypts the key with a passphrase when asked, and makes RSA 4096 when asked', async () => {
    const encrypted = await createCsr({ ...subject, bits: 4096, passphrase: 'geheim-2026' });
    expect(encrypted.keyPem).toContain('ENCRYPTED PRIVATE KEY');
    expect(() => createPrivateKey(encrypted.keyPem)).toThrow();
    expect(createPrivateKey({ key: encrypted.keyPem, passphrase: 'geheim-2026' }).asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect((await readCsr(encrypted.csrPem)).keyBits).toBe(4096);
  });

  it('refuses a subject a TSP would refuse, before making a key', async () => {
    await expect(createCsr({ ...subject, kvk: '1234', bits: 3072 })).rejects.toThrow(/--kvk expects the KvK number, 8 digits/);
    await expect(createCsr({ ...subject, commonName: 'with space', bits: 3072 })).rejects.toThrow(/--cn expects/);
  });

  it('a certificate the test PKI issues on it is usable, also as tls.next beside the current one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-csr-'));
    const cert = path.join(dir, 'client.crt');
    const key = path.join(dir, 'client.key');
    writeFileSync(cert, await issueOnCsr({ pki, csrPem: csr.csrPem }));
    writeFileSync(key, csr.keyPem, { mode: 0o600 });
    const report = inspectClientCertificate(pkiTls(pki, { cert, key }), TEST_OIN);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ usable: true, oin: TEST_OIN, leaf: { publicKey: 'RSA 3072' } });

    const config = configFor(pkiTls(pki, { next: { cert, key } }), dir);
    let out = '';
    expect(await certCheckCommand(config, { json: false, out: (s) => (out += s) })).toBe(0);
    expect(out).toContain('Next certificate (tls.next)');
    expect(out).toMatch(/Chains to tls.trustAnchors: yes/);
    expect(out).toMatch(/Same OIN as tls: +yes \(00000001002220647000\)/);
  });
});
