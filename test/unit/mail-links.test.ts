/**
 * Text a school wrote must not become something else in the mail: no
 * invisible format characters in subject or headers (a right-to-left mark
 * can make a subject read differently than it is), and no address in the
 * HTML part that a mail client turns into a link.
 */
import { describe, expect, it } from 'vitest';
import { composeMail } from '../../src/mail/compose.js';
import { composeAlert } from '../../src/mail/alert.js';
import { composeInput, LEERLING, MELDER, MUNICIPALITY, melding } from '../support/fixtures.js';

const input = composeInput;

/** RLM, ALM, LRM, ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen, RLO, LRI…PDI: all category Cf. */
const INVISIBLE = ['\u200f', '\u061c', '\u200e', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u202e', '\u2066', '\u2069'];

/** What a reader sees of the HTML body: tags dropped, entities read. */
function visibleText(html: string): string {
  return html
    .slice(html.indexOf('<body'))
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('invisible characters', () => {
  it('removes every format character (Cf) from the subject and every header value', () => {
    const school = `Voorbeeld${INVISIBLE.join('')}college`;
    const mail = composeMail(
      input({
        melding: melding({
          meldingsnummer: '2026004711',
          verzuimsoort: `ZESTIEN\u200b_UUR\u200f`,
          instelling: { instellingscode: '21\u061cXY', naam: school },
        }),
        instance: { id: 'leerplicht', name: 'Leer\u200fplicht', email: 'x@utrecht.example' },
      }),
    );
    for (const value of [mail.subject, ...Object.values(mail.headers)]) expect(value).not.toMatch(/\p{Cf}/u);
    expect(mail.subject).toContain('Voorbeeldcollege (21XY)');
    expect(mail.headers['X-Verzuim-Soort']).toBe('ZESTIEN_UUR');
  });

  it('removes them from the body too, and from an alert', () => {
    const mail = composeMail(input({ melding: melding({ toelichting: 'vaak\u202e afwezig\u200b' }) }));
    expect(mail.text).not.toMatch(/\p{Cf}/u);
    expect(mail.html).not.toMatch(/\p{Cf}/u);
    const alert = composeAlert({ topic: 'other', title: 'Let\u200f op', facts: [['Fout', 'x\u2066y']], advice: [] }, MUNICIPALITY);
    expect(alert.subject).not.toMatch(/\p{Cf}/u);
    expect(alert.subject).toContain('Let op');
  });
});

describe('links written by a school', () => {
  const hostile = melding({
    toelichting: 'Zie https://evil.example/login?next=%2F en http://10.0.0.1/x of www.phish.example.\nMail hulp@evil.example',
    vermoedelijkeReden: 'Ouders zeggen: HTTPS://Ziek.example',
    leerling: { ...LEERLING, voornamen: 'www.sanne.example' },
    instelling: { instellingscode: '21XY', naam: 'school.example' },
    melder: { ...MELDER, naam: 'Petra ftp://files.example', functie: 'zie voorbeeldcollege.example/verzuim' },
  });

  it('leaves no href and no address a mail client would link in the HTML part', () => {
    const { html } = composeMail(input({ melding: hostile }));
    const body = html.slice(html.indexOf('<body'));
    expect(html).not.toMatch(/href/i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/www\./i);
    expect(html).not.toMatch(/ftp:\/\//i);
    for (const address of ['evil.example', 'phish.example', 'ziek.example', 'sanne.example', 'files.example', 'voorbeeldcollege.example', '10.0.0.1', 'p.devries@', 'hulp@']) {
      expect(body.toLowerCase()).not.toContain(address);
    }
  });

  it('keeps the text readable: the scheme visibly defanged, the rest as written', () => {
    const { html } = composeMail(input({ melding: hostile }));
    const seen = visibleText(html);
    expect(seen).toContain('Zie hxxps://evil.example/login?next=%2F en hxxp://10.0.0.1/x of www.phish.example.');
    expect(seen).toContain('Mail hulp@evil.example');
    expect(seen).toContain('hxxpS://Ziek.example');
    expect(seen).toContain(MELDER.emailadres);
    expect(seen).toContain('Naamschool.example'); // the school's row: label and value cells run together here
  });

  it('leaves names with initials and ordinary sentences alone', () => {
    const { html } = composeMail(input({ melding: melding({ toelichting: 'J.P. de Vries belde. Om 10.30 uur t.z.t. verder.' }) }));
    expect(html).toContain('J.P. de Vries belde. Om 10.30 uur t.z.t. verder.');
  });

  it('defangs the subject in the HTML <title> as well', () => {
    const { html, subject } = composeMail(input({ melding: melding({ instelling: { instellingscode: '21XY', naam: 'https://evil.example' } }) }));
    expect(subject).toContain('https://evil.example'); // the subject itself is a header, not HTML: no client links it
    expect(html).toMatch(/<title>[^<]*hxxps\[:\/\/\]evil\[\.\]example/);
  });
});

describe('the link check', () => {
  it('finds nothing link-like in text without a dot or "://", which renderHtml therefore does not search', async () => {
    const { LINKABLE } = await import('../../src/mail/render.js');
    // Characters every form of LINKABLE is made of, and the ones around it, without '.'.
    const alphabet = 'abcwWxyzAZ09@:/+-_%~ \n\'"<>';
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    let checked = 0;
    for (let i = 0; i < 5000; i++) {
      let text = '';
      for (let n = next() % 40; n > 0; n--) text += alphabet[next() % alphabet.length];
      if (text.includes('://')) continue;
      checked++;
      expect(text.match(LINKABLE), JSON.stringify(text)).toBeNull();
    }
    expect(checked).toBeGreaterThan(4000);
    // With a dot or a scheme it does find them (the check is not vacuous).
    for (const linked of ['school.example', 'a@b.nl', 'www.x', 'ftp://x']) expect(linked.match(LINKABLE)).not.toBeNull();
  });
});
