/**
 * Just enough DER to wrap existing certificates into PKCS#7 and PKCS#12 containers.
 *
 * Why by hand: the containers must hold each certificate's original bytes. node-forge rebuilds a
 * certificate from its parsed fields when it writes one, which can change the RSASSA-PSS parameters
 * of a G4 certificate and so break its signature; here a certificate is only ever copied as a blob.
 */

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const content = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(0x30, ...items);
/** SET or SET OF; the items are written in the order given. */
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, ...items);
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
/** [n] EXPLICIT: a constructed context-specific tag around a complete element. */
export const explicit = (tagNumber: number, ...items: Uint8Array[]): Buffer => tlv(0xa0 | tagNumber, ...items);
/** [n] IMPLICIT on a primitive type (such as an OCTET STRING): the content under a context tag. */
export const implicitPrimitive = (tagNumber: number, content: Uint8Array): Buffer => tlv(0x80 | tagNumber, content);

export function integer(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`integer ${value} is not supported`);
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  if (bytes.length === 0 || (bytes[0] as number) >= 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)) {
    throw new RangeError(`'${dotted}' is not an object identifier`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const groups: number[] = [];
    for (let remaining = arc; ; remaining = Math.floor(remaining / 128)) {
      groups.unshift(remaining % 128);
      if (remaining < 128) break;
    }
    groups.forEach((group, index) => bytes.push(index < groups.length - 1 ? group | 0x80 : group));
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** BMPString: UTF-16 big-endian, as PKCS#12 friendly names are written. */
export function bmpString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf16le').swap16();
  return tlv(0x1e, bytes);
}
