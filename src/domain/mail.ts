/**
 * The vocabulary of the mail the relay sends: the three kinds of mail about a
 * melding (as on DUO's forwarding form), the ids of the four instances that
 * receive them, and the mail domain that names every Message-ID. Shared by the
 * configuration (which validates instance ids and smtp.from), the policy
 * (which decides the kind) and mail (which builds the Message-ID).
 */
import { domainToASCII } from 'node:url';

export const MAIL_KINDS = ['Nieuw', 'Gewijzigd', 'Ingetrokken'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

/** An instance id as the configuration names it: it appears in Message-IDs and log lines, so it is kept to a dot-atom-safe form. */
export const INSTANCE_ID = /^[a-z][a-z0-9_-]{0,31}$/;

/** A domain name in ASCII (punycode) form, as mail headers need it. */
export const DOMAIN_NAME = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * The domain of the sender address (smtp.from), for the right-hand side of
 * Message-IDs: 'Verzuimrelay <verzuim-relay@utrecht.example>' or
 * 'verzuim-relay@utrecht.example' → 'utrecht.example'. Lower case, and an
 * internationalised domain in its ASCII (punycode) form, as headers need.
 */
export function domainOf(address: string): string {
  const angle = /<([^<>]*)>\s*$/.exec(address);
  const mailbox = (angle ? angle[1]! : address).trim();
  const at = mailbox.lastIndexOf('@');
  const domain = at === -1 ? '' : domainToASCII(mailbox.slice(at + 1).trim().toLowerCase());
  if (!domain || !DOMAIN_NAME.test(domain)) {
    throw new Error(
      `cannot take a mail domain from the sender address "${address.replace(/[\r\n]+/g, ' ')}" (smtp.from): expected an address such as "Verzuimrelay <verzuim-relay@gemeente.example>"`,
    );
  }
  return domain;
}
