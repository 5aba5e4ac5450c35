/**
 * Message-IDs derived from what a mail is about instead of generated at random.
 *
 * Delivery is at least once: when the relay crashes after the SMTP relay has
 * accepted a mail but before that was recorded, the mail is sent again on the
 * next cycle. Because the Message-ID is a function of (meldingsnummer,
 * volgnummer, instance, kind), the second copy carries the same Message-ID as
 * the first, so the receiving mail system (or the person reading it) can see
 * it is the same message and drop or thread it. A random id per attempt would
 * make every redelivery look like a new message.
 */
import { DOMAIN_NAME, INSTANCE_ID, MAIL_KINDS, type MailKind } from '../domain/mail.js';

export interface MessageIdParts {
  /**
   * Set when the relay serves several gemeenten: a pupil who moves appears
   * under one meldingsnummer in two gemeenten's feeds, whose volgnummers
   * (counted per gemeente) can coincide. A single-gemeente relay leaves it
   * out, so its Message-IDs stay what they were.
   */
  gemeentecode?: string;
  meldingsnummer: string;
  volgnummer: number;
  instance: string;
  kind: MailKind;
}

/** '<verzuim.2026004711.57.leerplicht.nieuw@utrecht.example>' */
export function messageId(t: MessageIdParts, domain: string): string {
  // Each part is checked so that the id is always a valid msg-id (RFC 5322
  // dot-atom) and two different tuples can never produce the same id.
  if (!/^[0-9]{1,12}$/.test(t.meldingsnummer)) throw new Error(`cannot build a Message-ID: meldingsnummer "${t.meldingsnummer}" is not 1 to 12 digits`);
  if (!Number.isSafeInteger(t.volgnummer) || t.volgnummer < 1) throw new Error(`cannot build a Message-ID: volgnummer ${t.volgnummer} is not a positive integer`);
  if (!INSTANCE_ID.test(t.instance)) throw new Error(`cannot build a Message-ID: instance id "${t.instance}" is not a valid instance id`);
  if (!MAIL_KINDS.includes(t.kind)) throw new Error(`cannot build a Message-ID: unknown kind "${t.kind}"`);
  if (!DOMAIN_NAME.test(domain)) throw new Error(`cannot build a Message-ID: "${domain}" is not a domain name`);
  if (t.gemeentecode !== undefined) {
    if (!/^[0-9]{4}$/.test(t.gemeentecode)) throw new Error(`cannot build a Message-ID: gemeentecode "${t.gemeentecode}" is not 4 digits`);
    // A prefix of letters keeps it apart from a meldingsnummer of four digits in a single-gemeente id.
    return `<verzuim.g${t.gemeentecode}.${t.meldingsnummer}.${t.volgnummer}.${t.instance}.${t.kind.toLowerCase()}@${domain}>`;
  }
  return `<verzuim.${t.meldingsnummer}.${t.volgnummer}.${t.instance}.${t.kind.toLowerCase()}@${domain}>`;
}
