/**
 * The key derivation of PKCS#12 (RFC 7292 appendix B.2), which Node's crypto does not offer. The
 * relay needs it for the MAC of every PKCS#12 file; the test PKI generator uses it to write them.
 */
import { createHash } from 'node:crypto';

export type Pkcs12Hash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** Digest and block length in bytes. */
const SIZES: Record<Pkcs12Hash, { u: number; v: number }> = {
  sha1: { u: 20, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

/** Repeats `bytes` to fill whole blocks of v bytes; nothing stays nothing. */
function fill(bytes: Uint8Array, v: number): Buffer {
  if (bytes.length === 0) return Buffer.alloc(0);
  const out = Buffer.alloc(v * Math.ceil(bytes.length / v));
  for (let i = 0; i < out.length; i++) out[i] = bytes[i % bytes.length]!;
  return out;
}

/**
 * `purpose` 1 makes a cipher key, 2 an IV, 3 a MAC key. The password enters as a BMPString with a
 * terminating zero character; `null` (no password at all, which some tools write) as no bytes.
 */
export function pkcs12Kdf(password: string | null, salt: Uint8Array, purpose: 1 | 2 | 3, iterations: number, length: number, hash: Pkcs12Hash): Buffer {
  if (!(iterations >= 1)) throw new RangeError('PKCS#12 key derivation needs at least one iteration');
  const { u, v } = SIZES[hash];
  const passwordBytes = password === null ? Buffer.alloc(0) : Buffer.concat([Buffer.from(password, 'utf16le').swap16(), Buffer.alloc(2)]);
  const diversifier = Buffer.alloc(v, purpose);
  const input = Buffer.concat([fill(salt, v), fill(passwordBytes, v)]);

  const output: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let block = createHash(hash).update(diversifier).update(input).digest();
    for (let round = 1; round < iterations; round++) block = createHash(hash).update(block).digest();
    output.push(block);

    // Input_j = (Input_j + B + 1) mod 2^(8v), with B the block repeated to v bytes.
    const b = fill(block, v).subarray(0, v);
    for (let offset = 0; offset < input.length; offset += v) {
      let carry = 1;
      for (let i = v - 1; i >= 0; i--) {
        const sum = input[offset + i]! + b[i]! + carry;
        input[offset + i] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(output).subarray(0, length);
}
