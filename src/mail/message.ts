/**
 * One outgoing mail as the bytes that go over the wire (RFC 5322 with a
 * multipart/alternative MIME body), built in one go.
 *
 * Why not let nodemailer build it: its MIME tree (nodes, plugins, header
 * normalisation, a chain of streams per part) made about 40 % of the relay's
 * CPU during delivery, and it hands the socket a dozen small writes per mail.
 * Our mails always have the same shape (text + HTML, a handful of headers),
 * so the message is put together here once as one Buffer and given to
 * nodemailer as `raw`, with the envelope beside it. The header encoding is
 * still nodemailer's: header values through MimeNode's encodeHeaderValue (RFC
 * 2047 encoded words, address and Message-ID handling) folded by its
 * foldLines; the choice between 7bit and quoted-printable follows its rule
 * (plain ASCII with lines of at most 76 characters goes as it is). The
 * bodies' quoted-printable is written here, by nodemailer's rules, in one
 * pass (see quotedPrintable for why). test/unit/mail-message.test.ts checks
 * that a mail parser reads the same mail from these bytes as from
 * nodemailer's own.
 */
import { randomBytes } from 'node:crypto';
import { foldLines, hasLongerLines, isPlainText } from 'nodemailer/lib/mime-funcs';
import MimeNode from 'nodemailer/lib/mime-node';

/** A mail as delivery hands it to SMTP. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  messageId: string;
}

/**
 * What goes into one message: the mail as delivery hands it over, with the
 * sender and the date. `from` and `to` are header values (a display name may
 * come with the address); the extra headers (X-Verzuim-*) are written first,
 * in their order.
 */
export interface MessageParts extends OutgoingMail {
  from: string;
  date: Date;
}

// One node for encoding header values: MimeNode.encodeHeaderValue (the
// static one) builds a node per call, and a node's constructor draws random
// bytes for a boundary: 4 % of the relay's CPU for nothing.
const encoder = new MimeNode();

/** RFC 5322 line length limit for header lines, as nodemailer folds them. */
const HEADER_LINE = 76;

/**
 * Field names we write ourselves: anything else in `headers` would either be
 * written twice (a second From or Message-ID) or change the MIME structure.
 */
const RESERVED = new Set(['from', 'to', 'cc', 'bcc', 'subject', 'message-id', 'date', 'mime-version', 'content-type', 'content-transfer-encoding']);
const FIELD_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/** One header line as nodemailer writes it: the value encoded (RFC 2047, addresses, Message-ID) and folded at 76. */
export function headerLine(key: string, value: string | Date): string {
  return foldLines(`${key}: ${encoder.encodeHeaderValue(key, value)}`, HEADER_LINE);
}

// A per-process random part, so that a boundary cannot be guessed from the
// content (a toelichting could otherwise carry a line that ends the part);
// the counter keeps boundaries of one process apart. Every body is also
// checked not to contain its boundary before the message is written.
const BOUNDARY_BASE = `--_VzR-${randomBytes(8).toString('hex')}-Part_`;
let boundaryCounter = 0;

/** A text part's transfer encoding and body, with CRLF line ends (what SMTP carries anyway). */
function encodeBody(content: string): { encoding: '7bit' | 'quoted-printable'; body: string } {
  const crlf = content.replace(/\r?\n/g, '\r\n');
  if (isPlainText(crlf) && !hasLongerLines(crlf, HEADER_LINE)) return { encoding: '7bit', body: crlf };
  return { encoding: 'quoted-printable', body: quotedPrintable(crlf) };
}

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/**
 * Quoted-printable (RFC 2045 6.7) in one pass over the UTF-8 bytes into one
 * buffer. nodemailer's encode + wrap made about 60 KB of short-lived strings,
 * arrays and regular-expression matches for a 9 KB HTML part (a window, a
 * match and a concatenation per line): under --optimize-for-size, whose young
 * generation is 1 MB, that garbage was a scavenge every two or three mails.
 * The rules are the same as nodemailer's: printable ASCII except `=` as it
 * is, a space or tab too unless it ends a line, every other byte as =XX; CRLF
 * is a line break; soft breaks (`=` CRLF) keep lines at 76 characters and
 * never split an =XX or a character's UTF-8 sequence. A CR or LF on its own
 * (encodeBody leaves none) is encoded as data.
 */
export function quotedPrintable(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const len = bytes.length;
  // At most three characters a byte, and a soft break (3) at most every 64 characters.
  const out = Buffer.allocUnsafe(len * 3 + Math.ceil((len * 3) / 64) * 3 + 3);
  let pos = 0;
  let column = 0;
  for (let i = 0; i < len; ) {
    const b = bytes[i]!;
    if (b === 0x0d && bytes[i + 1] === 0x0a) {
      out[pos++] = 0x0d;
      out[pos++] = 0x0a;
      column = 0;
      i += 2;
      continue;
    }
    // One character at a time: the bytes of a UTF-8 sequence stay on one line.
    const n = b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    const next = i + n;
    const endsLine = next >= len || (bytes[next] === 0x0d && bytes[next + 1] === 0x0a);
    const literal = n === 1 && ((b >= 0x21 && b <= 0x7e && b !== 0x3d) || ((b === 0x20 || b === 0x09) && !endsLine));
    const width = literal ? 1 : 3 * n;
    // A line that goes on needs room for its soft break's `=`.
    if (column + width > (endsLine ? HEADER_LINE : HEADER_LINE - 1)) {
      out[pos++] = 0x3d;
      out[pos++] = 0x0d;
      out[pos++] = 0x0a;
      column = 0;
    }
    if (literal) {
      out[pos++] = b;
    } else {
      for (let k = i; k < next && k < len; k++) {
        const c = bytes[k]!;
        out[pos++] = 0x3d;
        out[pos++] = HEX[c >> 4]!;
        out[pos++] = HEX[c & 15]!;
      }
    }
    column += width;
    i = next;
  }
  return out.toString('latin1', 0, pos);
}

/**
 * The whole message. `fromLine` and `toLine` are `headerLine('From', from)`
 * and `headerLine('To', to)`, passed in so that a sender encodes its From
 * once and each recipient's To once; without them they are encoded here.
 */
export function buildMessage(parts: MessageParts, fromLine = headerLine('From', parts.from), toLine = headerLine('To', parts.to)): Buffer {
  const text = encodeBody(parts.text);
  const html = encodeBody(parts.html);
  let boundary = BOUNDARY_BASE + ++boundaryCounter;
  while (text.body.includes(boundary) || html.body.includes(boundary)) boundary = BOUNDARY_BASE + ++boundaryCounter;

  const lines: string[] = [];
  for (const [key, value] of Object.entries(parts.headers)) {
    // Header names come from this code (compose.ts, alert.ts), never from ROD; refuse rather than write a broken header.
    if (!FIELD_NAME.test(key) || RESERVED.has(key.toLowerCase())) throw new Error(`cannot build the mail: "${key}" is not an extra header field name the relay writes`);
    const encoded = encoder.encodeHeaderValue(key, value);
    if (encoded.trim()) lines.push(foldLines(`${key}: ${encoded}`, HEADER_LINE));
  }
  lines.push(
    fromLine,
    toLine,
    headerLine('Subject', parts.subject),
    headerLine('Message-ID', parts.messageId),
    headerLine('Date', parts.date),
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative;\r\n boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Transfer-Encoding: ${text.encoding}`,
    '',
    text.body,
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    `Content-Transfer-Encoding: ${html.encoding}`,
    '',
    html.body,
    `--${boundary}--`,
    '',
  );
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
