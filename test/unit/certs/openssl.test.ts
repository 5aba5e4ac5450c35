/**
 * Certificates made by another tool: the openssl command line, as administrators and TSPs use it. A
 * G4-like hierarchy signed with RSASSA-PSS (SHA-512, MGF1 SHA-512, salt 64), a PKCS#12 from
 * `openssl pkcs12 -export`, .p7b files from `openssl crl2pkcs7 -nocrl`, PKCS#1 keys from
 * `openssl rsa -traditional`, and an EC leaf in a PKCS#12 (a key type node-forge refuses).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectClientCertificate } from '../../../src/certs/inspect.js';
import { CertificateError, readCertificates, readPkcs12, readPrivateKey } from '../../../src/certs/read.js';
import type { TlsConfig } from '../../../src/config/schema.js';
import { TEST_OIN, hasOpenssl, problemCodes, tlsSection } from '../../support/certs.js';

const PSS = ['-sha512', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:64', '-sigopt', 'rsa_mgf1_md:sha512'];
const PASS = 'Geheim-2026!';

const EXTENSIONS = `
[ req ]
distinguished_name = dn
[ dn ]
[ v3_root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_ca ]
basicConstraints = critical, CA:true, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:verzuim-relay.utrecht.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

describe.skipIf(!hasOpenssl())('certificates made with the openssl command line', () => {
  let dir: string;
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let legacyPkcs12 = false;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-openssl-'));
    writeFileSync(f('ext.cnf'), EXTENSIONS);
    const key = (name: string, bits = 3072) => openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`, '-out', name);
    const issue = (csr: string, caCert: string, caKey: string, ext: string, days: number, out: string) =>
      openssl('x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', `0x${createHash('sha1').update(out).digest('hex').slice(0, 16)}`, '-days', String(days), ...PSS, '-extfile', 'ext.cnf', '-extensions', ext, '-out', out);

    key('root.key');
    openssl('req', '-x509', '-new', '-key', 'root.key', '-subj', '/C=NL/O=TRIAL OpenSSL PKI/CN=TRIAL OpenSSL Root - G4', '-days', '3650', ...PSS, '-config', 'ext.cnf', '-extensions', 'v3_root', '-out', 'root.crt');
    key('domain.key');
    openssl('req', '-new', '-key', 'domain.key', '-subj', '/C=NL/O=TRIAL OpenSSL PKI/CN=TRIAL OpenSSL Intm - G4', '-config', 'ext.cnf', '-out', 'domain.csr');
    issue('domain.csr', 'root.crt', 'root.key', 'v3_ca', 3000, 'domain.crt');
    key('tsp.key');
    openssl('req', '-new', '-key', 'tsp.key', '-subj', '/C=NL/O=TRIAL OpenSSL TSP/CN=TRIAL OpenSSL TSP - G4 PKIo Priv G-TLS SYS', '-config', 'ext.cnf', '-out', 'tsp.csr');
    issue('tsp.csr', 'domain.crt', 'domain.key', 'v3_ca', 2000, 'tsp.crt');

    const subject = `/C=NL/O=TRIAL Gemeente Utrecht/organizationIdentifier=NTRNL-30280353/serialNumber=${TEST_OIN}/CN=verzuim-relay.utrecht.example`;
    key('leaf.key');
    openssl('req', '-new', '-key', 'leaf.key', '-subj', subject, '-config', 'ext.cnf', '-out', 'leaf.csr');
    issue('leaf.csr', 'tsp.crt', 'tsp.key', 'v3_leaf', 365, 'leaf.crt');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ec.key');
    openssl('req', '-new', '-key', 'ec.key', '-subj', subject, '-config', 'ext.cnf', '-out', 'ec.csr');
    issue('ec.csr', 'tsp.crt', 'tsp.key', 'v3_leaf', 365, 'ec.crt');

    const chain = readFileSync(f('tsp.crt'), 'utf8') + readFileSync(f('domain.crt'), 'utf8');
    writeFileSync(f('chain.pem'), chain);
    writeFileSync(f('client.crt'), readFileSync(f('leaf.crt'), 'utf8') + chain);
    openssl('x509', '-in', 'leaf.crt', '-outform', 'DER', '-out', 'leaf.cer');
    openssl('crl2pkcs7', '-nocrl', '-certfile', 'client.crt', '-outform', 'DER', '-out', 'client.p7b');
    openssl('crl2pkcs7', '-nocrl', '-certfile', 'client.crt', '-out', 'client-pem.p7b');
    openssl('rsa', '-in', 'leaf.key', '-traditional', '-out', 'leaf-pkcs1.key');
    openssl('rsa', '-in', 'leaf.key', '-traditional', '-aes256', '-passout', `pass:${PASS}`, '-out', 'leaf-pkcs1-enc.key');
    openssl('pkcs8', '-topk8', '-in', 'leaf.key', '-v2', 'aes-256-cbc', '-passout', `pass:${PASS}`, '-out', 'leaf-pkcs8-enc.key');
    openssl('pkcs12', '-export', '-in', 'leaf.crt', '-inkey', 'leaf.key', '-certfile', 'chain.pem', '-name', 'verzuim-relay', '-passout', `pass:${PASS}`, '-out', 'client.p12');
    openssl('pkcs12', '-export', '-in', 'ec.crt', '-inkey', 'ec.key', '-certfile', 'chain.pem', '-passout', `pass:${PASS}`, '-out', 'ec.p12');
    openssl('pkcs12', '-export', '-nokeys', '-in', 'leaf.crt', '-certfile', 'chain.pem', '-passout', `pass:${PASS}`, '-out', 'nokey.p12');
    try {
      // Older Windows-style encryption (RC2-40 for the certificates, 3DES for the key, SHA-1 MAC);
      // needs OpenSSL's legacy provider to write, which not every machine has.
      openssl('pkcs12', '-export', '-legacy', '-in', 'leaf.crt', '-inkey', 'leaf.key', '-certfile', 'chain.pem', '-passout', `pass:${PASS}`, '-out', 'legacy.p12');
      legacyPkcs12 = true;
    } catch {
      legacyPkcs12 = false;
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tls = (overrides: Partial<TlsConfig> = {}): TlsConfig =>
    tlsSection({ cert: f('client.crt'), key: f('leaf.key'), trustAnchors: f('root.crt') }, overrides);
  const leafSha = () => createHash('sha256').update(readFileSync(f('leaf.cer'))).digest('hex');

  it('openssl itself accepts the chain (the reference verdict)', () => {
    expect(openssl('verify', '-CAfile', 'root.crt', '-untrusted', 'chain.pem', 'leaf.crt').toString()).toContain('leaf.crt: OK');
  });

  it('the relay accepts the PSS-signed chain and describes it', () => {
    const report = inspectClientCertificate(tls(), TEST_OIN);
    expect(report.problems).toEqual([]);
    expect(report.usable).toBe(true);
    expect(report.hierarchy).toBe('TRIAL');
    expect(report.oin).toBe(TEST_OIN);
    expect(report.chain.map((c) => [c.role, c.signatureAlgorithm])).toEqual([
      ['leaf', 'RSASSA-PSS (SHA-512)'],
      ['intermediate', 'RSASSA-PSS (SHA-512)'],
      ['intermediate', 'RSASSA-PSS (SHA-512)'],
      ['root', 'RSASSA-PSS (SHA-512)'],
    ]);
    expect(report.leaf?.sha256).toBe(leafSha());
    expect(report.leaf?.serialNumber.toLowerCase()).toBe(
      openssl('x509', '-in', 'leaf.crt', '-noout', '-serial').toString().trim().replace(/^serial=/, '').toLowerCase(),
    );
    expect(report.leaf?.subject).toContain('organizationIdentifier=NTRNL-30280353');
  });

  it.each([
    ['a DER .cer with the chain in the anchors file', { cert: 'leaf.cer', anchorsWithChain: true }],
    ['a DER .p7b from crl2pkcs7', { cert: 'client.p7b' }],
    ['a PEM .p7b from crl2pkcs7', { cert: 'client-pem.p7b' }],
  ])('reads %s', (_label, c: { cert: string; anchorsWithChain?: boolean }) => {
    let trustAnchors = f('root.crt');
    if (c.anchorsWithChain) {
      trustAnchors = f('anchors-with-chain.pem');
      writeFileSync(trustAnchors, readFileSync(f('root.crt'), 'utf8') + readFileSync(f('chain.pem'), 'utf8'));
    }
    const report = inspectClientCertificate(tls({ cert: f(c.cert), trustAnchors }), TEST_OIN);
    expect(report.problems).toEqual([]);
    expect(report.leaf?.sha256).toBe(leafSha());
  });

  it('reads PKCS#1 keys from `openssl rsa -traditional`, plain and encrypted, and encrypted PKCS#8', () => {
    expect(readFileSync(f('leaf-pkcs1.key'), 'utf8')).toContain('BEGIN RSA PRIVATE KEY');
    expect(readFileSync(f('leaf-pkcs1-enc.key'), 'utf8')).toContain('Proc-Type: 4,ENCRYPTED');
    for (const [file, pass] of [['leaf-pkcs1.key', undefined], ['leaf-pkcs1-enc.key', PASS], ['leaf-pkcs8-enc.key', PASS]] as const) {
      expect(readPrivateKey(f(file), pass).asymmetricKeyType).toBe('rsa');
      expect(inspectClientCertificate(tls({ key: f(file), keyPassphrase: pass }), TEST_OIN).problems).toEqual([]);
    }
    expect(() => readPrivateKey(f('leaf-pkcs1-enc.key'), 'fout')).toThrow(CertificateError);
  });

  it('reads the PKCS#12 from `openssl pkcs12 -export` (AES-256, PBKDF2, SHA-256 MAC)', () => {
    const p12 = readPkcs12(f('client.p12'), PASS);
    expect(p12.certs).toHaveLength(3);
    const report = inspectClientCertificate(tls({ cert: undefined, key: undefined, pfx: f('client.p12'), pfxPassphrase: PASS }), TEST_OIN);
    expect(report.problems).toEqual([]);
    expect(report.leaf?.sha256).toBe(leafSha());
  });

  it('reads an EC P-256 leaf from a PKCS#12 (forge refuses the key type; the ASN.1 walk does not)', () => {
    const report = inspectClientCertificate(tls({ cert: undefined, key: undefined, pfx: f('ec.p12'), pfxPassphrase: PASS }), TEST_OIN);
    expect(report.problems).toEqual([]);
    expect(report.leaf?.publicKey).toBe('EC P-256');
    expect(report.leaf?.signatureAlgorithm).toBe('RSASSA-PSS (SHA-512)');
    // Fine for TLS, but Edukoppeling's message signature is RSA-SHA256: said as a warning.
    expect(report.signsEdukoppeling).toBe(false);
    expect(report.warnings.map((w) => w.code)).toContain('KEY_CANNOT_SIGN_EDUKOPPELING');
  });

  it('reads a legacy PKCS#12 (RC2-40, 3DES, SHA-1 MAC) when this openssl can write one', (ctx) => {
    if (!legacyPkcs12) ctx.skip();
    const report = inspectClientCertificate(tls({ cert: undefined, key: undefined, pfx: f('legacy.p12'), pfxPassphrase: PASS }), TEST_OIN);
    expect(report.problems).toEqual([]);
  });

  it('reads the PEM that `openssl pkcs12 -nodes` prints (bag attributes, certificates and key in one file) as both tls.cert and tls.key', () => {
    openssl('pkcs12', '-in', 'client.p12', '-nodes', '-passin', `pass:${PASS}`, '-out', 'all-in-one.pem');
    const text = readFileSync(f('all-in-one.pem'), 'utf8');
    expect(text).toContain('Bag Attributes');
    expect(text).toContain('PRIVATE KEY');
    const report = inspectClientCertificate(tls({ cert: f('all-in-one.pem'), key: f('all-in-one.pem') }), TEST_OIN);
    expect(report.problems).toEqual([]);
    expect(report.leaf?.sha256).toBe(leafSha());
  });

  it('refuses a PKCS#12 without the key, and one opened with the wrong passphrase', () => {
    const nokey = inspectClientCertificate(tls({ cert: undefined, key: undefined, pfx: f('nokey.p12'), pfxPassphrase: PASS }), TEST_OIN);
    expect(problemCodes(nokey)).toEqual(['PFX_NO_KEY']);
    expect(nokey.problems[0]!.message).toBe('nokey.p12: the PKCS#12 bundle holds certificates but no private key');
    const wrong = inspectClientCertificate(tls({ cert: undefined, key: undefined, pfx: f('client.p12'), pfxPassphrase: 'fout' }), TEST_OIN);
    expect(problemCodes(wrong)).toEqual(['PFX_PASSPHRASE_WRONG']);
  });

  it('refuses the openssl chain against the wrong OIN, with both OINs in the message', () => {
    const report = inspectClientCertificate(tls(), '00000001001234567000');
    expect(problemCodes(report)).toEqual(['OIN_MISMATCH']);
    expect(report.problems[0]!.message).toContain(TEST_OIN);
    expect(report.problems[0]!.message).toContain('00000001001234567000');
  });

  it('agrees with openssl that a leaf does not chain without its TSP CA', () => {
    expect(() => openssl('verify', '-CAfile', 'root.crt', 'leaf.crt')).toThrow();
    const report = inspectClientCertificate(tls({ cert: f('leaf.crt') }), TEST_OIN);
    expect(problemCodes(report)).toEqual(['CHAIN_INCOMPLETE']);
    expect(report.problems[0]!.message).toContain("its issuer 'TRIAL OpenSSL TSP - G4 PKIo Priv G-TLS SYS'");
  });

  it('reads certificates openssl wrote in one DER .p7b byte for byte', () => {
    const pem = readCertificates(f('client.crt')).certs.map((c) => c.raw.toString('hex'));
    expect(readCertificates(f('client.p7b')).certs.map((c) => c.raw.toString('hex'))).toEqual(pem);
  });
});
