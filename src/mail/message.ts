/**
 * One outgoing mail as the bytes that go over the wire (RFC 5322 with a
 * multipart/alternative MIME body), built in one go.
 *
 * Why not let nodemailer build it: its MIME tree (nodes, plugins, header
 * normalisation, a chain of streams per part) made about 40 % of the relay's
 * CPU during delivery, and it hands the socket a dozen small writes per mail.
 * Our mails always have the same shape (text + HTML, a handful of headers),
 * so the message is put together here once as one Buffer and given to
 * nodemailer as `raw`, with the envelope beside it. The encoding itself is
 * still nodemailer's: header values through MimeNode's encodeHeaderValue (RFC
 * 2047 encoded words, address and Message-ID handling) folded by its
 * foldLines, bodies through its quoted-printable encoder; the choice between
 * 7bit and quoted-printable follows its rule (plain ASCII with lines of at
 * most 76 characters goes as it is). test/unit/mail-message.test.ts checks
 * that a mail parser reads the same mail from these bytes as from
 * nodemailer's own.
 */
import { randomBytes } from 'node:crypto';
import { foldLines, hasLongerLines, isPlainText } from 'nodemailer/lib/mime-funcs';
import MimeNode from 'nodemailer/lib/mime-node';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';

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
  return { encoding: 'quoted-printable', body: qpWrap(qpEncode(crlf), HEADER_LINE) };
}

/**
 * The whole message. `fromLine` is `headerLine('From', from)`, passed in so a
 * sender encodes its From once; without it the From is encoded here.
 */
export function buildMessage(parts: MessageParts, fromLine = headerLine('From', parts.from)): Buffer {
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
    headerLine('To', parts.to),
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
