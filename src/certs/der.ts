/**
 * A small ASN.1 reader and writer that works on the original bytes.
 *
 * Why not node-forge's ASN.1 for everything: forge hands back a parsed tree, and turning a certificate
 * from that tree into bytes again re-encodes it. A certificate must reach Node's X509Certificate (and
 * DUO) exactly as its CA signed it, so certificates are cut out of their containers as byte ranges.
 * The reader accepts BER's indefinite lengths and constructed OCTET STRINGs, which PKCS#12 files from
 * Windows and Java use.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  BMP_STRING: 0x1e,
} as const;

export interface Tlv {
  /** The identifier octet (for tag numbers above 30, the first octet only). */
  tag: number;
  tagClass: 'universal' | 'application' | 'context' | 'private';
  tagNumber: number;
  constructed: boolean;
  /** Offset of the identifier octet in the buffer that was read. */
  start: number;
  /** Offset just past the element (past the end-of-contents octets for an indefinite length). */
  end: number;
  /** The whole element, original bytes. */
  bytes: Buffer;
  /** The contents, original bytes. */
  content: Buffer;
}

const CLASSES = ['universal', 'application', 'context', 'private'] as const;

/** Where the end-of-contents octets of an indefinite-length element whose contents start at `pos` are. */
function endOfContents(buf: Buffer, pos: number): number {
  let p = pos;
  while (!(buf[p] === 0 && buf[p + 1] === 0)) {
    if (p + 2 > buf.length) throw new DerError('missing end-of-contents in indefinite-length ASN.1');
    p = readTlv(buf, p).end;
  }
  return p;
}

/** Reads one element at `offset`. */
export function readTlv(buf: Buffer, offset = 0): Tlv {
  let pos = offset;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new DerError(`truncated ASN.1 data at offset ${pos}`);
  };
  need(2);
  const tag = buf[pos++]!;
  let tagNumber = tag & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (;;) {
      need(1);
      const b = buf[pos++]!;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
      if (tagNumber > 0xffffff) throw new DerError('ASN.1 tag number too large');
    }
  }
  const constructed = (tag & 0x20) !== 0;
  need(1);
  const first = buf[pos++]!;
  let contentStart: number;
  let contentEnd: number;
  let end: number;
  if (first === 0x80) {
    if (!constructed) throw new DerError(`indefinite length on a primitive element at offset ${offset}`);
    contentStart = pos;
    contentEnd = endOfContents(buf, pos);
    end = contentEnd + 2;
  } else {
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      const n = first & 0x7f;
      if (n > 4) throw new DerError(`ASN.1 length of ${n} octets is not supported`);
      need(n);
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
    }
    contentStart = pos;
    contentEnd = pos + length;
    if (contentEnd > buf.length) throw new DerError(`ASN.1 element at offset ${offset} runs past the end of the data`);
    end = contentEnd;
  }
  return {
    tag,
    tagClass: CLASSES[tag >> 6]!,
    tagNumber,
    constructed,
    start: offset,
    end,
    bytes: buf.subarray(offset, end),
    content: buf.subarray(contentStart, contentEnd),
  };
}

/** Reads a buffer that must hold exactly one element. */
export function readSingle(buf: Buffer): Tlv {
  const tlv = readTlv(buf, 0);
  if (tlv.end !== buf.length) throw new DerError('unexpected data after the ASN.1 element');
  return tlv;
}

/** The elements inside a constructed element. */
export function children(tlv: Tlv): Tlv[] {
  if (!tlv.constructed) throw new DerError('expected a constructed ASN.1 element');
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < tlv.content.length) {
    const child = readTlv(tlv.content, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv) throw new DerError(`${what}: missing`);
  if (tlv.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** An OCTET STRING's value; BER may split it into constructed chunks. */
export function octets(tlv: Tlv): Buffer {
  if (tlv.tagNumber !== 4 && tlv.tagClass === 'universal') throw new DerError('expected an OCTET STRING');
  if (!tlv.constructed) return tlv.content;
  return Buffer.concat(children(tlv).map(octets));
}

export function oid(tlv: Tlv): string {
  if (tlv.tag !== TAG.OID) throw new DerError('expected an OBJECT IDENTIFIER');
  const b = tlv.content;
  if (b.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const parts: number[] = [];
  let value = 0;
  for (const byte of b) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift()!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

/** A small non-negative INTEGER (versions, iteration counts, salt lengths). */
export function smallInteger(tlv: Tlv): number {
  if (tlv.tag !== TAG.INTEGER) throw new DerError('expected an INTEGER');
  if (tlv.content.length > 6) throw new DerError('INTEGER too large');
  let v = 0;
  for (const byte of tlv.content) v = v * 256 + byte;
  return v;
}

// --- writing (definite lengths only: what we write is DER) ---
// Used to wrap existing certificates into PKCS#7 and PKCS#12 containers: a
// certificate is only ever copied as a blob, never rebuilt from parsed fields.

export function encode(tag: number, content: Uint8Array | Uint8Array[]): Buffer {
  const body = Array.isArray(content) ? Buffer.concat(content) : Buffer.from(content);
  const n = body.length;
  let header: Buffer;
  if (n < 0x80) {
    header = Buffer.from([tag, n]);
  } else {
    const lenBytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) lenBytes.unshift(v & 0xff);
    header = Buffer.from([tag, 0x80 | lenBytes.length, ...lenBytes]);
  }
  return Buffer.concat([header, body]);
}

export function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [a, b, ...rest] = arcs;
  if (a === undefined || b === undefined || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)) {
    throw new RangeError(`'${dotted}' is not an object identifier`);
  }
  const bytes: number[] = [];
  for (const v of [a * 40 + b, ...rest]) {
    const chunk: number[] = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift(0x80 | (x & 0x7f));
    bytes.push(...chunk);
  }
  return encode(TAG.OID, Buffer.from(bytes));
}

export function encodeSmallInteger(v: number): Buffer {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`integer ${v} is not supported`);
  const bytes: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return encode(TAG.INTEGER, Buffer.from(bytes));
}

export const encodeSequence = (...items: Uint8Array[]): Buffer => encode(TAG.SEQUENCE, items);
/** SET or SET OF; the items are written in the order given. */
export const encodeSet = (...items: Uint8Array[]): Buffer => encode(TAG.SET, items);
export const encodeOctetString = (bytes: Uint8Array): Buffer => encode(TAG.OCTET_STRING, bytes);
export const encodeNull = (): Buffer => Buffer.from([TAG.NULL, 0x00]);
/** [n] EXPLICIT: a constructed context-specific tag around complete elements. */
export const encodeExplicit = (tagNumber: number, ...items: Uint8Array[]): Buffer => encode(0xa0 | tagNumber, items);
/** [n] IMPLICIT on a primitive type (such as an OCTET STRING): the content under a context tag. */
export const encodeImplicitPrimitive = (tagNumber: number, content: Uint8Array): Buffer => encode(0x80 | tagNumber, content);
/** BMPString: UTF-16 big-endian, as PKCS#12 friendly names are written. */
export const encodeBmpString = (text: string): Buffer => encode(TAG.BMP_STRING, Buffer.from(text, 'utf16le').swap16());
