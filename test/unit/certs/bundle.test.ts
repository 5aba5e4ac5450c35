/**
 * `cert bundle`: the zip for DUO, read back entry by entry. The .cer must be the leaf as DER, the
 * .p7b the chain, and the text and CSV details must match the certificate itself.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { certBundleCommand } from '../../../src/app/commands/cert.js';
import { readCertificates } from '../../../src/certs/read.js';
import type { TlsConfig } from '../../../src/config/schema.js';
import { TEST_OIN, configFor, pkiTls } from '../../support/certs.js';

const pki = inject('pkiG4');

/** The entries of a zip, by name: central directory, then each local header, stored or deflated. */
function unzip(zip: Buffer): Map<string, Buffer> {
  let eocd = -1;
  for (let i = zip.length - 22; i >= 0; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('no end of central directory: not a zip');
  const count = zip.readUInt16LE(eocd + 10);
  let pos = zip.readUInt32LE(eocd + 16);
  const entries = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(pos) !== 0x02014b50) throw new Error('bad central directory entry');
    const method = zip.readUInt16LE(pos + 10);
    const compressedSize = zip.readUInt32LE(pos + 20);
    const nameLength = zip.readUInt16LE(pos + 28);
    const extraLength = zip.readUInt16LE(pos + 30);
    const commentLength = zip.readUInt16LE(pos + 32);
    const localOffset = zip.readUInt32LE(pos + 42);
    const name = zip.subarray(pos + 46, pos + 46 + nameLength).toString('utf8');
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    entries.set(name, method === 0 ? Buffer.from(data) : inflateRawSync(data));
    pos += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function parseCsv(text: string): string[][] {
  return text
    .trim()
    .split('\r\n')
    .map((line) => [...line.matchAll(/"((?:[^"]|"")*)"|([^,]+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!)));
}

const tls = (overrides: Partial<TlsConfig> = {}): TlsConfig => pkiTls(pki, overrides);

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-bundle-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('cert bundle', () => {
  it('writes the zip for DUO with the certificate, the chain and the registration details', async () => {
    // 23:30 UTC is already the next calendar day in Amsterdam: the file is named after the local day.
    const now = new Date(Date.now() + 30 * 86_400_000);
    now.setUTCHours(23, 30, 0, 0);
    const nextDay = new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    const outDir = path.join(tmp, 'out', 'nested');
    const out: string[] = [];
    const code = await certBundleCommand(configFor(tls(), tmp), { outDir, now, out: (s) => out.push(s) });
    expect(code).toBe(0);

    const zipPath = path.join(outDir, `verzuim-relay-0344-${nextDay}.zip`);
    expect(existsSync(zipPath)).toBe(true);
    expect(readdirSync(outDir)).toEqual([path.basename(zipPath)]); // no leftover partial file
    const printed = out.join('');
    expect(printed).toContain(zipPath);
    expect(printed).toMatch(/mail this zip to DUO/i);
    expect(printed).toMatch(/again with the new certificate before this one expires/);

    const entries = unzip(readFileSync(zipPath));
    const names = [...entries.keys()];
    const base = `verzuim-relay-0344-${nextDay}`;
    expect(names).toEqual([`${base}-certificaat.cer`, `${base}-keten.p7b`, `${base}-registratie.txt`, `${base}-registratie.csv`]);
    for (const data of entries.values()) expect(data.toString('latin1')).not.toContain('PRIVATE KEY');

    // The .cer is the leaf, DER, byte for byte.
    const [leaf, ...intermediates] = readCertificates(pki.clientCert).certs;
    const cer = new X509Certificate(entries.get(`${base}-certificaat.cer`)!);
    expect(cer.raw.equals(leaf!.raw)).toBe(true);

    // The .p7b is the chain, leaf to root, readable by our reader and by openssl.
    const p7bPath = path.join(tmp, 'keten.p7b');
    writeFileSync(p7bPath, entries.get(`${base}-keten.p7b`)!);
    const root = readCertificates(pki.trustAnchors).certs[0]!;
    expect(readCertificates(p7bPath).certs.map((c) => c.raw.toString('hex'))).toEqual([leaf!, ...intermediates, root].map((c) => c.raw.toString('hex')));
    try {
      const printedByOpenssl = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-in', p7bPath, '-print_certs'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
      expect(printedByOpenssl.match(/BEGIN CERTIFICATE/g)).toHaveLength(4);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // no openssl here: our reader's word suffices
    }

    // The details match the certificate.
    const sha256 = createHash('sha256').update(leaf!.raw).digest('hex');
    const validTo = new Date(leaf!.validTo).toISOString();
    const validFrom = new Date(leaf!.validFrom).toISOString();
    const txt = entries.get(`${base}-registratie.txt`)!.toString('utf8');
    expect(txt).toMatch(/Gemeente:\s+Utrecht/);
    expect(txt).toMatch(/Gemeentecode \(CBS\):\s+0344/);
    expect(txt).toMatch(new RegExp(`OIN:\\s+${TEST_OIN}`));
    expect(txt).toContain(leaf!.serialNumber);
    expect(txt).toContain(sha256);
    expect(txt).toContain(validTo);
    expect(txt).toContain('CN=verzuim-relay.utrecht.example');

    const [header, row, ...rest] = parseCsv(entries.get(`${base}-registratie.csv`)!.toString('utf8'));
    expect(rest).toEqual([]);
    const record = Object.fromEntries(header!.map((h, i) => [h, row![i]]));
    expect(record).toMatchObject({
      gemeente: 'Utrecht',
      gemeentecode: '0344',
      oin: TEST_OIN,
      serienummer: leaf!.serialNumber,
      geldig_vanaf: validFrom,
      geldig_tot: validTo,
      sha256,
      hierarchie: 'TRIAL',
    });
    expect(record.onderwerp).toContain(`serialNumber=${TEST_OIN}`);
    expect(record.uitgever).toContain('CN=TRIAL Verzuim Test TSP - G4 PKIo Priv G-TLS SYS - 2025');
  });

  it('refuses (exit 2) and writes nothing for an unusable certificate', async () => {
    const outDir = path.join(tmp, 'refused');
    const out: string[] = [];
    const broken = pki.broken.expired!;
    const code = await certBundleCommand(configFor(tls({ cert: broken.cert, key: broken.key }), tmp), { outDir, out: (s) => out.push(s) });
    expect(code).toBe(2);
    expect(existsSync(outDir)).toBe(false);
    expect(out.join('')).toContain('[CERT_EXPIRED]');
    expect(out.join('')).toContain('No bundle written');
  });
});
