/**
 * Mail to the administrator's alert address: a quarantined record, a dead
 * letter, a certificate about to expire. The reader is the IT administrator,
 * not a leerplichtambtenaar, so it never carries pupil data; callers pass
 * facts such as meldingsnummer, field paths and error texts, never values
 * from a melding.
 */
import { gemeenteOf, type Config, type Gemeente } from '../config/schema.js';
import { domainOf } from '../domain/mail.js';
import type { Store } from '../store/store.js';
import { gemeenteName, oneLine, renderHtml, renderText, type Block } from './render.js';

export interface AlertInput {
  topic: 'quarantine' | 'dead-letter' | 'certificate' | 'audit' | 'delivery' | 'other';
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

export function composeAlert(input: AlertInput, municipality: { code: string; name: string } | readonly { code: string; name: string }[]): ComposedAlert {
  const about = Array.isArray(municipality) ? municipality : [municipality as { code: string; name: string }];
  const title = oneLine(input.title);
  const blocks: Block[] = [{ type: 'paragraph', text: title }];
  if (input.facts.length > 0) {
    blocks.push({ type: 'table', rows: input.facts.map(([label, value]) => [oneLine(label), oneLine(value)] as const) });
  }
  if (input.advice.length > 0) {
    blocks.push({ type: 'list', title: 'Wat te doen', items: input.advice.map(oneLine) });
  }
  // An alert about the whole relay of a regional bureau names every gemeente it serves.
  const forWhom =
    about.length === 1
      ? `de ${gemeenteName(about[0]!.name)} (gemeentecode ${oneLine(about[0]!.code)})`
      : `de gemeenten ${about.map((g) => oneLine(g.name)).join(', ')} (gemeentecodes ${about.map((g) => oneLine(g.code)).join(', ')})`;
  blocks.push({
    type: 'paragraph',
    text: `Automatisch bericht van verzuim-relay voor ${forWhom}. Dit bericht bevat geen gegevens van leerlingen; de details staan in de logregels en de auditlog van verzuim-relay.`,
  });
  const subject = oneLine(`[verzuim-relay] ${title} (${about.map((g) => oneLine(g.name)).join(', ')})`);
  return {
    subject,
    text: renderText(blocks),
    html: renderHtml(blocks, subject),
    headers: { 'X-Verzuim-Alert': input.topic },
  };
}

/** An alert and the key that makes it once-only: queueing the same key twice sends one mail. */
export interface Alert {
  key: string;
  input: AlertInput;
}

/** A record that failed the contract and waits in quarantine. */
export function quarantineAlert(record: { id: number; meldingsnummer: string | null; volgnummer: number | null }, reason: string, at: Date): Alert {
  return {
    key: `quarantine.${record.id}`,
    input: {
      topic: 'quarantine',
      title: 'Melding in quarantaine',
      facts: [
        ['Quarantainenummer', String(record.id)],
        ['Meldingsnummer', record.meldingsnummer ?? 'onbekend'],
        ['Volgnummer', record.volgnummer === null ? 'onbekend' : String(record.volgnummer)],
        ['Reden', reason],
        ['Ontvangen', at.toISOString()],
      ],
      advice: [
        'Het record kwam niet door de controle en is niet doorgestuurd. De rest van de feed loopt gewoon door.',
        'Bekijk het met: verzuim-relay quarantine list',
        'Na een update die het record begrijpt: verzuim-relay quarantine retry',
      ],
    },
  };
}

/** A mail the relay gave up on. The attempt count is in the key, so a requeued mail that dies again alerts again. */
export function deadLetterAlert(
  mail: { id: number; meldingsnummer: string | null; volgnummer: number | null; instance: string | null; kind: string },
  attempts: number,
  reason: string,
): Alert {
  return {
    key: `dead.${mail.id}.${attempts}`,
    input: {
      topic: 'dead-letter',
      title: 'Mail niet afgeleverd',
      facts: [
        ['Outbox-nummer', String(mail.id)],
        ['Meldingsnummer', mail.meldingsnummer ?? '-'],
        ['Volgnummer', mail.volgnummer === null ? '-' : String(mail.volgnummer)],
        ['Instantie', mail.instance ?? '-'],
        ['Soort bericht', mail.kind],
        ['Pogingen', String(attempts)],
        ['Fout', reason],
      ],
      advice: [
        'De mail is opgegeven en staat in de lijst: verzuim-relay outbox list --dead',
        `Los de oorzaak op en zet hem opnieuw klaar: verzuim-relay outbox retry ${mail.id}`,
      ],
    },
  };
}

/**
 * Mail held back because TLS with the SMTP relay fails, for longer than
 * delivery.maxAgeHours. Such mail is never given up (see delivery/deliver.ts),
 * so this alert stands in for the dead-letter alert; once a day while it
 * lasts, not once per mail, because one fault holds back the whole queue.
 */
export function tlsFailingAlert(day: string, reason: string, oldestSince: string, maxAgeHours: number): Alert {
  return {
    key: `smtp-tls.${day}`,
    input: {
      topic: 'delivery',
      title: 'Mail wacht: geen beveiligde verbinding met de SMTP-relay',
      facts: [
        ['Fout', reason],
        ['Wacht sinds', oldestSince],
        ['Langer dan', `${maxAgeHours} uur (delivery.maxAgeHours)`],
      ],
      advice: [
        'De mails blijven bewaard en worden steeds opnieuw geprobeerd; ze worden niet opgegeven, ook niet na delivery.maxAgeHours. Zodra TLS weer lukt, gaan ze vanzelf weg.',
        'Controleer smtp.host, smtp.port, smtp.secure en smtp.ca. Biedt de relay geen STARTTLS (meer) aan, ga dan na of iets tussen deze server en de relay de verbinding onderschept.',
        'Bekijk de wachtrij met: verzuim-relay outbox list --state deferred',
      ],
    },
  };
}

/** The client certificate crossed an expiry threshold; once per threshold per certificate. */
export function certificateExpiringAlert(
  threshold: number,
  certificate: { subject?: string; sha256?: string; hierarchy: string; notAfter?: string; daysLeft?: number },
  /** The renewal step that is next, in Dutch (app/certificate-rollover.ts renewalStep); replaces the generic advice. */
  nextStep?: { title: string; advice: string[] },
): Alert {
  return {
    key: `cert.${certificate.sha256 ?? 'leaf'}.${threshold}`,
    input: {
      topic: 'certificate',
      title: `Certificaat verloopt over ${certificate.daysLeft} dag(en)`,
      facts: [
        ['Certificaat', certificate.subject ?? '-'],
        ['Hiërarchie', certificate.hierarchy],
        ['Geldig tot', certificate.notAfter ?? '-'],
        ['Dagen over', String(certificate.daysLeft)],
        ['SHA-256', certificate.sha256 ?? '-'],
      ],
      advice: nextStep
        ? [`Volgende stap: ${nextStep.title}`, ...nextStep.advice]
        : [
            'Vraag tijdig een nieuw PKIoverheid-certificaat aan (G4 Private G-TLS); de TSP en de registratie bij DUO kosten weken.',
            'Stuur het nieuwe certificaat naar DUO vóór het oude verloopt: verzuim-relay cert bundle --out MAP',
            'Controleer het nieuwe certificaat met: verzuim-relay cert check',
          ],
    },
  };
}

/**
 * The relay switched to the certificate in tls.next, on its own; once per certificate. The
 * administrator's remaining step is the tidy-up: tls.next becomes tls.
 */
export function certificateSwitchedAlert(
  switched: { reason: string; at: string; from?: { subject?: string; sha256?: string; notAfter?: string }; to: { subject?: string; sha256: string; hierarchy: string; notAfter?: string } },
): Alert {
  const why: Record<string, string> = {
    'next-accepted': 'DUO heeft het nieuwe certificaat geregistreerd: ROD accepteerde het bij de dagelijkse proefvraag.',
    'current-refused': 'ROD weigerde het huidige certificaat als niet geregistreerd en accepteerde het nieuwe meteen daarna.',
    'current-expired': 'Het huidige certificaat is verlopen; de relay gebruikt het nieuwe in plaats van te stoppen. Is het nieuwe nog niet bij DUO geregistreerd, dan weigert ROD het tot dat gebeurd is.',
  };
  return {
    key: `cert.switched.${switched.to.sha256}`,
    input: {
      topic: 'certificate',
      title: 'Overgestapt op het nieuwe certificaat (tls.next)',
      facts: [
        ['Reden', why[switched.reason] ?? switched.reason],
        ['Nu in gebruik', switched.to.subject ?? '-'],
        ['Hiërarchie', switched.to.hierarchy],
        ['Geldig tot', switched.to.notAfter ?? '-'],
        ['SHA-256 nieuw', switched.to.sha256],
        ['SHA-256 oud', switched.from?.sha256 ?? '-'],
        ['Overgestapt op', switched.at],
      ],
      advice: [
        'Er is niets nodig om het ophalen te laten doorgaan: de relay gebruikt het nieuwe certificaat voortaan, ook na een herstart.',
        'Ruim later op wanneer het uitkomt: zet de bestanden van tls.next onder tls en haal tls.next weg. De relay herkent het certificaat aan zijn vingerafdruk.',
        'Controleer met: verzuim-relay status en verzuim-relay cert check',
      ],
    },
  };
}

/** The audit log's hash chain was found broken or cut short at start; the relay goes on forwarding. */
export function auditBrokenAlert(result: { brokenAt: number | null; truncated?: boolean; reason?: string }, at: Date): Alert {
  return {
    key: `audit.broken.${at.toISOString()}`,
    input: {
      topic: 'audit',
      title: result.truncated ? 'Auditlog ingekort' : 'Auditlog gewijzigd',
      facts: [
        ['Eerste afwijkende rij', result.brokenAt === null ? '-' : String(result.brokenAt)],
        ['Bevinding', result.reason ?? '-'],
        ['Gevonden', at.toISOString()],
      ],
      advice: [
        'Iemand met toegang tot het databasebestand heeft de auditlog gewijzigd of ingekort, of het bestand is teruggezet uit een back-up. Meldingen worden gewoon doorgestuurd.',
        'Controleer de hele keten met: verzuim-relay audit verify',
        'Ga na wie bij het databasebestand kon en vergelijk met een back-up; behandel dit als mogelijk beveiligingsincident.',
      ],
    },
  };
}

/** What queueing an alert needs: the outbox and audit log, the alert address and the names for the mail. */
export interface AlertTarget {
  store: Pick<Store, 'outbox' | 'audit'>;
  config: Pick<Config, 'alerts' | 'gemeenten' | 'smtp'>;
  now: () => Date;
}

/**
 * Where an alert goes: a gemeente's alert goes to its own alerts.email (or
 * the top-level one), an alert about the whole relay to the top-level one.
 */
export function alertAddress(config: Pick<Config, 'alerts' | 'gemeenten'>, gemeentecode: string | null | undefined): string | undefined {
  if (gemeentecode === null || gemeentecode === undefined) return config.alerts.email;
  return gemeenteOf(config, gemeentecode)?.alerts.email ?? config.alerts.email;
}

/**
 * Queues a mail to the alert address, if one is configured; durable like
 * every other mail, and inside the caller's transaction when there is one,
 * so an alert is queued exactly when what it reports was recorded.
 * `gemeente`: the gemeente it is about (its address, its name), else the whole relay.
 */
export function queueAlert(target: AlertTarget, alert: Alert, gemeente?: Pick<Gemeente, 'municipality'>): void {
  const code = gemeente?.municipality.code;
  const address = alertAddress(target.config, code);
  if (!address) return;
  const composed = composeAlert(alert.input, gemeente ? gemeente.municipality : target.config.gemeenten.map((g) => g.municipality));
  const id = target.store.outbox.enqueue({
    messageId: `<verzuim-relay.alert.${alert.key}@${domainOf(target.config.smtp.from)}>`,
    kind: 'alert',
    recipient: address,
    alert: composed,
    createdAt: target.now(),
    gemeentecode: code ?? null,
  });
  if (id !== null) target.store.audit.append({ event: 'alert.queued', outcome: 'ok', outboxId: id, gemeentecode: code ?? null, detail: { topic: alert.input.topic, key: alert.key } });
}

/** ROD refused or failed one gemeente's feed; once per gemeente per day and kind, the others went on. */
export function gemeenteFeedAlert(gemeentecode: string, outcome: 'refused' | 'failed', answer: string, at: Date): Alert {
  return {
    key: `gemeente.${outcome}.${gemeentecode}.${at.toISOString().slice(0, 10)}`,
    input: {
      topic: 'other',
      title: outcome === 'refused' ? `ROD weigert de feed van gemeente ${gemeentecode}` : `De feed van gemeente ${gemeentecode} kon niet worden gelezen`,
      facts: [
        ['Gemeentecode', gemeentecode],
        ['Antwoord van ROD', answer],
        ['Tijdstip', at.toISOString()],
      ],
      advice:
        outcome === 'refused'
          ? [
              'DUO heeft het certificaat (of het OIN in From) niet gemachtigd voor deze gemeente. De andere gemeenten worden gewoon verwerkt.',
              'Stuur de gegevens voor DUO opnieuw: verzuim-relay cert bundle --out MAP, en controleer municipality.oin van deze gemeente.',
            ]
          : ['De andere gemeenten worden gewoon verwerkt; de volgende cyclus probeert deze gemeente opnieuw.', 'Bekijk de stand met: verzuim-relay status --gemeente ' + gemeentecode],
    },
  };
}
