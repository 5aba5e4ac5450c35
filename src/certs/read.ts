/**
 * Reading the files administrators bring: certificates as PEM or DER under any of the usual
 * extensions, .p7b chains, private keys in PKCS#1 or PKCS#8 (plain or encrypted), and PKCS#12.
 * The content decides the format, not the extension: a .cer is as often PEM as DER, and a file that
 * holds something else (a key given as the certificate, a PKCS#12 given as the key, a signing request)
 * is named for what it is, with the setting to use instead.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TAG, children, readTlv, smallInteger, type DerError } from './der.js';
import { certificatesFromPkcs7, isPkcs7 } from './pkcs7.js';
import { Pkcs12Error, isPkcs12, unpackPkcs12 } from './pkcs12.js';
import { CertificateError, PROBLEM, problemAt } from './problems.js';
import { certFields, sameCertificate } from './x509-fields.js';

export { CertificateError, type CertificateProblem } from './problems.js';

export interface CertificateSet {
  file: string;
  /** In file order. */
  certs: X509Certificate[];
}

/** Which configuration key named the file; used in advice. */
export interface ReadOptions {
  setting?: string;
}

function problem(code: string, file: string, message: string, advice: string): CertificateError {
  return new CertificateError([problemAt(code, { file }, message, advice)]);
}

function readBytes(file: string, setting: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw problem(PROBLEM.FILE_NOT_FOUND, file, `the file does not exist (${file})`, `check the path in ${setting}; in a container, check that the folder with the certificates is mounted`);
    }
    const why = code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder, not a file' : ((err as Error).message ?? String(err));
    throw problem(PROBLEM.FILE_UNREADABLE, file, `cannot read the file (${why})`, `make the file readable for the user the relay runs as, or correct ${setting}`);
  }
  if (bytes.toString('latin1').trim().length === 0) {
    throw problem(PROBLEM.FILE_EMPTY, file, 'the file is empty', `put the certificate material in it, or correct ${setting}`);
  }
  return bytes;
}

interface PemBlock {
  type: string;
  /** The whole block, BEGIN to END, as Node's PEM readers want it. */
  text: string;
  der: Buffer;
  encrypted: boolean;
}

function isPem(bytes: Buffer): boolean {
  return bytes.toString('latin1').includes('-----BEGIN ');
}

function pemBlocks(bytes: Buffer): PemBlock[] {
  const s = bytes.toString('utf8');
  const out: PemBlock[] = [];
  for (const m of s.matchAll(/-----BEGIN ([A-Z0-9 #]+)-----([\s\S]*?)-----END \1-----/g)) {
    const body = m[2] ?? '';
    // RFC 1421 headers (Proc-Type, DEK-Info) of traditionally encrypted keys precede the base64.
    const base64 = body
      .split(/\r?\n/)
      .filter((line) => !line.includes(':'))
      .join('');
    out.push({
      type: m[1]!,
      text: m[0],
      der: Buffer.from(base64, 'base64'),
      encrypted: m[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,\s*ENCRYPTED/.test(body),
    });
  }
  return out;
}

const CERT_PEM = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
const PKCS7_PEM = new Set(['PKCS7', 'PKCS #7 SIGNED DATA', 'CMS']);
const CSR_PEM = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
const isKeyPem = (type: string) => type.endsWith('PRIVATE KEY');

type DerKind = 'certificate' | 'pkcs7' | 'pkcs12' | 'key' | 'csr' | 'unknown';

/** What a DER blob is, by its structure. */
function sniffDer(der: Buffer): DerKind {
  try {
    if (isPkcs12(der)) return 'pkcs12';
    if (isPkcs7(der)) return 'pkcs7';
    const top = readTlv(der, 0);
    if (top.tag !== TAG.SEQUENCE) return 'unknown';
    const parts = children(top);
    const [first, second, third] = parts;
    if (parts.length === 3 && first?.tag === TAG.SEQUENCE && second?.tag === TAG.SEQUENCE && third?.tag === TAG.BIT_STRING) {
      // Certificate and CertificationRequest look alike; a request's inner part starts with its version.
      const inner = children(first);
      return inner[0]?.tag === TAG.INTEGER && inner[1]?.tag === TAG.SEQUENCE && inner.length === 4 ? 'csr' : 'certificate';
    }
    if (first?.tag === TAG.INTEGER && smallInteger(first) <= 1) return 'key'; // PKCS#1, PKCS#8, SEC1
    if (parts.length === 2 && first?.tag === TAG.SEQUENCE && second?.tag === TAG.OCTET_STRING) return 'key'; // encrypted PKCS#8
  } catch {
    // fall through
  }
  return 'unknown';
}

function parseCertificate(der: Buffer, file: string, which: string): X509Certificate {
  try {
    const cert = new X509Certificate(der);
    // Read the fields now: a certificate OpenSSL accepts but the field parser does not would
    // otherwise surface later as an exception, not as a problem with this file.
    certFields(cert);
    return cert;
  } catch (err) {
    throw problem(
      PROBLEM.CERT_UNPARSABLE,
      file,
      `${which} is not a readable X.509 certificate (${(err as Error).message})`,
      'export the certificate again from the source (your TSP\'s portal or the machine it was requested on) as PEM or DER',
    );
  }
}

function fromPkcs7(der: Buffer, file: string): X509Certificate[] {
  let ders: Buffer[];
  try {
    ders = certificatesFromPkcs7(der);
  } catch (err) {
    throw problem(PROBLEM.CERT_UNPARSABLE, file, `the PKCS#7 structure cannot be read (${(err as Error).message})`, 'export the chain again as a .p7b (PKCS#7, certificates only) or as PEM');
  }
  return ders.map((d, i) => parseCertificate(d, file, `certificate ${i + 1} in the PKCS#7 data`));
}

/** Certificates in a file: PEM (one or many, also inside .p7b PEM), DER certificate, or DER PKCS#7. */
export function readCertificates(file: string, options: ReadOptions = {}): CertificateSet {
  const setting = options.setting ?? 'the configuration';
  const bytes = readBytes(file, setting);
  const certs: X509Certificate[] = [];
  if (isPem(bytes)) {
    const blocks = pemBlocks(bytes);
    let index = 0;
    for (const block of blocks) {
      index++;
      if (CERT_PEM.has(block.type)) {
        // An OpenSSL "TRUSTED CERTIFICATE" is the certificate followed by trust settings.
        const der = block.type === 'TRUSTED CERTIFICATE' ? safeFirstElement(block.der) : block.der;
        certs.push(parseCertificate(der, file, `PEM block ${index} (${block.type})`));
      } else if (PKCS7_PEM.has(block.type)) {
        certs.push(...fromPkcs7(block.der, file));
      }
    }
    if (certs.length === 0) throw notCertificates(file, setting, blocks.map((b) => b.type));
  } else {
    const kind = sniffDer(bytes);
    if (kind === 'certificate') {
      // One DER certificate, or several written one after the other.
      let pos = 0;
      while (pos < bytes.length) {
        const tlv = safeTlv(bytes, pos, file);
        certs.push(parseCertificate(Buffer.from(tlv.bytes), file, certs.length === 0 ? 'the DER data' : `DER certificate ${certs.length + 1}`));
        pos = tlv.end;
        while (pos < bytes.length && (bytes[pos] === 0x0a || bytes[pos] === 0x0d || bytes[pos] === 0x00)) pos++;
      }
    } else if (kind === 'pkcs7') {
      certs.push(...fromPkcs7(bytes, file));
      if (certs.length === 0) {
        throw problem(PROBLEM.CERT_FORMAT_UNKNOWN, file, 'the PKCS#7 file holds no certificates', `export the certificate chain again (with certificates), or point ${setting} to the certificate itself`);
      }
    } else {
      throw notCertificates(file, setting, [kind]);
    }
  }
  return { file, certs: dedupe(certs) };
}

function safeFirstElement(der: Buffer): Buffer {
  try {
    return Buffer.from(readTlv(der, 0).bytes);
  } catch {
    return der;
  }
}

function safeTlv(bytes: Buffer, pos: number, file: string) {
  try {
    return readTlv(bytes, pos);
  } catch (err) {
    throw problem(PROBLEM.CERT_UNPARSABLE, file, `the DER data is damaged (${(err as DerError).message})`, 'copy or export the certificate again; a file moved as text (e.g. by FTP in ASCII mode) breaks DER');
  }
}

/** The same certificate twice (e.g. the root both in a bundle and on its own) counts once. */
function dedupe(certs: X509Certificate[]): X509Certificate[] {
  return certs.filter((c, i) => certs.findIndex((d) => sameCertificate(c, d)) === i);
}

function notCertificates(file: string, setting: string, found: string[]): CertificateError {
  if (found.some((t) => isKeyPem(t) || t === 'key')) {
    return problem(
      PROBLEM.CERT_FILE_HOLDS_KEY,
      file,
      'this file holds a private key, not a certificate',
      `set this file as tls.key and point ${setting} to the certificate file (.crt, .cer, .pem or .p7b) your TSP issued`,
    );
  }
  if (found.includes('pkcs12')) {
    return problem(
      PROBLEM.CERT_FILE_IS_PKCS12,
      file,
      'this file is a PKCS#12 bundle (.p12/.pfx), not a certificate file',
      `configure it as tls.pfx (with tls.pfxPassphrase) instead of tls.cert and tls.key`,
    );
  }
  if (found.some((t) => CSR_PEM.has(t) || t === 'csr')) {
    return problem(
      PROBLEM.CERT_FILE_IS_CSR,
      file,
      'this file is a certificate signing request (CSR), not a certificate',
      `the CSR is what you send to your TSP; point ${setting} to the certificate they issued in return`,
    );
  }
  const what = found.length > 0 && found[0] !== 'unknown' ? ` (found: ${found.join(', ')})` : '';
  return problem(
    PROBLEM.CERT_FORMAT_UNKNOWN,
    file,
    `no certificate found in this file${what}`,
    `${setting} must name a certificate as PEM ("-----BEGIN CERTIFICATE-----") or DER (.cer/.crt), or a PKCS#7 chain (.p7b)`,
  );
}

/** A private key from PEM (PKCS#1, PKCS#8, SEC1; plain or encrypted) or, leniently, DER. */
export function readPrivateKey(file: string, passphrase?: string, options: ReadOptions = {}): KeyObject {
  const setting = options.setting ?? 'tls.key';
  const passSetting = setting === 'tls.key' ? 'tls.keyPassphrase' : 'the passphrase setting';
  const bytes = readBytes(file, setting);
  if (isPem(bytes)) {
    const blocks = pemBlocks(bytes);
    const block = blocks.find((b) => isKeyPem(b.type));
    if (!block) {
      if (blocks.some((b) => CERT_PEM.has(b.type) || PKCS7_PEM.has(b.type))) {
        throw problem(PROBLEM.KEY_FILE_HOLDS_CERT, file, 'this file holds a certificate, not a private key', `point ${setting} to the private key that belongs to the certificate (it starts with "-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----")`);
      }
      throw problem(PROBLEM.KEY_FORMAT_UNKNOWN, file, `no private key found (PEM blocks: ${blocks.map((b) => b.type).join(', ') || 'none'})`, `point ${setting} to the private key in PEM (PKCS#1 or PKCS#8)`);
    }
    return createKey(file, { key: block.text, format: 'pem' }, block.encrypted, passphrase, passSetting);
  }
  const kind = sniffDer(bytes);
  if (kind === 'certificate' || kind === 'pkcs7') {
    throw problem(PROBLEM.KEY_FILE_HOLDS_CERT, file, 'this file holds a certificate (DER), not a private key', `point ${setting} to the private key that belongs to the certificate`);
  }
  if (kind === 'pkcs12') {
    throw problem(PROBLEM.KEY_FILE_IS_PKCS12, file, 'this file is a PKCS#12 bundle (.p12/.pfx), not a private key', 'configure it as tls.pfx (with tls.pfxPassphrase) instead of tls.cert and tls.key');
  }
  if (kind === 'key') {
    const encrypted = children(readTlv(bytes, 0)).length === 2;
    const types = encrypted ? (['pkcs8'] as const) : (['pkcs8', 'pkcs1', 'sec1'] as const);
    let last: CertificateError | undefined;
    for (const type of types) {
      try {
        return createKey(file, { key: bytes, format: 'der', type }, encrypted, passphrase, passSetting);
      } catch (err) {
        last = err as CertificateError;
      }
    }
    throw last!;
  }
  throw problem(PROBLEM.KEY_FORMAT_UNKNOWN, file, 'no private key found in this file', `point ${setting} to the private key in PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY")`);
}

function createKey(
  file: string,
  input: { key: string | Buffer; format: 'pem' | 'der'; type?: 'pkcs8' | 'pkcs1' | 'sec1' },
  encrypted: boolean,
  passphrase: string | undefined,
  passSetting: string,
): KeyObject {
  if (encrypted && !passphrase) {
    throw problem(PROBLEM.KEY_PASSPHRASE_MISSING, file, 'the private key is encrypted and no passphrase is configured', `set ${passSetting} (e.g. \${ROD_KEY_PASSPHRASE}, or ROD_KEY_PASSPHRASE_FILE for a secret file)`);
  }
  try {
    return createPrivateKey(passphrase ? { ...input, passphrase } : input);
  } catch (err) {
    const reason = (err as Error).message;
    if (encrypted) {
      throw problem(PROBLEM.KEY_PASSPHRASE_WRONG, file, `the private key cannot be decrypted with the configured passphrase (${reason})`, `check ${passSetting}: it must be the passphrase chosen when the key was made or exported`);
    }
    throw problem(PROBLEM.KEY_FORMAT_UNKNOWN, file, `the private key cannot be read (${reason})`, 'export the key again as PEM, PKCS#8 ("-----BEGIN PRIVATE KEY-----") or PKCS#1 ("-----BEGIN RSA PRIVATE KEY-----")');
  }
}

/**
 * Certificates and private key from a PKCS#12 file. With several keys, the one belonging to a
 * certificate in the file wins.
 */
export function readPkcs12(file: string, passphrase?: string, options: ReadOptions = {}): { certs: X509Certificate[]; key: KeyObject } {
  const setting = options.setting ?? 'tls.pfx';
  const passSetting = setting === 'tls.pfx' ? 'tls.pfxPassphrase' : 'the passphrase setting';
  const bytes = readBytes(file, setting);
  let der = bytes;
  if (isPem(bytes)) {
    const blocks = pemBlocks(bytes);
    const p12 = blocks.find((b) => b.type === 'PKCS12');
    if (!p12) {
      throw problem(PROBLEM.PFX_UNREADABLE, file, `this is a PEM file (${blocks.map((b) => b.type).join(', ') || 'no blocks'}), not a PKCS#12 bundle`, 'for PEM certificate and key files use tls.cert and tls.key instead of tls.pfx');
    }
    der = p12.der;
  } else if (!isPkcs12(bytes)) {
    const kind = sniffDer(bytes);
    const found = kind === 'unknown' ? 'not a PKCS#12 bundle' : `a ${kind === 'pkcs7' ? 'PKCS#7 chain' : kind === 'certificate' ? 'DER certificate' : kind}, not a PKCS#12 bundle`;
    throw problem(PROBLEM.PFX_UNREADABLE, file, `this file is ${found}`, 'point tls.pfx to the .p12/.pfx export that holds certificate and private key, or use tls.cert and tls.key');
  }
  let contents;
  try {
    contents = unpackPkcs12(der, passphrase);
  } catch (err) {
    if (err instanceof Pkcs12Error && err.reason === 'bad-passphrase') {
      if (!passphrase) {
        throw problem(PROBLEM.PFX_PASSPHRASE_MISSING, file, 'the PKCS#12 bundle is protected with a passphrase and none is configured', `set ${passSetting} (e.g. \${ROD_PFX_PASSPHRASE}, or ROD_PFX_PASSPHRASE_FILE for a secret file)`);
      }
      throw problem(PROBLEM.PFX_PASSPHRASE_WRONG, file, 'the configured passphrase does not open the PKCS#12 bundle', `check ${passSetting}: it must be the password chosen when the .p12/.pfx was exported`);
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw problem(
      PROBLEM.PFX_UNSUPPORTED,
      file,
      `the PKCS#12 bundle cannot be unpacked (${reason})`,
      'export it again with current algorithms, e.g. `openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256`, or export certificate and key as PEM and use tls.cert and tls.key',
    );
  }
  const certs = dedupe(
    contents.certificates.map((d, i) => parseCertificate(d, file, `certificate ${i + 1} in the PKCS#12 bundle`)),
  );
  if (certs.length === 0) {
    throw problem(PROBLEM.PFX_NO_CERT, file, 'the PKCS#12 bundle holds no certificate', 'export it again including the certificate (and its chain)');
  }
  const key = contents.keys.find((k) => certs.some((c) => matches(c, k))) ?? contents.keys[0];
  if (!key) {
    throw problem(
      PROBLEM.PFX_NO_KEY,
      file,
      'the PKCS#12 bundle holds certificates but no private key',
      'export it again with the private key (Windows: "Yes, export the private key"; OpenSSL: `openssl pkcs12 -export -in client.crt -inkey client.key -certfile chain.pem`)',
    );
  }
  return { certs, key };
}

/** Whether the private key belongs to the certificate. */
export function matches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}
