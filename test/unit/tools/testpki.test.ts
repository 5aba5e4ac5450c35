import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestPki, type TestPkiFiles } from '../../../tools/testpki/generate.js';

const DAY = 24 * 60 * 60 * 1000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DEFAULT_CLIENT_OIN = '00000001002220647000';
const DEFAULT_SERVER_OIN = '00000001800866472000';
const CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';

// An hour in the past, in whole seconds: shows that `now` is honoured, and still leaves every normal
// certificate valid on the real clock for the TLS handshakes.
const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 60 * 60 * 1000);

let root: string;
let g4: TestPkiFiles;
let g1: TestPkiFiles;
const customOin = '00000001001234567000';

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'testpki-'));
  // Both at once: RSA key generation runs on the thread pool.
  [g4, g1] = await Promise.all([
    generateTestPki({ dir: join(root, 'g4'), now }),
    generateTestPki({
      dir: join(root, 'g1', 'nested'),
      style: 'G1',
      now,
      variants: false,
      clientOin: customOin,
      municipalityName: "'s-Hertogenbosch",
      serverNames: ['localhost', 'rod.test.example'],
    }),
  ]);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------
// Helpers: read what was written with Node's own X509Certificate; OpenSSL and forge as second readers.

function certsIn(path: string): X509Certificate[] {
  const text = readFileSync(path, 'utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

function one(path: string): X509Certificate {
  const certs = certsIn(path);
  expect(certs).toHaveLength(1);
  return certs[0] as X509Certificate;
}

function field(cert: X509Certificate, name: string): string | undefined {
  const line = cert.subject.split('\n').find((entry) => entry.startsWith(`${name}=`));
  return line?.slice(name.length + 1);
}

function bits(cert: X509Certificate): number | undefined {
  return cert.publicKey.asymmetricKeyDetails?.modulusLength;
}

function hierarchy(files: TestPkiFiles) {
  const [tsp, domain] = certsIn(files.intermediates) as [X509Certificate, X509Certificate];
  const [client] = certsIn(files.clientCert) as [X509Certificate];
  const [server] = certsIn(files.serverCert) as [X509Certificate];
  return { root: one(files.trustAnchors), domain, tsp, client, server };
}

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** OpenSSL's stdout and stderr together: `pkcs12 -info` reports the algorithms on stderr. */
function opensslWithInfo(...args: string[]): string {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  return result.stdout + result.stderr;
}

/** OpenSSL's text dump of one certificate. */
function describeCert(cert: X509Certificate): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: cert.toString(), encoding: 'utf8' });
}

function opensslFails(...args: string[]): boolean {
  try {
    openssl(...args);
    return false;
  } catch {
    return true;
  }
}

/** The certificates OpenSSL finds in PEM output, as DER. */
function derBlocks(pemText: string): Buffer[] {
  const blocks = pemText.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => Buffer.from(new X509Certificate(block).raw));
}

interface SignatureAlgorithm {
  oid: string;
  hash?: string;
  mgf?: string;
  mgfHash?: string;
  saltLength?: number;
}

/** The outer signatureAlgorithm of a certificate, read at the ASN.1 level (forge only parses here). */
function signatureAlgorithm(cert: X509Certificate): SignatureAlgorithm {
  const { asn1 } = forge;
  const children = (node: forge.asn1.Asn1): forge.asn1.Asn1[] => node.value as forge.asn1.Asn1[];
  const oidOf = (node: forge.asn1.Asn1 | undefined): string => asn1.derToOid(node?.value as string);
  const parsed = asn1.fromDer(forge.util.createBuffer(cert.raw.toString('binary')));
  const [tbs, algorithm] = children(parsed) as [forge.asn1.Asn1, forge.asn1.Asn1];
  // The copy inside the signed part must say the same as the outer one.
  const inner = children(tbs)[2] as forge.asn1.Asn1;
  expect(asn1.toDer(inner).getBytes()).toBe(asn1.toDer(algorithm).getBytes());

  const [oidNode, params] = children(algorithm);
  const result: SignatureAlgorithm = { oid: oidOf(oidNode) };
  if (result.oid !== '1.2.840.113549.1.1.10') return result;
  for (const tagged of children(params as forge.asn1.Asn1)) {
    const content = children(tagged)[0] as forge.asn1.Asn1;
    if (tagged.type === 0) result.hash = oidOf(children(content)[0]);
    if (tagged.type === 1) {
      const [mgfOid, mgfParams] = children(content);
      result.mgf = oidOf(mgfOid);
      result.mgfHash = oidOf(children(mgfParams as forge.asn1.Asn1)[0]);
    }
    if (tagged.type === 2) result.saltLength = forge.util.createBuffer(content.value as string).getInt(8);
  }
  return result;
}

interface HandshakeResult {
  /** The client read the server's reply: both sides accepted each other. */
  ok: boolean;
  error?: string;
  /** The client certificate the server saw. */
  peer?: X509Certificate;
}

/** A real TLS server demanding a client certificate from the given trust anchors, and one client. */
async function handshake(
  files: TestPkiFiles,
  client: tls.ConnectionOptions,
  serverCa: string = readFileSync(files.trustAnchors, 'utf8'),
): Promise<HandshakeResult> {
  let peer: X509Certificate | undefined;
  const server = tls.createServer(
    {
      key: readFileSync(files.serverKey),
      cert: readFileSync(files.serverCert),
      ca: serverCa,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      peer = new X509Certificate(socket.getPeerCertificate().raw);
      socket.end('hello');
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise<HandshakeResult>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: readFileSync(files.trustAnchors),
        ...client,
      });
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('end', () => resolve({ ok: received === 'hello', peer }));
      socket.on('error', (error) => resolve({ ok: false, error: error.message }));
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

function keyOf(path: string, passphrase?: string): KeyObject {
  return createPrivateKey({ key: readFileSync(path), passphrase });
}

// ---------------------------------------------------------------------------------------------------

describe.each([
  ['G4', () => g4, 4096, 3072],
  ['G1', () => g1, 4096, 2048],
] as const)('%s hierarchy', (style, files, caBits, leafBits) => {
  it('writes the files the API promises, keys readable by the owner only', () => {
    const f = files();
    expect(f.style).toBe(style);
    expect(f.passphrase).toBe('test-passphrase');
    for (const path of [f.trustAnchors, f.intermediates, f.clientCert, f.clientKey, f.clientPfx, f.serverCert, f.serverKey]) {
      expect(path.startsWith(f.dir)).toBe(true);
      expect(existsSync(path)).toBe(true);
    }
    for (const key of [f.clientKey, f.serverKey, f.clientPfx]) expect(statSync(key).mode & 0o077).toBe(0);
    expect(readFileSync(f.clientKey, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('chains root -> domain CA -> TSP CA -> leaves, each signature verifying against its issuer only', () => {
    const { root, domain, tsp, client, server } = hierarchy(files());
    expect(root.subject).toBe(root.issuer);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(domain.verify(root.publicKey)).toBe(true);
    expect(tsp.verify(domain.publicKey)).toBe(true);
    expect(client.verify(tsp.publicKey)).toBe(true);
    expect(server.verify(tsp.publicKey)).toBe(true);
    expect(client.verify(root.publicKey)).toBe(false);
    expect(tsp.verify(root.publicKey)).toBe(false);
    expect(domain.issuer).toBe(root.subject);
    expect(tsp.issuer).toBe(domain.subject);
    expect(client.issuer).toBe(tsp.subject);
    // The chain files: leaf first, then TSP CA and domain CA; the root only in root.pem.
    expect(certsIn(files().clientCert).map((c) => c.fingerprint256)).toEqual(
      [client, tsp, domain].map((c) => c.fingerprint256),
    );
    expect(certsIn(files().serverCert).map((c) => c.fingerprint256)).toEqual(
      [server, tsp, domain].map((c) => c.fingerprint256),
    );
    expect(openssl('verify', '-CAfile', files().trustAnchors, '-untrusted', files().intermediates, files().clientCert, files().serverCert)).toMatch(
      /client\.crt: OK\n.*server\.crt: OK/s,
    );
  });

  it('signs every certificate with the style’s algorithm', () => {
    const certs = Object.values(hierarchy(files()));
    expect(certs).toHaveLength(5);
    for (const cert of certs) {
      const algorithm = signatureAlgorithm(cert);
      if (style === 'G4') {
        expect(algorithm).toEqual({
          oid: '1.2.840.113549.1.1.10', // id-RSASSA-PSS
          hash: '2.16.840.1.101.3.4.2.3', // sha512
          mgf: '1.2.840.113549.1.1.8', // id-mgf1
          mgfHash: '2.16.840.1.101.3.4.2.3',
          saltLength: 64,
        });
      } else {
        expect(algorithm).toEqual({ oid: '1.2.840.113549.1.1.11' }); // sha256WithRSAEncryption
      }
    }
    // And OpenSSL reads the same.
    const text = openssl('x509', '-in', files().clientCert, '-noout', '-text');
    if (style === 'G4') {
      expect(text).toMatch(/Signature Algorithm: rsassaPss\s+Hash Algorithm: sha512\s+Mask Algorithm: mgf1 with sha512\s+Salt Length: 0x40/);
    } else {
      expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    }
  });

  it('uses RSA keys of the style’s sizes', () => {
    const { root, domain, tsp, client, server } = hierarchy(files());
    for (const ca of [root, domain, tsp]) expect(bits(ca)).toBe(caBits);
    for (const leaf of [client, server]) expect(bits(leaf)).toBe(leafBits);
    for (const cert of [root, domain, tsp, client, server]) expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
  });

  it('names the CAs as TRIAL versions of the real hierarchy', () => {
    const { root, domain, tsp } = hierarchy(files());
    const names = [root, domain, tsp].map((cert) => field(cert, 'CN'));
    expect(names).toEqual(
      style === 'G4'
        ? [
            'TRIAL PKIoverheid - G4 Root Priv G-TLS - 2024',
            'TRIAL PKIoverheid - G4 Intm Priv G-TLS SYS - 2024',
            'TRIAL Verzuim Test TSP - G4 PKIo Priv G-TLS SYS - 2025',
          ]
        : [
            'TRIAL Staat der Nederlanden Private Root CA - G1',
            'TRIAL Staat der Nederlanden Private Services CA - G1',
            'TRIAL Verzuim Test TSP PKIoverheid Private Services CA - G1',
          ],
    );
    for (const ca of [root, domain, tsp]) {
      expect(field(ca, 'O')).toMatch(/^TRIAL /);
      expect(field(ca, 'C')).toBe('NL');
    }
  });

  it('gives CAs critical basicConstraints with path lengths, keyCertSign+cRLSign, and linked key identifiers', () => {
    const { root, domain, tsp, client } = hierarchy(files());
    const rootText = describeCert(root);
    expect(rootText).toMatch(/Basic Constraints: critical\s+CA:TRUE\n/);
    expect(describeCert(domain)).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(describeCert(tsp)).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    for (const ca of [root, domain, tsp]) {
      expect(ca.ca).toBe(true);
      expect(describeCert(ca)).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    }
    expect(client.ca).toBe(false);
    // Each certificate's authority key identifier is its issuer's subject key identifier.
    const ski = (cert: X509Certificate) => /Subject Key Identifier:\s+(\S+)/.exec(describeCert(cert))?.[1];
    const aki = (cert: X509Certificate) => /Authority Key Identifier:\s+(?:keyid:)?(\S+)/.exec(describeCert(cert))?.[1];
    expect(ski(root)).toMatch(/^[0-9A-F:]+$/);
    expect(aki(root)).toBe(ski(root));
    expect(aki(domain)).toBe(ski(root));
    expect(aki(tsp)).toBe(ski(domain));
    expect(aki(client)).toBe(ski(tsp));
  });

  it('puts C, O, organizationIdentifier, the OIN as serialNumber and CN in the leaf subjects', () => {
    const { client, server } = hierarchy(files());
    const municipality = style === 'G4' ? 'Utrecht' : "'s-Hertogenbosch";
    expect(field(client, 'C')).toBe('NL');
    expect(field(client, 'O')).toBe(`TRIAL Gemeente ${municipality}`);
    expect(field(client, 'serialNumber')).toBe(style === 'G4' ? DEFAULT_CLIENT_OIN : customOin);
    expect(field(client, 'organizationIdentifier')).toMatch(/^NTRNL-\d{8}$/);
    expect(field(server, 'O')).toBe('TRIAL Dienst Uitvoering Onderwijs');
    expect(field(server, 'serialNumber')).toBe(DEFAULT_SERVER_OIN);
    expect(field(server, 'organizationIdentifier')).toMatch(/^NTRNL-\d{8}$/);
    expect(field(server, 'organizationIdentifier')).not.toBe(field(client, 'organizationIdentifier'));
    expect(field(server, 'CN')).toBe('localhost');
  });

  it('gives leaves serverAuth and clientAuth, digitalSignature+keyEncipherment and DNS names only', () => {
    const { client, server } = hierarchy(files());
    for (const leaf of [client, server]) {
      expect([...(leaf.keyUsage ?? [])].sort()).toEqual([SERVER_AUTH, CLIENT_AUTH]);
      expect(describeCert(leaf)).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
      expect(leaf.subjectAltName).not.toMatch(/IP Address/);
    }
    const host = style === 'G4' ? 'verzuim-relay.utrecht.example' : 'verzuim-relay.s-hertogenbosch.example';
    expect(client.subjectAltName).toBe(`DNS:${host}`);
    expect(field(client, 'CN')).toBe(host);
    expect(server.subjectAltName).toBe(style === 'G4' ? 'DNS:localhost' : 'DNS:localhost, DNS:rod.test.example');
    expect(client.checkHost(host)).toBe(host);
    expect(server.checkHost('localhost')).toBe('localhost');
  });

  it('dates leaves from now - 1 day to now + 365 days, CAs years around now', () => {
    const { root, domain, tsp, client, server } = hierarchy(files());
    for (const leaf of [client, server]) {
      expect(new Date(leaf.validFrom).getTime()).toBe(now.getTime() - DAY);
      expect(new Date(leaf.validTo).getTime()).toBe(now.getTime() + 365 * DAY);
    }
    for (const ca of [root, domain, tsp]) {
      expect(new Date(ca.validFrom).getTime()).toBeLessThanOrEqual(now.getTime() - 300 * DAY);
      expect(new Date(ca.validTo).getTime()).toBeGreaterThanOrEqual(now.getTime() + 5 * 365 * DAY);
      // A CA outlives what it issues.
      expect(new Date(ca.validTo).getTime()).toBeGreaterThan(new Date(client.validTo).getTime());
    }
  });

  it('lets a TLS server (trusting root.pem) and client complete a mutual handshake', async () => {
    const f = files();
    const result = await handshake(f, { key: readFileSync(f.clientKey), cert: readFileSync(f.clientCert) });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.peer && field(result.peer, 'serialNumber')).toBe(style === 'G4' ? DEFAULT_CLIENT_OIN : customOin);
  });

  it('lets the client connect with client.p12 as well', async () => {
    const f = files();
    const result = await handshake(f, { pfx: readFileSync(f.clientPfx), passphrase: f.passphrase });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
  });

  it('writes a client.p12 that forge, OpenSSL and Node read, holding the original certificate bytes', () => {
    const f = files();
    const pfx = readFileSync(f.clientPfx);
    expect(() => tls.createSecureContext({ pfx, passphrase: f.passphrase })).not.toThrow();
    expect(() => tls.createSecureContext({ pfx, passphrase: 'wrong' })).toThrow();

    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfx.toString('binary')), f.passphrase);
    const certBags = p12.getBags({ bagType: CERT_BAG })[CERT_BAG] ?? [];
    const keyBags = p12.getBags({ bagType: SHROUDED_KEY_BAG })[SHROUDED_KEY_BAG] ?? [];
    expect(certBags).toHaveLength(3);
    expect(keyBags).toHaveLength(1);
    const key = createPrivateKey(forge.pki.privateKeyToPem(keyBags[0]?.key as forge.pki.rsa.PrivateKey));
    expect(hierarchy(f).client.checkPrivateKey(key)).toBe(true);
    expect(() => forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfx.toString('binary')), 'wrong')).toThrow();

    const info = opensslWithInfo('pkcs12', '-in', f.clientPfx, '-passin', `pass:${f.passphrase}`, '-info', '-nokeys');
    expect(info).toMatch(/MAC: sha256/);
    expect(info).toMatch(/PBES2, PBKDF2, AES-256-CBC/);
    expect(info).not.toMatch(/(Encrypted data|Shrouded Keybag): .*RC2/i);
    expect(derBlocks(info)).toEqual(certsIn(f.clientCert).map((c) => Buffer.from(c.raw)));
    expect(opensslFails('pkcs12', '-in', f.clientPfx, '-passin', 'pass:wrong', '-nokeys')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('extra formats (G4)', () => {
  const leafDer = () => Buffer.from(hierarchy(g4).client.raw);

  it('holds the client leaf alone as PEM .cer, DER .cer and DER .crt', () => {
    expect(Buffer.from(one(g4.formats.leafCerPem as string).raw)).toEqual(leafDer());
    expect(g4.formats.leafCerPem).toMatch(/\.cer$/);
    expect(readFileSync(g4.formats.leafCerDer as string)).toEqual(leafDer());
    expect(g4.formats.leafCerDer).toMatch(/\.cer$/);
    expect(readFileSync(g4.formats.leafCrtDer as string)).toEqual(leafDer());
    expect(g4.formats.leafCrtDer).toMatch(/\.crt$/);
  });

  it('has a chain file with the leaf in the middle', () => {
    const certs = certsIn(g4.formats.chainPem as string);
    expect(certs.map((c) => c.ca)).toEqual([true, false, true]);
    expect(Buffer.from(certs[1]?.raw ?? [])).toEqual(leafDer());
    expect(certs.map((c) => c.fingerprint256).sort()).toEqual(certsIn(g4.clientCert).map((c) => c.fingerprint256).sort());
  });

  it('writes PKCS#7 bundles (PEM and DER) that keep every certificate byte for byte', () => {
    const expected = certsIn(g4.clientCert).map((c) => Buffer.from(c.raw));
    expect(readFileSync(g4.formats.p7bPem as string, 'utf8')).toMatch(/^-----BEGIN PKCS7-----\n/);
    expect(derBlocks(openssl('pkcs7', '-in', g4.formats.p7bPem as string, '-print_certs'))).toEqual(expected);
    expect(derBlocks(openssl('pkcs7', '-inform', 'DER', '-in', g4.formats.p7bDer as string, '-print_certs'))).toEqual(expected);
    // forge reads it too (its own parse, not byte-exact, but the bundle must open).
    const message = forge.pkcs7.messageFromPem(readFileSync(g4.formats.p7bPem as string, 'utf8'));
    expect((message as forge.pkcs7.PkcsSignedData).certificates).toHaveLength(3);
  });

  it('writes the key as PKCS#1, as AES-256 encrypted PKCS#8 and as traditional encrypted PKCS#1', () => {
    const { client } = hierarchy(g4);
    const pkcs1 = readFileSync(g4.formats.keyPkcs1Pem as string, 'utf8');
    expect(pkcs1).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(client.checkPrivateKey(keyOf(g4.formats.keyPkcs1Pem as string))).toBe(true);

    const pkcs8 = readFileSync(g4.formats.keyPkcs8EncryptedPem as string, 'utf8');
    expect(pkcs8).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(openssl('asn1parse', '-in', g4.formats.keyPkcs8EncryptedPem as string)).toMatch(/aes-256-cbc/);
    expect(client.checkPrivateKey(keyOf(g4.formats.keyPkcs8EncryptedPem as string, g4.passphrase))).toBe(true);
    expect(() => keyOf(g4.formats.keyPkcs8EncryptedPem as string, 'wrong')).toThrow();

    const traditional = readFileSync(g4.formats.keyPkcs1EncryptedPem as string, 'utf8');
    expect(traditional).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,/);
    expect(client.checkPrivateKey(keyOf(g4.formats.keyPkcs1EncryptedPem as string, g4.passphrase))).toBe(true);
    expect(() => keyOf(g4.formats.keyPkcs1EncryptedPem as string, 'wrong')).toThrow();
  });

  it('offers the PKCS#12 file as pfx, and a 3DES .pfx that forge, OpenSSL and Node read', async () => {
    expect(g4.formats.pfx).toBe(g4.clientPfx);
    const alt = g4.formats.pfxAlt as string;
    expect(alt).toMatch(/\.pfx$/);
    const pfx = readFileSync(alt);
    expect(() => tls.createSecureContext({ pfx, passphrase: g4.passphrase })).not.toThrow();
    const info = opensslWithInfo('pkcs12', '-in', alt, '-passin', `pass:${g4.passphrase}`, '-info', '-nokeys');
    expect(info).toMatch(/MAC: sha1/);
    expect(info).toMatch(/pbeWithSHA1And3-KeyTripleDES-CBC/);
    expect(info).not.toMatch(/(Encrypted data|Shrouded Keybag): .*RC2/i);
    expect(derBlocks(info)).toEqual(certsIn(g4.clientCert).map((c) => Buffer.from(c.raw)));
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfx.toString('binary')), g4.passphrase);
    const keyBags = p12.getBags({ bagType: SHROUDED_KEY_BAG })[SHROUDED_KEY_BAG] ?? [];
    const key = createPrivateKey(forge.pki.privateKeyToPem(keyBags[0]?.key as forge.pki.rsa.PrivateKey));
    expect(hierarchy(g4).client.checkPrivateKey(key)).toBe(true);
    const result = await handshake(g4, { pfx, passphrase: g4.passphrase });
    expect(result.ok).toBe(true);
  });

  it('lists every file under formats/', () => {
    expect(Object.keys(g4.formats).sort()).toEqual(
      [
        'chainPem',
        'keyPkcs1EncryptedPem',
        'keyPkcs1Pem',
        'keyPkcs8EncryptedPem',
        'leafCerDer',
        'leafCerPem',
        'leafCrtDer',
        'p7bDer',
        'p7bPem',
        'pfx',
        'pfxAlt',
      ].sort(),
    );
    for (const [name, path] of Object.entries(g4.formats)) {
      if (name !== 'pfx') expect(path.startsWith(join(g4.dir, 'formats'))).toBe(true);
    }
  });

  it('writes neither formats nor broken variants when variants is false', () => {
    expect(g1.formats).toEqual({});
    expect(g1.broken).toEqual({});
    expect(existsSync(join(g1.dir, 'formats'))).toBe(false);
    expect(existsSync(join(g1.dir, 'broken'))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('broken variants (G4)', () => {
  const variant = (name: string) => {
    const paths = g4.broken[name];
    if (!paths) throw new Error(`no broken variant ${name}`);
    const certs = certsIn(paths.cert);
    return { paths, certs, leaf: certs[0] as X509Certificate, key: keyOf(paths.key) };
  };
  /** The leaf verifies against the real TSP CA, and the key belongs to it: only the intended flaw remains. */
  const otherwiseSound = (name: string) => {
    const { leaf, key, paths } = variant(name);
    expect(leaf.verify(hierarchy(g4).tsp.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(key)).toBe(true);
    expect(certsIn(paths.cert).slice(1).map((c) => c.fingerprint256)).toEqual(
      certsIn(g4.intermediates).map((c) => c.fingerprint256),
    );
  };

  it('has exactly the eight variants, each under broken/<name>/', () => {
    expect(Object.keys(g4.broken).sort()).toEqual(
      ['expired', 'keyMismatch', 'missingIntermediate', 'noClientAuth', 'notYetValid', 'untrustedRoot', 'weakKey', 'wrongOin'].sort(),
    );
    for (const [name, paths] of Object.entries(g4.broken)) {
      expect(paths.cert).toBe(join(g4.dir, 'broken', name, 'client.crt'));
      expect(paths.key).toBe(join(g4.dir, 'broken', name, 'client.key'));
    }
  });

  it('expired: notAfter in the past', () => {
    const { leaf } = variant('expired');
    expect(new Date(leaf.validTo).getTime()).toBeLessThan(Date.now());
    otherwiseSound('expired');
  });

  it('notYetValid: notBefore in the future', () => {
    const { leaf } = variant('notYetValid');
    expect(new Date(leaf.validFrom).getTime()).toBeGreaterThan(Date.now());
    otherwiseSound('notYetValid');
  });

  it('wrongOin: another OIN in serialNumber', () => {
    const { leaf } = variant('wrongOin');
    expect(field(leaf, 'serialNumber')).toMatch(/^\d{20}$/);
    expect(field(leaf, 'serialNumber')).not.toBe(DEFAULT_CLIENT_OIN);
    otherwiseSound('wrongOin');
  });

  it('noClientAuth: serverAuth only', () => {
    const { leaf } = variant('noClientAuth');
    expect(leaf.keyUsage).toEqual([SERVER_AUTH]);
    otherwiseSound('noClientAuth');
  });

  it('keyMismatch: the real client certificate with the key of another pair', () => {
    const { leaf, key, certs } = variant('keyMismatch');
    expect(certs.map((c) => c.fingerprint256)).toEqual(certsIn(g4.clientCert).map((c) => c.fingerprint256));
    expect(leaf.checkPrivateKey(key)).toBe(false);
    expect(hierarchy(g4).server.checkPrivateKey(key)).toBe(false);
  });

  it('missingIntermediate: leaf and domain CA only, so no chain to root.pem', () => {
    const { paths, certs, leaf, key } = variant('missingIntermediate');
    const { domain, tsp } = hierarchy(g4);
    expect(certs.map((c) => c.fingerprint256)).toEqual([leaf, domain].map((c) => c.fingerprint256));
    expect(certs.some((c) => c.fingerprint256 === tsp.fingerprint256)).toBe(false);
    expect(certs.some((c) => leaf.verify(c.publicKey))).toBe(false);
    expect(leaf.checkPrivateKey(key)).toBe(true);
    expect(opensslFails('verify', '-CAfile', g4.trustAnchors, '-untrusted', paths.cert, paths.cert)).toBe(true);
  });

  it('weakKey: an RSA 1024 leaf', () => {
    const { leaf } = variant('weakKey');
    expect(bits(leaf)).toBe(1024);
    otherwiseSound('weakKey');
  });

  it('untrustedRoot: a complete chain, but to a root that is not in root.pem', async () => {
    const { paths, certs, leaf, key } = variant('untrustedRoot');
    const [, ca, selfMadeRoot] = certs as [X509Certificate, X509Certificate, X509Certificate];
    const trusted = one(g4.trustAnchors);
    expect(certs).toHaveLength(3);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(ca.verify(selfMadeRoot.publicKey)).toBe(true);
    expect(selfMadeRoot.verify(selfMadeRoot.publicKey)).toBe(true);
    expect(selfMadeRoot.fingerprint256).not.toBe(trusted.fingerprint256);
    expect(certs.some((c) => c.verify(trusted.publicKey))).toBe(false);
    expect(leaf.checkPrivateKey(key)).toBe(true);
    const selfMadeRootFile = join(root, 'self-made-root.pem');
    writeFileSync(selfMadeRootFile, selfMadeRoot.toString());
    expect(openssl('verify', '-CAfile', selfMadeRootFile, '-untrusted', paths.cert, paths.cert)).toMatch(/OK/);
    expect(opensslFails('verify', '-CAfile', g4.trustAnchors, '-untrusted', paths.cert, paths.cert)).toBe(true);
    // And a TLS server that trusts root.pem turns it away.
    const result = await handshake(g4, { key: readFileSync(paths.key), cert: readFileSync(paths.cert) });
    expect(result.ok).toBe(false);
  });

  it('the good client certificate passes the same checks the broken ones fail', async () => {
    const good = certsIn(g4.clientCert);
    const leaf = good[0] as X509Certificate;
    expect(new Date(leaf.validFrom).getTime()).toBeLessThan(Date.now());
    expect(new Date(leaf.validTo).getTime()).toBeGreaterThan(Date.now());
    expect(leaf.checkPrivateKey(keyOf(g4.clientKey))).toBe(true);
    expect(leaf.keyUsage).toContain(CLIENT_AUTH);
    expect(openssl('verify', '-CAfile', g4.trustAnchors, '-untrusted', g4.clientCert, g4.clientCert)).toMatch(/OK/);
  });
});

describe('option checks', () => {
  it('refuses an OIN that is not 20 digits, and IP addresses as server names, before generating anything', async () => {
    const dir = join(tmpdir(), `testpki-refused-${process.pid}`);
    await expect(generateTestPki({ dir, clientOin: '1234' })).rejects.toThrow(/clientOin '1234' is not an OIN/);
    await expect(generateTestPki({ dir, serverOin: '0000000180086647200X' })).rejects.toThrow(/serverOin/);
    await expect(generateTestPki({ dir, serverNames: ['127.0.0.1'] })).rejects.toThrow(/IP address/);
    await expect(generateTestPki({ dir, serverNames: [] })).rejects.toThrow(/serverNames is empty/);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('keyBits', () => {
  it('overrides the style’s key sizes, for test hierarchies whose key size is beside the point', async () => {
    const dir = join(root, 'small');
    const f = await generateTestPki({ dir, style: 'G4', now, variants: false, keyBits: { ca: 2048, leaf: 2048 } });
    const { root: r, domain, tsp, client, server } = hierarchy(f);
    for (const cert of [r, domain, tsp, client, server]) expect(bits(cert)).toBe(2048);
    // Still a G4 hierarchy otherwise: RSASSA-PSS with SHA-512.
    expect(signatureAlgorithm(client)).toMatchObject({ oid: '1.2.840.113549.1.1.10', saltLength: 64 });
  });
});
