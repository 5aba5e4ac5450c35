/**
 * Mail to the administrator's alert address: a quarantined record, a dead
 * letter, a certificate about to expire. The reader is the IT administrator,
 * not a leerplichtambtenaar, so it never carries pupil data; callers pass
 * facts such as meldingsnummer, field paths and error texts, never values
 * from a melding.
 */
import { gemeenteName, oneLine, renderHtml, renderText, type Block } from './render.js';

export interface AlertInput {
  topic: 'quarantine' | 'dead-letter' | 'certificate' | 'other';
  title: string;
  facts: [string, string][];
  advice: string[];
}

export interface ComposedAlert {
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

export function composeAlert(input: AlertInput, municipality: { code: string; name: string }): ComposedAlert {
  const title = oneLine(input.title);
  const blocks: Block[] = [{ type: 'paragraph', text: title }];
  if (input.facts.length > 0) {
    blocks.push({ type: 'table', rows: input.facts.map(([label, value]) => [oneLine(label), oneLine(value)] as const) });
  }
  if (input.advice.length > 0) {
    blocks.push({ type: 'list', title: 'Wat te doen', items: input.advice.map(oneLine) });
  }
  blocks.push({
    type: 'paragraph',
    text: `Automatisch bericht van verzuim-relay voor de ${gemeenteName(municipality.name)} (gemeentecode ${oneLine(municipality.code)}). Dit bericht bevat geen gegevens van leerlingen; de details staan in de logregels en de auditlog van verzuim-relay.`,
  });
  const subject = oneLine(`[verzuim-relay] ${title} (${oneLine(municipality.name)})`);
  return {
    subject,
    text: renderText(blocks),
    html: renderHtml(blocks, subject),
    headers: { 'X-Verzuim-Alert': input.topic },
  };
}
