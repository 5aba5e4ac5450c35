/**
 * The mail a leerplichtambtenaar receives about one melding: subject, plain
 * text, HTML and the X-Verzuim-* headers their mail rules can sort on.
 *
 * Pure: the same input gives the same mail, byte for byte, so a redelivery
 * after a crash is the same message as the first attempt.
 *
 * What may appear where:
 * - subject and headers: routing facts and the school only, never the pupil
 *   (subjects end up in mail logs, notifications and lock screens);
 * - body, `full`: the whole melding;
 * - body, `minimal`: meldingsnummer, soort, status, periode and school; the
 *   reader looks the rest up in the municipality's own system.
 */
import { isKnownVerzuimsoort, statusLabel, verzuimsoortLabel, type Verzuimmelding } from '../domain/melding.js';
import type { MailKind } from '../domain/mail.js';
import type { FieldChange } from '../policy/notification-policy.js';
import { addressLines, formatDate, formatDateTime, formatHours, formatPeriode, fullName } from '../policy/display.js';
import { gemeenteName, multiLine, oneLine, renderHtml, renderText, type Block } from './render.js';

export interface ComposeInput {
  kind: MailKind;
  melding: Verzuimmelding;
  /** The policy's change list; shown for a Gewijzigd. */
  changes: FieldChange[];
  instance: { id: string; name: string; email: string };
  content: 'full' | 'minimal';
  municipality: { code: string; name: string };
}

export interface ComposedMail {
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

type Row = readonly [string, string];

/** Fields whose values a minimal mail may show in its change list: the same facts its body shows. */
function shownInMinimal(change: FieldChange): boolean {
  if (change.personal) return false;
  return change.field === 'status' || change.field === 'verzuimsoort' || change.field.startsWith('verzuimperiode.') || change.field.startsWith('instelling.');
}

const ABSENT = '(niet ingevuld)';

function changeRows(changes: readonly FieldChange[], content: ComposeInput['content']): Row[] {
  return changes.map((change) => {
    if (content === 'minimal' && !shownInMinimal(change)) return [oneLine(change.label), 'gewijzigd'] as const;
    const from = change.from === null ? ABSENT : oneLine(change.from);
    const to = change.to === null ? ABSENT : oneLine(change.to);
    return [oneLine(change.label), `${from} → ${to}`] as const;
  });
}

/** The verzuimsoort as people know it; a code the relay does not know yet stands for itself. */
function soort(code: string): string {
  return oneLine(isKnownVerzuimsoort(code) ? verzuimsoortLabel(code) : code);
}

function present<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null && value !== '';
}

/** Rows with a value; every value is cleaned of control characters, whatever ROD sent. */
function rows(entries: ReadonlyArray<readonly [string, string | null | undefined]>): Row[] {
  return entries
    .filter((entry): entry is readonly [string, string] => present(entry[1]))
    .map(([label, value]) => [label, multiLine(value)] as const)
    .filter(([, value]) => value !== '');
}

function meldingRows(m: Verzuimmelding, content: ComposeInput['content']): Row[] {
  if (content === 'minimal') {
    return rows([
      ['Meldingsnummer', m.meldingsnummer],
      ['Verzuimsoort', soort(m.verzuimsoort)],
      ['Status', oneLine(statusLabel(m.status))],
      ['Verzuimperiode', formatPeriode(m.verzuimperiode)],
    ]);
  }
  return rows([
    ['Meldingsnummer', m.meldingsnummer],
    ['Verzuimsoort', soort(m.verzuimsoort)],
    ['Status', oneLine(statusLabel(m.status))],
    ['Gemeld op', formatDateTime(m.melddatum)],
    ['Verzuimperiode', formatPeriode(m.verzuimperiode)],
    ['Aantal uren verzuim', m.aantalUrenVerzuim === undefined ? undefined : `${formatHours(m.aantalUrenVerzuim)} uur`],
    ['Vermoedelijke reden', m.vermoedelijkeReden === undefined ? undefined : oneLine(m.vermoedelijkeReden)],
    ['Toelichting', m.toelichting === undefined ? undefined : multiLine(m.toelichting)],
  ]);
}

function leerlingRows(m: Verzuimmelding): Row[] {
  const l = m.leerling;
  return rows([
    ['Naam', oneLine(fullName(l))],
    ['BSN', l.bsn],
    ['Onderwijsnummer', l.onderwijsnummer],
    ['Geboortedatum', formatDate(l.geboortedatum)],
    ['Adres', l.adres ? addressLines(l.adres).map(oneLine).join('\n') : undefined],
  ]);
}

function schoolRows(m: Verzuimmelding): Row[] {
  const i = m.instelling;
  return rows([
    ['Naam', oneLine(i.naam)],
    ['BRIN', i.instellingscode],
    ['Vestiging', i.vestigingsnummer],
    ['Onderwijslocatiecode', i.onderwijslocatiecode],
    ['Sector', i.sector],
  ]);
}

function melderRows(m: Verzuimmelding): Row[] {
  const melder = m.melder;
  if (!melder) return [];
  return rows([
    ['Naam', oneLine(melder.naam)],
    ['Functie', melder.functie === undefined ? undefined : oneLine(melder.functie)],
    ['Telefoon', melder.telefoonnummer === undefined ? undefined : oneLine(melder.telefoonnummer)],
    ['E-mail', melder.emailadres === undefined ? undefined : oneLine(melder.emailadres)],
  ]);
}

function intro(input: ComposeInput): string[] {
  const { kind, melding, changes } = input;
  switch (kind) {
    case 'Nieuw':
      return [
        'Een school heeft verzuim gemeld bij DUO. Deze verzuimmelding hoort bij uw instantie en u ontvangt haar nu voor het eerst.',
      ];
    case 'Gewijzigd': {
      const paragraphs = [
        'Een verzuimmelding die u eerder van ons ontving, is gewijzigd. Hieronder staat eerst wat er veranderd is en daarna de melding zoals die nu is.',
      ];
      if (changes.some((c) => c.field === 'verzuimsoort')) {
        paragraphs.push(
          'Let op: de verzuimsoort is gewijzigd. De melding gaat nu naar de instantie die over deze verzuimsoort gaat; dat kan een andere instantie zijn dan de uwe.',
        );
      }
      return paragraphs;
    }
    case 'Ingetrokken':
      return [
        `De school heeft deze verzuimmelding ingetrokken (verwerkt door DUO op ${formatDateTime(melding.gewijzigdOp)}). De melding hoeft niet meer behandeld te worden.`,
        'Bent u al in gesprek met de leerling of de ouders, stem dan met de school af hoe u verdergaat.',
      ];
  }
}

function subjectOf(input: ComposeInput): string {
  const m = input.melding;
  return oneLine(
    `[Verzuim] ${input.kind}: ${soort(m.verzuimsoort)} – ${m.instelling.naam} (${m.instelling.instellingscode}) – melding ${m.meldingsnummer}`,
  );
}

export function composeMail(input: ComposeInput): ComposedMail {
  const { melding: m, content } = input;
  const gemeente = gemeenteName(input.municipality.name);
  const blocks: Block[] = [{ type: 'paragraph', text: `Aan: ${oneLine(input.instance.name)}` }];
  for (const text of intro(input)) blocks.push({ type: 'paragraph', text });

  if (input.kind === 'Gewijzigd' && input.changes.length > 0) {
    blocks.push({ type: 'table', title: 'Wat is er gewijzigd', rows: changeRows(input.changes, content) });
  }

  blocks.push({ type: 'table', title: 'Melding', rows: meldingRows(m, content) });
  if (content === 'full') {
    blocks.push({ type: 'table', title: 'Leerling', rows: leerlingRows(m) });
    blocks.push({ type: 'table', title: 'School', rows: schoolRows(m) });
    const melder = melderRows(m);
    if (melder.length > 0) blocks.push({ type: 'table', title: 'Melder', rows: melder });
    blocks.push({
      type: 'paragraph',
      text: 'Deze e-mail bevat persoonsgegevens van een leerling. Gebruik ze alleen voor de aanpak van dit verzuim, stuur de e-mail niet verder dan nodig en bewaar hem niet langer dan nodig.',
    });
  } else {
    blocks.push({ type: 'table', title: 'School', rows: schoolRows(m) });
    blocks.push({
      type: 'paragraph',
      text: `Deze e-mail bevat bewust geen persoonsgegevens. Zoek melding ${m.meldingsnummer} op in het eigen systeem van de ${gemeente} voor de gegevens van de leerling en van de melder.`,
    });
  }
  blocks.push({
    type: 'paragraph',
    text: `Dit bericht is automatisch verstuurd door verzuim-relay voor de ${gemeente} (gemeentecode ${oneLine(input.municipality.code)}), op basis van het Register Onderwijsdeelnemers (ROD) van DUO.`,
  });

  const subject = subjectOf(input);
  return {
    subject,
    text: renderText(blocks),
    html: renderHtml(blocks, subject),
    headers: {
      'X-Verzuim-Meldingsnummer': oneLine(m.meldingsnummer),
      'X-Verzuim-Volgnummer': String(m.volgnummer),
      'X-Verzuim-Soort': oneLine(m.verzuimsoort),
      'X-Verzuim-Instantie': oneLine(input.instance.id),
      'X-Verzuim-Bericht': input.kind,
    },
  };
}
