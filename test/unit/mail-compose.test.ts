import { describe, expect, it } from 'vitest';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { simpleParser } from 'mailparser';
import { passesElfproef, type Verzuimmelding } from '../../src/domain/melding.js';
import { composeMail, type ComposeInput, type ComposedMail } from '../../src/mail/compose.js';
import { composeAlert } from '../../src/mail/alert.js';
import { domainOf } from '../../src/domain/mail.js';
import { messageId } from '../../src/mail/message-id.js';
import { diffMelding, type FieldChange } from '../../src/policy/notification-policy.js';
import { composeInput, INSTANCES, INSTELLING, LEERLING, melding as meldingFixture } from '../support/fixtures.js';

// Fictional pupil and reporter; the BSN lies in the range reserved for tests.
const BSN = '999990032';
const ONDERWIJSNUMMER = '104857311';

function melding(overrides: Partial<Verzuimmelding> = {}): Verzuimmelding {
  return meldingFixture({
    volgnummer: 57,
    melddatum: '2026-11-24T08:15:00Z',
    gewijzigdOp: '2026-11-25T09:02:00Z',
    verzuimperiode: { begindatum: '2026-10-27', einddatum: '2026-11-20' },
    aantalUrenVerzuim: 16.5,
    vermoedelijkeReden: 'Spijbelen',
    toelichting: 'Sinds de herfstvakantie vaak afwezig.\nGesprek met ouders gepland.',
    leerling: { ...LEERLING, bsn: BSN, geslacht: 'V' },
    instelling: { ...INSTELLING, onderwijslocatiecode: '123A456' },
    ...overrides,
  });
}

/** Like the shared fixture, about this file's melding(). */
function input(overrides: Partial<ComposeInput> = {}): ComposeInput {
  return composeInput({ melding: melding(), ...overrides });
}

/** Every personal value of the fixture, in each form it could be written. */
const PERSONAL = [
  BSN, ONDERWIJSNUMMER,
  'Sanne', 'Maria', 'Berg',
  '2011-03-14', '14 maart 2011',
  'Oudegracht', '112a', '3511AX', '3511 AX',
  'Petra', 'de Vries', '030-1234567', 'p.devries@voorbeeldcollege.example', 'Verzuimcoördinator',
  'Spijbelen', 'herfstvakantie', 'ouders gepland',
];

/** Paragraphs in the plain text are wrapped; compare sentences without the line breaks. */
function flat(text: string): string {
  return text.replace(/\s+/g, ' ');
}

function everyPart(mail: ComposedMail): string[] {
  return [mail.subject, mail.text, mail.html, ...Object.keys(mail.headers), ...Object.values(mail.headers)];
}

function unescapeHtml(value: string): string {
  return value
    .replace(/<br>/g, '\n')
    // Addresses are broken up with <span>s so that no client links them; they read the same.
    .replace(/<\/?span>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

type Structure = Array<{ paragraph: string } | { title: string; rows: [string, string][] }>;

/** Reads the plain text back into paragraphs and titled tables of label/value rows. */
function textStructure(text: string): Structure {
  return text
    .trimEnd()
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      if (lines.length > 1 && /^-+$/.test(lines[1]!)) {
        const rows: [string, string][] = [];
        for (const line of lines.slice(2)) {
          const row = /^([^ ].*?):\s+(.*)$/.exec(line);
          if (row) rows.push([row[1]!, row[2]!]);
          else rows[rows.length - 1]![1] += `\n${line.trim()}`;
        }
        return { title: lines[0]!, rows };
      }
      return { paragraph: lines.join(' ') };
    });
}

/** Reads the HTML back into the same shape, unescaping every value. */
function htmlStructure(html: string): Structure {
  const out: Structure = [];
  const body = html.slice(html.indexOf('<body'));
  const pattern = /<p[^>]*>(.*?)<\/p>|<h2[^>]*>(.*?)<\/h2>|<tr><th[^>]*>(.*?)<\/th><td[^>]*>(.*?)<\/td><\/tr>/gs;
  for (const match of body.matchAll(pattern)) {
    if (match[1] !== undefined) out.push({ paragraph: unescapeHtml(match[1]) });
    else if (match[2] !== undefined) out.push({ title: unescapeHtml(match[2]), rows: [] });
    else {
      const last = out[out.length - 1];
      if (!last || !('rows' in last)) throw new Error('a table row outside a titled table');
      last.rows.push([unescapeHtml(match[3]!), unescapeHtml(match[4]!)]);
    }
  }
  return out;
}

/** What a receiving mail system sees: the composed mail built by nodemailer and parsed back. */
async function roundTrip(mail: ComposedMail, id: string) {
  const raw = await new MailComposer({
    from: 'Verzuimrelay Utrecht <verzuim-relay@utrecht.example>',
    to: 'leerplicht@utrecht.example',
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    headers: mail.headers,
    messageId: id,
  })
    .compile()
    .build();
  return { raw: raw.toString('utf8'), parsed: await simpleParser(raw) };
}

describe('composeMail: subject', () => {
  it('uses a fictional BSN that passes the 11-proef', () => {
    expect(passesElfproef(BSN)).toBe(true);
  });

  it('names kind, verzuimsoort, school, BRIN and meldingsnummer', () => {
    expect(composeMail(input()).subject).toBe('[Verzuim] Nieuw: 16 uur in 4 weken – Voorbeeldcollege (21XY) – melding 2026004711');
    expect(composeMail(input({ kind: 'Gewijzigd', melding: melding({ verzuimsoort: 'LUXE' }) })).subject).toBe(
      '[Verzuim] Gewijzigd: Luxe verzuim – Voorbeeldcollege (21XY) – melding 2026004711',
    );
    expect(composeMail(input({ kind: 'Ingetrokken' })).subject).toBe(
      '[Verzuim] Ingetrokken: 16 uur in 4 weken – Voorbeeldcollege (21XY) – melding 2026004711',
    );
  });

  it('shows an unknown verzuimsoort as its code, in subject, body and header', () => {
    const mail = composeMail(input({ melding: melding({ verzuimsoort: 'SCHOOLWEIGERAAR' }) }));
    expect(mail.subject).toBe('[Verzuim] Nieuw: SCHOOLWEIGERAAR – Voorbeeldcollege (21XY) – melding 2026004711');
    expect(mail.text).toMatch(/^Verzuimsoort: +SCHOOLWEIGERAAR$/m);
    expect(mail.html).toContain('>SCHOOLWEIGERAAR</td>');
    expect(mail.headers['X-Verzuim-Soort']).toBe('SCHOOLWEIGERAAR');
  });

  it('strips line breaks and control characters from subject and headers, so nothing can be injected', async () => {
    const evil = melding({
      instelling: { instellingscode: '21XY', naam: 'Voorbeeld\r\nBcc: stiekem@elders.example\u0007\u202e college' },
    });
    const mail = composeMail(input({ melding: evil, instance: { id: 'leerplicht', name: 'Leerplicht\nUtrecht', email: 'x@utrecht.example' } }));
    expect(mail.subject).toBe('[Verzuim] Nieuw: 16 uur in 4 weken – Voorbeeld Bcc: stiekem@elders.example college (21XY) – melding 2026004711');
    for (const value of [mail.subject, ...Object.values(mail.headers)]) expect(value).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    const { parsed } = await roundTrip(mail, '<t1@utrecht.example>');
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.subject).toBe(mail.subject);
    expect(mail.text.split('\n')[0]).toBe('Aan: Leerplicht Utrecht');
  });

  it('never carries the pupil\'s or the reporter\'s data in subject or headers, even in a full mail', () => {
    for (const kind of ['Nieuw', 'Gewijzigd', 'Ingetrokken'] as const) {
      const mail = composeMail(input({ kind }));
      for (const part of [mail.subject, ...Object.values(mail.headers)]) {
        for (const secret of PERSONAL) expect(part).not.toContain(secret);
      }
    }
  });
});

describe('composeMail: headers', () => {
  it('carries the routing facts for mail rules', () => {
    expect(composeMail(input({ kind: 'Gewijzigd', instance: { id: 'zorg', ...INSTANCES.zorg } })).headers).toEqual({
      'X-Verzuim-Meldingsnummer': '2026004711',
      'X-Verzuim-Volgnummer': '57',
      'X-Verzuim-Soort': 'ZESTIEN_UUR',
      'X-Verzuim-Instantie': 'zorg',
      'X-Verzuim-Bericht': 'Gewijzigd',
    });
  });

  it('survive nodemailer and a mail parser intact, together with subject, text and HTML', async () => {
    const mail = composeMail(input());
    const id = messageId({ meldingsnummer: '2026004711', volgnummer: 57, instance: 'leerplicht', kind: 'Nieuw' }, 'utrecht.example');
    const { parsed } = await roundTrip(mail, id);
    expect(parsed.subject).toBe(mail.subject);
    expect(parsed.messageId).toBe(id);
    expect(parsed.headers.get('x-verzuim-meldingsnummer')).toBe('2026004711');
    expect(parsed.headers.get('x-verzuim-volgnummer')).toBe('57');
    expect(parsed.headers.get('x-verzuim-soort')).toBe('ZESTIEN_UUR');
    expect(parsed.headers.get('x-verzuim-instantie')).toBe('leerplicht');
    expect(parsed.headers.get('x-verzuim-bericht')).toBe('Nieuw');
    expect(parsed.text?.trimEnd()).toBe(mail.text.trimEnd());
    expect(parsed.html).toBe(mail.html);
  });
});

describe('composeMail: full content', () => {
  it('shows the melding, the pupil, the school and the reporter the Dutch way', () => {
    const { text } = composeMail(input());
    for (const line of [
      'Aan: Leerplicht Utrecht',
      'Meldingsnummer:      2026004711',
      'Verzuimsoort:        16 uur in 4 weken',
      'Status:              Geregistreerd',
      'Gemeld op:           24 november 2026 om 09:15',
      'Verzuimperiode:      27 oktober 2026 t/m 20 november 2026',
      'Aantal uren verzuim: 16,5 uur',
      'Vermoedelijke reden: Spijbelen',
      'Toelichting:         Sinds de herfstvakantie vaak afwezig.',
      '                     Gesprek met ouders gepland.',
      'Naam:          Sanne Maria van den Berg',
      `BSN:           ${BSN}`,
      'Geboortedatum: 14 maart 2011',
      'Adres:         Oudegracht 112a',
      '               3511 AX Utrecht',
      'Naam:                 Voorbeeldcollege',
      'BRIN:                 21XY',
      'Vestiging:            01',
      'Onderwijslocatiecode: 123A456',
      'Naam:     Petra de Vries',
      'Functie:  Verzuimcoördinator',
      'Telefoon: 030-1234567',
      'E-mail:   p.devries@voorbeeldcollege.example',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).not.toContain('Wat is er gewijzigd');
  });

  it('shows the onderwijsnummer when the pupil has no BSN, and an open period without end', () => {
    const m = melding({
      leerling: { ...melding().leerling, bsn: undefined, onderwijsnummer: ONDERWIJSNUMMER, adres: undefined },
      verzuimperiode: { begindatum: '2026-10-27', einddatum: null },
      melder: undefined,
    });
    const { text } = composeMail(input({ melding: m }));
    expect(text).toMatch(new RegExp(`^Onderwijsnummer: +${ONDERWIJSNUMMER}$`, 'm'));
    expect(text).not.toMatch(/^BSN:/m);
    expect(text).not.toMatch(/^Adres:/m);
    expect(text).not.toMatch(/^Melder$/m);
    expect(text).toContain('vanaf 27 oktober 2026 (nog geen einddatum)');
  });

  it('writes times in Amsterdam time, summer and winter', () => {
    expect(composeMail(input({ melding: melding({ melddatum: '2026-07-01T08:00:00Z' }) })).text).toContain('1 juli 2026 om 10:00');
    expect(composeMail(input({ melding: melding({ melddatum: '2026-01-05T23:30:00Z' }) })).text).toContain('6 januari 2026 om 00:30');
  });

  it('for Gewijzigd lists what changed, from what to what', () => {
    const before = melding({ verzuimperiode: { begindatum: '2026-10-27' }, verzuimsoort: 'OVERIG' });
    const after = melding();
    const changes = diffMelding(before, after);
    const { text, html } = composeMail(input({ kind: 'Gewijzigd', melding: after, changes }));
    expect(text).toContain('Wat is er gewijzigd\n-------------------\n');
    expect(text).toMatch(/^Verzuimsoort: +Overig verzuim → 16 uur in 4 weken$/m);
    expect(text).toMatch(/^Einddatum verzuimperiode: +\(niet ingevuld\) → 20 november 2026$/m);
    expect(flat(text)).toContain('Let op: de verzuimsoort is gewijzigd.');
    expect(html).toContain('>Einddatum verzuimperiode</th>');
    expect(html).toContain('>(niet ingevuld) → 20 november 2026</td>');
  });

  it('for Ingetrokken says plainly that the school withdrew it', () => {
    const { text } = composeMail(input({ kind: 'Ingetrokken', melding: melding({ status: 'INGETROKKEN' }) }));
    expect(flat(text)).toContain('De school heeft deze verzuimmelding ingetrokken (verwerkt door DUO op 25 november 2026 om 10:02)');
    expect(flat(text)).toContain('De melding hoeft niet meer behandeld te worden.');
    expect(text).toMatch(/^Status: +Ingetrokken$/m);
  });
});

describe('composeMail: minimal content', () => {
  const personalChanges: FieldChange[] = [
    { field: 'leerling.adres.straatnaam', label: 'Straatnaam (leerling)', from: 'Oudegracht', to: 'Lange Nieuwstraat', personal: true },
    { field: 'melder.naam', label: 'Naam (melder)', from: 'Petra de Vries', to: 'Karim El Amrani', personal: true },
    { field: 'toelichting', label: 'Toelichting', from: null, to: 'Gesprek met ouders gepland.', personal: true },
    { field: 'aantalUrenVerzuim', label: 'Aantal uren verzuim', from: '12', to: '16,5', personal: false },
    { field: 'verzuimperiode.einddatum', label: 'Einddatum verzuimperiode', from: null, to: '20 november 2026', personal: false },
  ];

  it('holds no personal data of pupil or reporter in any part, for every kind', async () => {
    for (const kind of ['Nieuw', 'Gewijzigd', 'Ingetrokken'] as const) {
      for (const m of [melding(), melding({ leerling: { ...melding().leerling, bsn: undefined, onderwijsnummer: ONDERWIJSNUMMER } })]) {
        const mail = composeMail(input({ kind, melding: m, content: 'minimal', changes: kind === 'Gewijzigd' ? personalChanges : [] }));
        const { raw } = await roundTrip(mail, '<t2@utrecht.example>');
        for (const part of [...everyPart(mail), raw]) {
          for (const secret of [...PERSONAL, 'Lange Nieuwstraat', 'Karim']) expect(part).not.toContain(secret);
        }
      }
    }
  });

  it('shows meldingsnummer, soort, status, period and school, and where to look the rest up', () => {
    const { text } = composeMail(input({ content: 'minimal' }));
    expect(text).toMatch(/^Meldingsnummer: +2026004711$/m);
    expect(text).toMatch(/^Verzuimsoort: +16 uur in 4 weken$/m);
    expect(text).toMatch(/^Status: +Geregistreerd$/m);
    expect(text).toMatch(/^Verzuimperiode: +27 oktober 2026 t\/m 20 november 2026$/m);
    expect(text).toMatch(/^Naam: +Voorbeeldcollege$/m);
    expect(text).toMatch(/^BRIN: +21XY$/m);
    expect(text).toMatch(/^Onderwijslocatiecode: +123A456$/m);
    expect(flat(text)).toContain('Zoek melding 2026004711 op in het eigen systeem van de gemeente Utrecht');
    expect(text).not.toMatch(/^(Leerling|Melder)$/m);
  });

  it('names changed personal fields without their values, and shows the period change in full', () => {
    const { text } = composeMail(input({ kind: 'Gewijzigd', content: 'minimal', changes: personalChanges }));
    expect(text).toMatch(/^Straatnaam \(leerling\): +gewijzigd$/m);
    expect(text).toMatch(/^Naam \(melder\): +gewijzigd$/m);
    expect(text).toMatch(/^Toelichting: +gewijzigd$/m);
    expect(text).toMatch(/^Aantal uren verzuim: +gewijzigd$/m);
    expect(text).toMatch(/^Einddatum verzuimperiode: +\(niet ingevuld\) → 20 november 2026$/m);
  });
});

describe('composeMail: HTML', () => {
  const hostile = melding({
    instelling: { instellingscode: '21XY', naam: '<script>alert("x")</script> & \'Co\'' },
    toelichting: 'Zie <img src=x onerror=alert(1)> & "meer"',
    leerling: { ...melding().leerling, voornamen: 'Sanne <b>', geslachtsnaam: 'O\'Berg & Zn' },
    melder: { naam: '"Petra" <p@x.example>' },
  });
  const changes: FieldChange[] = [
    { field: 'instelling.naam', label: 'Naam (school)', from: 'A & B', to: '<i>C</i>', personal: false },
  ];

  it('escapes every value from ROD', () => {
    const { html } = composeMail(input({ kind: 'Gewijzigd', melding: hostile, changes, instance: { id: 'leerplicht', name: 'Team <Leerplicht> & Zorg', email: 'x@utrecht.example' } }));
    const body = html.slice(html.indexOf('<body'));
    expect(body).not.toMatch(/<script|<img|<b>|<i>|<p@/);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;');
    expect(html).toContain('Zie &lt;img src=x onerror=alert(1)&gt; &amp; &quot;meer&quot;');
    expect(html).toContain('Sanne &lt;b&gt; van den O&#39;Berg &amp; Zn');
    expect(html).toContain('&quot;Petra&quot; &lt;p<span>@</span>x<span>.</span>example&gt;');
    expect(html).toContain('A &amp; B → &lt;i&gt;C&lt;/i&gt;');
    expect(html).toContain('Aan: Team &lt;Leerplicht&gt; &amp; Zorg');
    // The <title> carries the subject, escaped as well.
    expect(html).toContain('<title>[Verzuim] Gewijzigd: ');
    expect(html).toMatch(/<title>[^<]*&lt;script&gt;[^<]*<\/title>/);
  });

  it('leaves the plain text unescaped: it is not HTML', () => {
    const { text } = composeMail(input({ melding: hostile }));
    expect(text).toContain('<script>alert("x")</script> & \'Co\'');
  });

  it('uses inline styles only: no <style> block, no external resources', () => {
    const { html } = composeMail(input());
    expect(html).not.toMatch(/<style|<link|<script|src=|url\(/i);
    expect(html).toMatch(/<table style="[^"]+">/);
  });

  it('carries the same facts as the plain text, for every kind and both contents', () => {
    const changesFull = diffMelding(melding({ aantalUrenVerzuim: 12, verzuimsoort: 'LUXE' }), melding());
    for (const kind of ['Nieuw', 'Gewijzigd', 'Ingetrokken'] as const) {
      for (const content of ['full', 'minimal'] as const) {
        for (const m of [melding(), hostile]) {
          const mail = composeMail(input({ kind, content, melding: m, changes: kind === 'Gewijzigd' ? changesFull : [] }));
          const fromText = textStructure(mail.text);
          expect(fromText.length).toBeGreaterThan(4);
          expect(htmlStructure(mail.html)).toEqual(fromText);
        }
      }
    }
  });
});

describe('composeMail: determinism and Message-ID', () => {
  const tuple = { meldingsnummer: '2026004711', volgnummer: 57, instance: 'leerplicht', kind: 'Nieuw' } as const;

  it('composes the same mail for the same input', () => {
    expect(composeMail(input())).toEqual(composeMail(input()));
  });

  it('derives the Message-ID from (meldingsnummer, volgnummer, instance, kind)', () => {
    expect(messageId(tuple, 'utrecht.example')).toBe('<verzuim.2026004711.57.leerplicht.nieuw@utrecht.example>');
    expect(messageId(tuple, 'utrecht.example')).toBe(messageId({ ...tuple }, 'utrecht.example'));
    const variants = [
      messageId(tuple, 'utrecht.example'),
      messageId({ ...tuple, volgnummer: 58 }, 'utrecht.example'),
      messageId({ ...tuple, instance: 'zorg' }, 'utrecht.example'),
      messageId({ ...tuple, kind: 'Gewijzigd' }, 'utrecht.example'),
      messageId({ ...tuple, kind: 'Ingetrokken' }, 'utrecht.example'),
      messageId({ ...tuple, meldingsnummer: '2026004712' }, 'utrecht.example'),
    ];
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('refuses parts that would make an invalid or ambiguous Message-ID', () => {
    expect(() => messageId({ ...tuple, meldingsnummer: '12.3' }, 'utrecht.example')).toThrow(/meldingsnummer/);
    expect(() => messageId({ ...tuple, volgnummer: 0 }, 'utrecht.example')).toThrow(/volgnummer/);
    expect(() => messageId({ ...tuple, instance: 'Leer plicht' }, 'utrecht.example')).toThrow(/instance/);
    expect(() => messageId(tuple, 'utrecht.example>\r\nBcc: x')).toThrow(/domain/);
  });

  it('takes the domain from the sender address', () => {
    expect(domainOf('Verzuimrelay Utrecht <verzuim-relay@utrecht.example>')).toBe('utrecht.example');
    expect(domainOf('verzuim-relay@Utrecht.Example')).toBe('utrecht.example');
    expect(domainOf('"Relay @ Utrecht" <relay@mail.utrecht.example> ')).toBe('mail.utrecht.example');
    expect(domainOf('relay@localhost')).toBe('localhost');
    expect(domainOf('relay@gemeente-súdwest.example')).toBe('xn--gemeente-sdwest-cvb.example');
    expect(() => domainOf('Verzuimrelay Utrecht')).toThrow(/smtp\.from/);
    expect(() => domainOf('relay@')).toThrow(/smtp\.from/);
  });
});

describe('composeAlert', () => {
  const alert = composeAlert(
    {
      topic: 'quarantine',
      title: 'Feed-item in quarantaine',
      facts: [
        ['Meldingsnummer', '2026004799'],
        ['Reden', 'leerling.bsn: BSN fails the 11-proef <&>'],
      ],
      advice: ['Bekijk het record: verzuim-relay quarantine list', 'Na een update: verzuim-relay quarantine retry'],
    },
    { code: '0344', name: 'Utrecht' },
  );

  it('has the subject, header and content the administrator needs', () => {
    expect(alert.subject).toBe('[verzuim-relay] Feed-item in quarantaine (Utrecht)');
    expect(alert.headers).toEqual({ 'X-Verzuim-Alert': 'quarantine' });
    expect(alert.text).toMatch(/^Meldingsnummer: 2026004799$/m);
    expect(alert.text).toContain('Wat te doen\n-----------\n- Bekijk het record: verzuim-relay quarantine list\n');
    expect(flat(alert.text)).toContain('verzuim-relay voor de gemeente Utrecht (gemeentecode 0344)');
    expect(alert.html).toContain('<li style="margin:0 0 4px 0;">Na een update: verzuim-relay quarantine retry</li>');
  });

  it('escapes facts in the HTML and keeps the title to one line', () => {
    expect(alert.html).toContain('BSN fails the 11-proef &lt;&amp;&gt;');
    const injected = composeAlert({ topic: 'other', title: 'Let op\r\nBcc: x@y.example', facts: [], advice: [] }, { code: '0344', name: 'Gemeente Utrecht' });
    expect(injected.subject).toBe('[verzuim-relay] Let op Bcc: x@y.example (Gemeente Utrecht)');
    expect(flat(injected.text)).toContain('verzuim-relay voor de gemeente Utrecht');
  });
});
