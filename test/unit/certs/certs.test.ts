/**
 * The certificate checks against the test PKI's G4-style hierarchy (RSASSA-PSS everywhere): every
 * format an administrator may bring loads, every broken variant is refused with its own problem code
 * and exit status 2, and the credentials really work in a mutual-TLS handshake.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildChain } from '../../../src/certs/chain.js';
import { loadClientCredentials, verifyServerChain } from '../../../src/certs/credentials.js';
import { classifyRoot } from '../../../src/certs/hierarchy.js';
import { inspectClientCertificate } from '../../../src/certs/inspect.js';
import { CertificateError, readCertificates, readPkcs12, readPrivateKey } from '../../../src/certs/read.js';
import { formatReport } from '../../../src/certs/report-format.js';
import { certCheckCommand } from '../../../src/app/commands/cert.js';
import type { TlsConfig } from '../../../src/config/schema.js';
import { configFor, pkiTls, problemCodes } from '../../support/certs.js';

const pki = inject('pkiG4');
const foreign = inject('pkiForeign');
const OIN = '00000001002220647000';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-certs-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tls = (overrides: Partial<TlsConfig> = {}): TlsConfig => pkiTls(pki, overrides);

function sha256(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

const leafSha = () => sha256(readCertificates(pki.clientCert).certs[0]!.raw);

function expectCode(fn: () => unknown, code: string): CertificateError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CertificateError);
    const problems = (err as CertificateError).problems;
    expect(problems.map((p) => p.code)).toEqual([code]);
    expect(problems[0]!.advice.length).toBeGreaterThan(10);
    return err as CertificateError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

function file(name: string, content: string | Buffer): string {
  const p = path.join(tmp, name);
  writeFileSync(p, content);
  return p;
}

const rootAndIntermediates = () =>
  file('root-and-intermediates.pem', readFileSync(pki.trustAnchors, 'utf8') + readFileSync(pki.intermediates, 'utf8'));

describe('the generated G4 client certificate', () => {
  it('is usable, and the report says what it is', () => {
    const report = inspectClientCertificate(tls(), OIN);
    expect(report.problems).toEqual([]);
    expect(report.usable).toBe(true);
    expect(report.oin).toBe(OIN);
    expect(report.hierarchy).toBe('TRIAL');
    expect(report.rootKnown).toBe(false);
    expect(report.chain.map((c) => c.role)).toEqual(['leaf', 'intermediate', 'intermediate', 'root']);
    expect(report.leaf?.signatureAlgorithm).toBe('RSASSA-PSS (SHA-512)');
    expect(report.chain.every((c) => c.signatureAlgorithm === 'RSASSA-PSS (SHA-512)')).toBe(true);
    expect(report.leaf?.publicKey).toBe('RSA 3072');
    expect(report.chain[3]?.publicKey).toBe('RSA 4096');
    // A G4 certificate's CA signs with PSS; its key still makes Edukoppeling's PKCS#1 v1.5 signature.
    expect(report.signsEdukoppeling).toBe(true);
    expect(report.warnings.map((w) => w.code)).not.toContain('KEY_CANNOT_SIGN_EDUKOPPELING');
    expect(report.leaf?.sha256).toBe(leafSha());
    expect(report.leaf?.subject).toContain(`serialNumber=${OIN}`);
    expect(report.daysLeft).toBeGreaterThanOrEqual(363);
    expect(report.daysLeft).toBeLessThanOrEqual(365);
    // Accepted only because allowUnknownRoots is set, and said so.
    expect(report.warnings.map((w) => w.code)).toEqual(['ROOT_UNKNOWN_ALLOWED']);
    expect(report.warnings[0]!.message).toContain('TRIAL PKIoverheid - G4 Root Priv G-TLS - 2024');
  });

  it('is refused without tls.allowUnknownRoots: the TRIAL root is no PKIoverheid root', async () => {
    const report = inspectClientCertificate(tls({ allowUnknownRoots: false }), OIN);
    expect(problemCodes(report)).toEqual(['ROOT_UNKNOWN']);
    expect(report.problems[0]!.file).toBe(pki.trustAnchors);
    expect(report.problems[0]!.message).toMatch(/^root\.pem: .*TRIAL PKIoverheid - G4 Root Priv G-TLS - 2024/);
    expect(classifyRoot(readCertificates(pki.trustAnchors).certs[0]!)).toEqual({
      hierarchy: 'TRIAL',
      name: 'TRIAL PKIoverheid - G4 Root Priv G-TLS - 2024',
      known: false,
    });
    const out: string[] = [];
    const config = configFor(tls({ allowUnknownRoots: false }), tmp);
    expect(await certCheckCommand(config, { json: false, out: (s) => out.push(s) })).toBe(2);
    expect(out.join('')).toContain('[ROOT_UNKNOWN]');
  });

  it('warns when the certificate expires within tls.expiryWarningDays', () => {
    const now = new Date(Date.now() + 320 * 86_400_000);
    const report = inspectClientCertificate(tls({ expiryWarningDays: 60 }), OIN, now);
    expect(report.usable).toBe(true);
    const warning = report.warnings.find((w) => w.code === 'CERT_EXPIRES_SOON');
    expect(warning?.message).toMatch(/expires on \d{4}-\d{2}-\d{2}, in 4[3-5] days/);
  });

  it('prints a readable report for `cert check`, and JSON on request', async () => {
    const text = formatReport(inspectClientCertificate(tls(), OIN));
    expect(text).toMatch(/^Certificate: USABLE/);
    expect(text).toContain('RSASSA-PSS (SHA-512)');
    expect(text).toContain(leafSha());
    expect(text).toContain(`OIN:       ${OIN}`);
    expect(text).toMatch(/\d+ days left/);
    expect(text).toContain('TRIAL (test hierarchy, no trust)');
    expect(text).toContain('[ROOT_UNKNOWN_ALLOWED]');
    expect(text).toContain('Signing:   the key signs Edukoppeling requests');

    const out: string[] = [];
    expect(await certCheckCommand(configFor(tls(), tmp), { json: true, out: (s) => out.push(s) })).toBe(0);
    const json = JSON.parse(out.join(''));
    expect(json).toMatchObject({ usable: true, oin: OIN, hierarchy: 'TRIAL', leaf: { sha256: leafSha() } });
  });
});

describe('every format administrators bring', () => {
  const certFormats = ['leafCerPem', 'leafCerDer', 'leafCrtDer', 'chainPem', 'p7bPem', 'p7bDer'] as const;

  const leafOnly = new Set<string>(['leafCerPem', 'leafCerDer', 'leafCrtDer']);

  it.each(certFormats)('reads the certificate from %s and finds the leaf in it', (name) => {
    const set = readCertificates(pki.formats[name]!);
    expect(set.certs.map((c) => sha256(c.raw))).toContain(leafSha());
    // A file with only the leaf needs the intermediates beside the root in the trust-anchors file.
    const trustAnchors = leafOnly.has(name) ? rootAndIntermediates() : pki.trustAnchors;
    const report = inspectClientCertificate(tls({ cert: pki.formats[name], trustAnchors }), OIN);
    expect(report.problems).toEqual([]);
    expect(report.leaf?.sha256).toBe(leafSha());
  });

  it('reads a PEM saved on Windows (byte-order mark, CRLF line ends, text around the blocks)', () => {
    const pem = readFileSync(pki.clientCert, 'utf8').replace(/\n/g, '\r\n');
    const windows = file('windows.crt', `\uFEFFCertificaat van de TSP\r\n${pem}\r\n`);
    const report = inspectClientCertificate(tls({ cert: windows }), OIN);
    expect(report.problems).toEqual([]);
    expect(report.leaf?.sha256).toBe(leafSha());
  });

  it('keeps the certificates of a .p7b byte for byte and in file order', () => {
    const fromPem = readCertificates(pki.clientCert).certs.map((c) => sha256(c.raw));
    expect(readCertificates(pki.formats.p7bDer!).certs.map((c) => sha256(c.raw))).toEqual(fromPem);
    expect(readCertificates(pki.formats.p7bPem!).certs.map((c) => sha256(c.raw))).toEqual(fromPem);
  });

  it('takes the intermediates from the trust-anchors file when the certificate file holds only the leaf', () => {
    const alone = inspectClientCertificate(tls({ cert: pki.formats.leafCerDer }), OIN);
    expect(problemCodes(alone)).toEqual(['CHAIN_INCOMPLETE']);
    const report = inspectClientCertificate(tls({ cert: pki.formats.leafCerDer, trustAnchors: rootAndIntermediates() }), OIN);
    expect(report.problems).toEqual([]);
    expect(report.chain).toHaveLength(4);
  });

  it.each([
    ['keyPkcs1Pem', undefined],
    ['keyPkcs8EncryptedPem', 'passphrase'],
    ['keyPkcs1EncryptedPem', 'passphrase'],
  ] as const)('reads the key %s', (name, pass) => {
    const keyPassphrase = pass ? pki.passphrase : undefined;
    const key = readPrivateKey(pki.formats[name]!, keyPassphrase);
    expect(key.type).toBe('private');
    expect(inspectClientCertificate(tls({ key: pki.formats[name], keyPassphrase }), OIN).problems).toEqual([]);
  });

  it.each(['pfx', 'pfxAlt'] as const)('reads the PKCS#12 bundle %s (AES and 3DES)', (name) => {
    const p12 = readPkcs12(pki.formats[name]!, pki.passphrase);
    expect(p12.certs.map((c) => sha256(c.raw))).toContain(leafSha());
    expect(p12.certs[0]!.checkPrivateKey(p12.key)).toBe(true);
    const report = inspectClientCertificate(
      tls({ cert: undefined, key: undefined, pfx: pki.formats[name], pfxPassphrase: pki.passphrase }),
      OIN,
    );
    expect(report.problems).toEqual([]);
    expect(report.files.pfx).toBe(pki.formats[name]);
  });
});

describe('files that are not what the setting expects', () => {
  it('an encrypted key without a passphrase, and with a wrong one', () => {
    expectCode(() => readPrivateKey(pki.formats.keyPkcs8EncryptedPem!), 'KEY_PASSPHRASE_MISSING');
    expectCode(() => readPrivateKey(pki.formats.keyPkcs1EncryptedPem!, 'wrong'), 'KEY_PASSPHRASE_WRONG');
    const e = expectCode(() => readPrivateKey(pki.formats.keyPkcs8EncryptedPem!, 'wrong'), 'KEY_PASSPHRASE_WRONG');
    expect(e.problems[0]!.advice).toContain('tls.keyPassphrase');
  });

  it('a PKCS#12 bundle with a wrong or no passphrase', () => {
    expectCode(() => readPkcs12(pki.clientPfx, 'wrong'), 'PFX_PASSPHRASE_WRONG');
    expectCode(() => readPkcs12(pki.formats.pfxAlt!, 'wrong'), 'PFX_PASSPHRASE_WRONG');
    expectCode(() => readPkcs12(pki.clientPfx), 'PFX_PASSPHRASE_MISSING');
  });

  it('a key given as the certificate, a certificate given as the key, a PKCS#12 given as either', () => {
    const e = expectCode(() => readCertificates(pki.clientKey, { setting: 'tls.cert' }), 'CERT_FILE_HOLDS_KEY');
    expect(e.problems[0]!.message).toBe('client.key: this file holds a private key, not a certificate');
    expect(e.problems[0]!.advice).toContain('tls.key');
    expectCode(() => readPrivateKey(pki.clientCert), 'KEY_FILE_HOLDS_CERT');
    expectCode(() => readPrivateKey(pki.formats.leafCerDer!), 'KEY_FILE_HOLDS_CERT');
    expectCode(() => readCertificates(pki.clientPfx), 'CERT_FILE_IS_PKCS12');
    expectCode(() => readPrivateKey(pki.clientPfx), 'KEY_FILE_IS_PKCS12');
    expectCode(() => readPkcs12(pki.clientCert), 'PFX_UNREADABLE');

    // In the report, both mistakes at once, each with its file.
    const report = inspectClientCertificate(tls({ cert: pki.clientKey, key: pki.clientCert }), OIN);
    expect(problemCodes(report)).toEqual(['CERT_FILE_HOLDS_KEY', 'KEY_FILE_HOLDS_CERT']);
    expect(report.problems.map((p) => p.file)).toEqual([pki.clientKey, pki.clientCert]);
  });

  it('a missing file, an empty file, garbage, a damaged certificate', () => {
    expectCode(() => readCertificates(path.join(tmp, 'nope.crt')), 'FILE_NOT_FOUND');
    expectCode(() => readCertificates(file('empty.crt', '\n')), 'FILE_EMPTY');
    expectCode(() => readCertificates(file('garbage.crt', 'hello world\n')), 'CERT_FORMAT_UNKNOWN');
    const pem = readFileSync(pki.formats.leafCerPem!, 'utf8');
    const lines = pem.split('\n');
    lines[3] = 'AAAA' + lines[3]!.slice(4);
    expectCode(() => readCertificates(file('damaged.crt', lines.join('\n'))), 'CERT_UNPARSABLE');
  });

  it('a trust-anchors file without certificates, or missing', () => {
    const report = inspectClientCertificate(tls({ trustAnchors: pki.clientKey }), OIN);
    expect(problemCodes(report)).toEqual(['ANCHORS_EMPTY']);
    expect(report.problems[0]!.file).toBe(pki.clientKey);
    const missing = inspectClientCertificate(tls({ trustAnchors: path.join(tmp, 'none.pem') }), OIN);
    expect(problemCodes(missing)).toEqual(['FILE_NOT_FOUND']);
    expect(missing.problems[0]!.advice).toContain('tls.trustAnchors');
  });

  it('a trust-anchors file with intermediates but no root', () => {
    const report = inspectClientCertificate(tls({ trustAnchors: pki.intermediates }), OIN);
    expect(problemCodes(report)).toContain('ANCHORS_NO_ROOT');
    expect(report.usable).toBe(false);
    expect(report.problems.find((p) => p.code === 'ANCHORS_NO_ROOT')!.advice).toContain('root');
  });

  it('a file with only CA certificates', () => {
    const report = inspectClientCertificate(tls({ cert: pki.intermediates }), OIN);
    expect(problemCodes(report)).toEqual(['LEAF_NOT_FOUND']);
  });

  it('a certificate whose signature was tampered with', () => {
    const leaf = readCertificates(pki.formats.leafCerDer!).certs[0]!;
    const der = Buffer.from(leaf.raw);
    der[der.length - 10] = der[der.length - 10]! ^ 0xff; // inside the signature value
    const tampered = new X509Certificate(der);
    const pemText = tampered.toString() + readFileSync(pki.intermediates, 'utf8');
    const report = inspectClientCertificate(tls({ cert: file('tampered.crt', pemText) }), OIN);
    expect(problemCodes(report)).toEqual(['CHAIN_SIGNATURE_INVALID']);
    expect(report.problems[0]!.message).toContain('TRIAL Verzuim Test TSP - G4 PKIo Priv G-TLS SYS - 2025');
  });
});

describe('broken client certificates', () => {
  const cases: [string, string, RegExp][] = [
    ['expired', 'CERT_EXPIRED', /the certificate '.*' expired on \d{4}-\d{2}-\d{2}/],
    ['notYetValid', 'CERT_NOT_YET_VALID', /is not valid before/],
    ['wrongOin', 'OIN_MISMATCH', /carries OIN 00000001009999999000, but municipality.oin is 00000001002220647000/],
    ['noClientAuth', 'EKU_NO_CLIENT_AUTH', /^client\.crt: the certificate 'verzuim-relay\.utrecht\.example' has no extended key usage clientAuth/],
    ['keyMismatch', 'KEY_MISMATCH', /^client\.key: the private key does not belong to the certificate/],
    ['missingIntermediate', 'CHAIN_INCOMPLETE', /the chain stops at 'verzuim-relay\.utrecht\.example': its issuer 'TRIAL Verzuim Test TSP - G4 PKIo Priv G-TLS SYS - 2025' is not in tls\.cert or tls\.trustAnchors/],
    ['weakKey', 'KEY_TOO_WEAK', /RSA 1024/],
    ['untrustedRoot', 'CHAIN_ROOT_NOT_TRUSTED', /chains to the root 'TRIAL Untrusted Test Root - G4', which is not among the trust anchors in root\.pem/],
  ];

  it.each(cases)('%s is refused with %s', async (name, code, message) => {
    const broken = pki.broken[name]!;
    const config = tls({ cert: broken.cert, key: broken.key });
    const report = inspectClientCertificate(config, OIN);
    expect(report.usable).toBe(false);
    expect(problemCodes(report)).toEqual([code]);
    const problem = report.problems[0]!;
    expect(problem.message).toMatch(message);
    expect(problem.file).toBeTruthy();
    expect(problem.certificate).toBeTruthy();
    expect(problem.advice.length).toBeGreaterThan(20);

    const out: string[] = [];
    expect(await certCheckCommand(configFor(config, tmp), { json: false, out: (s) => out.push(s) })).toBe(2);
    expect(out.join('')).toMatch(/^Certificate: NOT USABLE/);
    expect(out.join('')).toContain(`[${code}]`);

    expect(() => loadClientCredentials(config, OIN)).toThrow(CertificateError);
  });

  it('the missing TSP CA can be supplied in the trust-anchors file instead', () => {
    const broken = pki.broken.missingIntermediate!;
    const report = inspectClientCertificate(tls({ cert: broken.cert, key: broken.key, trustAnchors: rootAndIntermediates() }), OIN);
    expect(report.problems).toEqual([]);
  });
});

describe('buildChain', () => {
  it('returns leaf to root and names the missing issuer otherwise', () => {
    const [leaf, ...intermediates] = readCertificates(pki.clientCert).certs;
    const anchors = readCertificates(pki.trustAnchors).certs;
    const full = buildChain(leaf!, intermediates, anchors, new Date());
    expect(full.problems).toEqual([]);
    expect(full.chain).toHaveLength(4);
    expect(full.root?.raw.equals(anchors[0]!.raw)).toBe(true);

    const stops = buildChain(leaf!, [intermediates[0]!], anchors, new Date());
    expect(stops.root).toBeUndefined();
    expect(stops.problems.map((p) => p.code)).toEqual(['CHAIN_INCOMPLETE']);
    expect(stops.problems[0]!.message).toContain("issuer 'TRIAL PKIoverheid - G4 Intm Priv G-TLS SYS - 2024'");
  });

  it('checks the validity of every certificate, CAs included', () => {
    const [leaf, ...intermediates] = readCertificates(pki.clientCert).certs;
    const anchors = readCertificates(pki.trustAnchors).certs;
    // Nine years on: the leaf and the TSP CA (8 years) have expired, domain CA and root have not.
    const later = buildChain(leaf!, intermediates, anchors, new Date(Date.now() + 9 * 365 * 86_400_000));
    expect(later.problems.map((p) => [p.code, p.certificate])).toEqual([
      ['CERT_EXPIRED', 'verzuim-relay.utrecht.example'],
      ['CERT_EXPIRED', 'TRIAL Verzuim Test TSP - G4 PKIo Priv G-TLS SYS - 2025'],
    ]);
  });
});

describe('credentials for the ROD client', () => {
  it('hold leaf and intermediates, the decrypted key and the anchors, and work in a mutual-TLS handshake', async () => {
    const creds = loadClientCredentials(
      tls({ cert: pki.formats.leafCerDer, key: pki.formats.keyPkcs1EncryptedPem, keyPassphrase: pki.passphrase, trustAnchors: rootAndIntermediates() }),
      OIN,
    );
    expect(creds.certPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    expect(creds.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(creds.anchors).toHaveLength(3);
    expect(creds.report.usable).toBe(true);

    const server = https.createServer(
      {
        cert: readFileSync(pki.serverCert),
        key: readFileSync(pki.serverKey),
        ca: readFileSync(pki.trustAnchors),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
        res.end(String(peer.subject?.serialNumber));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      let peerChain: X509Certificate[] = [];
      const body = await new Promise<string>((resolve, reject) => {
        const req = https.request(
          { host: '127.0.0.1', servername: 'localhost', port, path: '/', cert: creds.certPem, key: creds.keyPem, ca: creds.anchorsPem },
          (res) => {
            const socket = res.socket as import('node:tls').TLSSocket;
            const chain: X509Certificate[] = [];
            for (let c = socket.getPeerX509Certificate(); c && !chain.some((x) => x.raw.equals(c!.raw)); c = c.issuerCertificate) chain.push(c);
            peerChain = chain;
            let data = '';
            res.on('data', (d) => (data += d));
            res.on('end', () => resolve(data));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(body).toBe(OIN);
      // ROD's chain gets the same verification.
      expect(verifyServerChain(peerChain, creds.anchors, true)).toEqual([]);
      expect(verifyServerChain(peerChain, creds.anchors, false).map((p) => p.code)).toEqual(['ROOT_UNKNOWN']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('verifyServerChain refuses a server chain to other anchors, and an expired one', () => {
    const presented = readCertificates(pki.serverCert).certs;
    const otherAnchors = readCertificates(foreign.trustAnchors).certs;
    const problems = verifyServerChain(presented, otherAnchors, true);
    expect(problems.map((p) => p.code)).toEqual(['CHAIN_INCOMPLETE']);
    expect(problems[0]!.message).toContain("ROD's server certificate");
    const anchors = readCertificates(pki.trustAnchors).certs;
    const expired = verifyServerChain(presented, anchors, true, new Date(Date.now() + 400 * 86_400_000));
    expect(expired.map((p) => p.code)).toEqual(['CERT_EXPIRED']);
    expect(expired[0]!.advice).toContain('DUO');
    expect(verifyServerChain([], anchors, true).map((p) => p.code)).toEqual(['CHAIN_INCOMPLETE']);
  });
});
