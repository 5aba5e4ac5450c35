/**
 * One description of a mail, rendered twice: as plain text and as HTML. Both
 * come from the same blocks, so the two alternatives cannot drift apart, and
 * every value passes one escape function on its way into the HTML.
 */

export type Block =
  | { type: 'paragraph'; text: string }
  | { type: 'table'; title?: string; rows: ReadonlyArray<readonly [string, string]> }
  | { type: 'list'; title?: string; items: readonly string[] };

const NEEDS_ESCAPE = /[&<>"']/;

/** For HTML text and attribute values alike. */
export function escapeHtml(value: string): string {
  // Most values (labels, dates, codes) have nothing to escape: five replaces each would make five scans for nothing.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// C0/C1 controls, DEL, the Unicode line and paragraph separators: they break
// a header line or a table row, so they become a space.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;
// Every Unicode format character (category Cf): the bidirectional marks and
// overrides (RLM, ALM, RLO, isolates), zero-width spaces and joiners, the BOM,
// soft hyphens. They are invisible, so they can make a subject read differently
// than it is or split a word that a mail rule matches on; removed, not
// replaced, because they never stand for a space.
const FORMAT = /\p{Cf}/gu;

/**
 * A value for a subject or header line: no CR/LF (header injection), no
 * control or invisible format characters, runs of white space folded into one.
 */
export function oneLine(value: string): string {
  return value.replace(FORMAT, '').replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
}

/** A free-text value for the body: line breaks kept, other control and format characters removed. */
export function multiLine(value: string): string {
  return value
    .replace(/\r\n?/g, '\n')
    .replace(FORMAT, '')
    .replace(CONTROL_EXCEPT_NEWLINE, ' ')
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Plain text wraps at a width every mail client shows without scrolling. */
function wrap(text: string, width = 76): string[] {
  const out: string[] = [];
  for (const paragraphLine of text.split('\n')) {
    let line = '';
    for (const word of paragraphLine.split(' ')) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    out.push(line);
  }
  return out;
}

function textTable(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.min(28, Math.max(...rows.map(([label]) => label.length + 2)));
  const out: string[] = [];
  for (const [label, value] of rows) {
    const head = `${label}:`;
    const [first = '', ...rest] = value.split('\n');
    if (head.length + 1 > width) {
      out.push(`${head} ${first}`);
    } else {
      out.push(`${head.padEnd(width)}${first}`);
    }
    for (const line of rest) out.push(`${' '.repeat(width)}${line}`);
  }
  return out;
}

export function renderText(blocks: readonly Block[]): string {
  const parts: string[] = [];
  for (const block of blocks) {
    const lines: string[] = [];
    if (block.type !== 'paragraph' && block.title) lines.push(block.title, '-'.repeat(block.title.length));
    if (block.type === 'paragraph') lines.push(...wrap(block.text));
    else if (block.type === 'table') lines.push(...textTable(block.rows));
    else for (const item of block.items) lines.push(...wrap(item, 74).map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`)));
    parts.push(lines.join('\n'));
  }
  return `${parts.join('\n\n')}\n`;
}

const STYLE = {
  body: 'margin:0;padding:16px;background:#ffffff;color:#1f1f1f;font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.5;',
  wrapper: 'max-width:680px;',
  p: 'margin:0 0 14px 0;',
  h2: 'margin:22px 0 6px 0;font-size:16px;font-weight:bold;color:#154273;',
  table: 'border-collapse:collapse;width:100%;margin:0 0 8px 0;',
  th: 'text-align:left;vertical-align:top;font-weight:normal;color:#555555;padding:4px 16px 4px 0;width:34%;border-bottom:1px solid #e6e6e6;',
  td: 'vertical-align:top;padding:4px 0;border-bottom:1px solid #e6e6e6;',
  ul: 'margin:0 0 14px 0;padding-left:20px;',
  li: 'margin:0 0 4px 0;',
} as const;

// What a mail client would turn into a link: an address with a scheme or
// starting with www., an e-mail address, a bare host name such as
// school.example (the last label lower-case letters, the one before it at
// least two characters, so initials like "J.P.de Vries" are left alone).
export const LINKABLE =
  /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s<>"']*|\bwww\.[^\s<>"']*|[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b|\b(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9][A-Za-z0-9-]+\.[a-z]{2,63}\b/g;

/**
 * A link-like piece of text, escaped and broken up so that no mail client
 * makes it clickable. The text in a melding is written by a school (or by
 * whoever got hold of a school's account): a link in it must not become one
 * click away from a leerplichtambtenaar's browser. A scheme is defanged
 * visibly (hxxps), so a reader sees the address was altered; dots, @ and //
 * are wrapped in their own element, so the address still reads (and copies)
 * as written but no client's link detection finds it in one piece of text.
 */
function defang(token: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(token);
  const rest = scheme ? token.slice(scheme[0].length) : token;
  const broken = escapeHtml(rest).replace(/[.@]/g, '<span>$&</span>');
  if (!scheme) return broken;
  const name = scheme[1]!.replace(/^http(s?)$/i, 'hxxp$1');
  return `${escapeHtml(name)}:<span>//</span>${broken}`;
}

/**
 * Whether LINKABLE could match at all: each of its forms holds a dot or "://".
 * Most values (names, dates, hours, postcodes) hold neither and skip the
 * expression, which was some 2 % of the CPU of sending a mail.
 */
const mayLink = (value: string) => value.includes('.') || value.includes('://');

/** The <title> holds text only, no markup: there the same addresses are defanged visibly (hxxps[://]school[.]example). */
function titleText(value: string): string {
  if (!mayLink(value)) return value;
  return value.replace(LINKABLE, (token) =>
    token
      .replace(/^http(s?):\/\//i, 'hxxp$1://')
      .replace('://', '[://]')
      .replace(/[.@]/g, '[$&]'),
  );
}

/** Escaped and defanged, with the value's own line breaks kept. */
function htmlValue(value: string): string {
  if (!mayLink(value)) return escapeHtml(value).replace(/\n/g, '<br>');
  let out = '';
  let last = 0;
  for (const match of value.matchAll(LINKABLE)) {
    out += escapeHtml(value.slice(last, match.index)) + defang(match[0]);
    last = match.index + match[0].length;
  }
  return (out + escapeHtml(value.slice(last))).replace(/\n/g, '<br>');
}

export function renderHtml(blocks: readonly Block[], title: string): string {
  const out: string[] = [];
  for (const block of blocks) {
    if (block.type !== 'paragraph' && block.title) out.push(`<h2 style="${STYLE.h2}">${escapeHtml(block.title)}</h2>`);
    if (block.type === 'paragraph') {
      out.push(`<p style="${STYLE.p}">${htmlValue(block.text)}</p>`);
    } else if (block.type === 'table') {
      out.push(`<table style="${STYLE.table}">`);
      for (const [label, value] of block.rows) {
        out.push(`<tr><th scope="row" style="${STYLE.th}">${escapeHtml(label)}</th><td style="${STYLE.td}">${htmlValue(value)}</td></tr>`);
      }
      out.push('</table>');
    } else {
      out.push(`<ul style="${STYLE.ul}">`);
      for (const item of block.items) out.push(`<li style="${STYLE.li}">${htmlValue(item)}</li>`);
      out.push('</ul>');
    }
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="nl">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(titleText(title))}</title></head>`,
    `<body style="${STYLE.body}">`,
    `<div style="${STYLE.wrapper}">`,
    ...out,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** 'Utrecht' → 'gemeente Utrecht'; a configured 'Gemeente Utrecht' gives the same, not 'gemeente Gemeente Utrecht'. */
export function gemeenteName(name: string): string {
  const clean = oneLine(name).replace(/^gemeente\s+/i, '');
  return `gemeente ${clean}`;
}
