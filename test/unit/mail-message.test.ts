import { describe, expect, it } from 'vitest';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { simpleParser, type ParsedMail } from 'mailparser';
import { composeMail, type ComposeInput } from '../../src/mail/compose.js';
import { composeAlert } from '../../src/mail/alert.js';
import { buildMessage, headerLine, quotedPrintable, type MessageParts } from '../../src/mail/message.js';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import { messageId } from '../../src/mail/message-id.js';
import { composeInput, INSTELLING, melding, MUNICIPALITY } from '../support/fixtures.js';

const FROM = 'Verzuimrelay Utrecht <verzuim-relay@utrecht.example>';
const DATE = new Date('2026-11-29T06:01:02Z');

function parts(mail: { subject: string; text: string; html: string; headers: Record<string, string> }, overrides: Partial<MessageParts> = {}): MessageParts {
  return {
    from: FROM,
    to: 'leerplicht@utrecht.example',
    messageId: messageId({ meldingsnummer: '2026004711', volgnummer: 57, instance: 'leerplicht', kind: 'Nieuw' }, 'utrecht.example'),
    date: DATE,
    ...mail,
    ...overrides,
  };
}

/** The same mail as nodemailer's own MIME tree builds it (what the relay sent before), as bytes. */
async function byNodemailer(p: MessageParts): Promise<Buffer> {
  return new MailComposer({ from: p.from, to: p.to, subject: p.subject, text: p.text, html: p.html, headers: p.headers, messageId: p.messageId, date: p.date }).compile().build();
}

/** What a receiving mail system reads from a message. */
function seen(mail: ParsedMail) {
  const extra = Object.fromEntries([...mail.headers.entries()].filter(([key]) => key.startsWith('x-')));
  return {
    subject: mail.subject,
    from: mail.from?.value,
    to: mail.to && !Array.isArray(mail.to) ? mail.to.value : mail.to,
    messageId: mail.messageId,
    date: mail.date?.toISOString(),
    extra,
    text: mail.text,
    html: mail.html,
    contentType: mail.headers.get('content-type') && (mail.headers.get('content-type') as { value: string }).value,
    attachments: mail.attachments.length,
  };
}

const LONG = 'Een heel lange toelichting zonder regeleinden die ver over de zesenzeventig tekens van een regel heen gaat, en nog verder, en nog verder.';

const MAILS: Array<[string, Partial<ComposeInput>]> = [
  ['a full Nieuw', {}],
  ['a minimal Ingetrokken', { kind: 'Ingetrokken', content: 'minimal' }],
  ['a Gewijzigd with changes', { kind: 'Gewijzigd', changes: [{ field: 'verzuimsoort', label: 'Verzuimsoort', from: 'LUXE', to: 'ZESTIEN_UUR', personal: false }] }],
  ['a long line and non-ASCII text', { melding: melding({ toelichting: `${LONG}\nCoördinator ë — “quotes” € 😀\n.begins with a dot\nFrom the start` }) }],
  [
    'an injection attempt in a header value',
    { melding: melding({ instelling: { ...INSTELLING, naam: 'Voorbeeld\r\nBcc: stiekem@elders.example\u0007 college' } }), instance: { id: 'leerplicht', name: 'Leerplicht\nUtrecht', email: 'x@utrecht.example' } },
  ],
  ['a school with a very long non-ASCII name', { melding: melding({ instelling: { ...INSTELLING, naam: `Stichting Openbaar Onderwijs Zuidoost-Brabant – Scholengemeenschap Sint-Joris ë ${'x'.repeat(40)}` } }) }],
];

describe('buildMessage', () => {
  for (const [name, overrides] of MAILS) {
    it(`reads the same as nodemailer's own message: ${name}`, async () => {
      const p = parts(composeMail(composeInput(overrides)));
      const ours = await simpleParser(buildMessage(p));
      const theirs = await simpleParser(await byNodemailer(p));
      expect(seen(ours)).toEqual(seen(theirs));
      expect(ours.subject).toBe(p.subject);
      expect(ours.messageId).toBe(p.messageId);
      expect(ours.text?.trimEnd()).toBe(p.text.trimEnd());
      expect(ours.html).toBe(p.html);
      expect(ours.headers.has('bcc')).toBe(false);
    });
  }

  it('reads the same as nodemailer\'s own message: an alert', async () => {
    const alert = composeAlert({ topic: 'dead-letter', title: 'Mail kon niet worden bezorgd', facts: [['Meldingsnummer', '2026004711'], ['Fout', '550 geweigerd']], advice: ['Controleer het adres.'] }, MUNICIPALITY);
    const p = parts(alert, { to: 'applicatiebeheer@utrecht.example', messageId: '<alert.x@utrecht.example>' });
    const ours = await simpleParser(buildMessage(p));
    expect(seen(ours)).toEqual(seen(await simpleParser(await byNodemailer(p))));
    expect(ours.headers.get('x-verzuim-alert')).toBe('dead-letter');
  });

  it('writes the header block exactly as nodemailer does, up to the MIME structure', async () => {
    const p = parts(composeMail(composeInput({ melding: melding({ instelling: { ...INSTELLING, naam: 'Scholengemeenschap Coördinatie – Oost' } }) })));
    const head = (raw: Buffer) => raw.toString('utf8').split('\r\nContent-Type: multipart/alternative;')[0];
    expect(head(buildMessage(p))).toBe(head(await byNodemailer(p)));
    expect(head(buildMessage(p))).toMatch(/^Subject: =\?UTF-8\?Q\?/m);
  });

  it('keeps to CRLF line ends and lines of at most 76 characters, with a boundary found nowhere in the parts', () => {
    const p = parts(composeMail(composeInput({ melding: melding({ toelichting: `${LONG}\n${LONG.replace(/e/g, 'ë')}` }) })));
    const raw = buildMessage(p).toString('utf8');
    expect(raw).not.toMatch(/[^\r]\n|\r[^\n]/);
    for (const line of raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    const boundary = /boundary="([^"]+)"/.exec(raw)![1]!;
    expect(raw.split(`--${boundary}`)).toHaveLength(4);
    expect(raw.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });

  it('uses a fresh boundary for each message', () => {
    const p = parts(composeMail(composeInput()));
    const boundaryOf = (raw: Buffer) => /boundary="([^"]+)"/.exec(raw.toString('utf8'))![1];
    expect(boundaryOf(buildMessage(p))).not.toBe(boundaryOf(buildMessage(p)));
  });

  it('encodes the From once for a sender and gives the same message as encoding it for each mail', () => {
    const p = parts(composeMail(composeInput()));
    const strip = (raw: Buffer) => raw.toString('utf8').replace(/_VzR-[0-9a-f]+-Part_[0-9]+/g, 'B');
    expect(strip(buildMessage(p, headerLine('From', FROM)))).toBe(strip(buildMessage(p)));
  });

  it('refuses an extra header that would replace one it writes itself, or a name that is not a field name', () => {
    const p = parts(composeMail(composeInput()));
    expect(() => buildMessage({ ...p, headers: { Bcc: 'stiekem@elders.example' } })).toThrow(/Bcc/);
    expect(() => buildMessage({ ...p, headers: { 'X-A: b\r\nBcc': 'x' } })).toThrow(/not an extra header/);
  });
});

describe('quotedPrintable', () => {
  // Texts with what quoted-printable must take care of: '=', trailing white space, long lines and words,
  // multi-byte characters at every position around the 76th column, a lone CR or LF, an empty line.
  const pieces = ['a', ' ', '\t', '=', 'ë', '€', '😀', '.', 'x'.repeat(70), 'woord ', '\r\n', '\r\n\r\n', '<p style="x">', '=3D', ' \r\n', '\n', '\r'];
  function text(seed: number): string {
    let state = seed;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
    let out = '';
    for (let i = 0, n = next() % 60; i < n; i++) out += pieces[next() % pieces.length];
    return out;
  }
  /** RFC 2045 decoding: soft breaks removed, =XX back to its byte. */
  const decode = (qp: string) => Buffer.from(qp.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');

  it('decodes to the same text, with lines of at most 76 characters of printable ASCII, no bare = and no white space before a line end', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const input = text(seed);
      const qp = quotedPrintable(input);
      expect(decode(qp), `seed ${seed}`).toBe(input);
      for (const line of qp.split('\r\n')) {
        expect(line.length, `seed ${seed}: ${line}`).toBeLessThanOrEqual(76);
        expect(line, `seed ${seed}`).toMatch(/^[\t\x20-\x7e]*$/);
        expect(line, `seed ${seed}`).not.toMatch(/[ \t]$/);
        expect(line.replace(/=[0-9A-F]{2}/g, '').replace(/=$/, ''), `seed ${seed}`).not.toContain('=');
      }
      // A character's UTF-8 bytes are never split over two lines.
      for (const line of qp.split('=\r\n')) expect(() => decodeURIComponent(line.replace(/\r\n/g, '').replace(/=([0-9A-F]{2})/g, '%$1').replace(/%(?![0-9A-F]{2})/g, '%25'))).not.toThrow();
    }
  });

  it("is what mail readers decode nodemailer's quoted-printable to as well", () => {
    const input = `${'Een regel met ë en € en 😀, '.repeat(6)}\r\nkort\r\nspatie aan het eind \r\n${'='.repeat(40)}`;
    expect(decode(quotedPrintable(input))).toBe(decode(qpWrap(qpEncode(input), 76)));
  });
});
