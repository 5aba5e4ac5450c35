/**
 * Which mails one feed mutation causes: the forwarding table, as a pure
 * function of the last processed state, the mutation and the routing. The
 * store, the cycle and the sender act on the decision; nothing here does I/O,
 * so every row of the table is tested with plain values.
 */
import { isKnownStatus, isOpenStatus, type Verzuimmelding } from '../domain/melding.js';
import type { MailKind } from '../domain/mail.js';
import type { RoutingConfig } from '../config/schema.js';
import { contentChanged, diffMelding, type FieldChange } from './melding-diff.js';

export { diffMelding, type FieldChange } from './melding-diff.js';


/** The last processed state of a melding and the instances that already had mail about it. */
export interface PreviousState {
  melding: Verzuimmelding;
  /** Instance ids for which mail about this melding was queued before. */
  knownBy: readonly string[];
}

export interface PlannedMail {
  instance: string;
  kind: MailKind;
  /** For a Gewijzigd: what changed. Empty for Nieuw and Ingetrokken, which show the melding as it is. */
  changes: FieldChange[];
}

export type Decision =
  | { outcome: 'stale' }
  | {
      outcome: 'processed';
      /** The row of the forwarding table that matched (2, 3 or 4; row 1 is 'stale'). */
      row: 2 | 3 | 4;
      mails: PlannedMail[];
      /** For the log; never personal data, only codes and instance ids. */
      warnings: string[];
    };

/** The instance configured for a verzuimsoort, or routing.unknown for a code nobody configured. */
export function instanceFor(verzuimsoort: string, routing: RoutingConfig): string {
  return Object.hasOwn(routing.verzuimsoorten, verzuimsoort) ? routing.verzuimsoorten[verzuimsoort]! : routing.unknown;
}

/** Codes reach warnings and logs; keep them to one short line even if ROD sends something odd. */
function codeForLog(code: string): string {
  const clean = code.replace(/[^A-Za-z0-9_.-]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}…` : clean;
}

function warningsFor(mutation: Verzuimmelding, routing: RoutingConfig): string[] {
  const warnings: string[] = [];
  if (!isKnownStatus(mutation.status)) {
    warnings.push(`unknown status ${codeForLog(mutation.status)} counted as open`);
  }
  if (!Object.hasOwn(routing.verzuimsoorten, mutation.verzuimsoort)) {
    warnings.push(`unknown verzuimsoort ${codeForLog(mutation.verzuimsoort)} routed to instance ${routing.unknown} (routing.unknown)`);
  }
  return warnings;
}

/**
 * The instances that know the melding and can still be addressed. An id that
 * is no longer configured (the administrator renamed an instance) cannot get
 * mail; the decision says so in a warning instead of failing the page.
 */
function reachableKnownBy(knownBy: readonly string[], routing: RoutingConfig, warnings: string[]): string[] {
  const reachable: string[] = [];
  for (const id of new Set(knownBy)) {
    if (Object.hasOwn(routing.instances, id)) reachable.push(id);
    else warnings.push(`instance ${codeForLog(id)} knew this melding but is no longer configured: no mail for it`);
  }
  return reachable;
}

/**
 * Applies the forwarding table; the first row that matches decides.
 *
 * 1. volgnummer not above the previous one: stale, ignored.
 * 2. withdrawn now, not before: Ingetrokken to every instance that knows it.
 * 3. open, and new, or content changed, or open again: Nieuw or Gewijzigd to
 *    the instance of the verzuimsoort, Gewijzigd to every other one that knows it.
 * 4. anything else: stored, no mail.
 */
export function decide(previous: PreviousState | undefined, mutation: Verzuimmelding, routing: RoutingConfig): Decision {
  if (previous && previous.melding.meldingsnummer !== mutation.meldingsnummer) {
    throw new Error(
      `decide() was given the previous state of melding ${previous.melding.meldingsnummer} for a mutation of melding ${mutation.meldingsnummer}`,
    );
  }

  // Row 1. ROD re-serves mutations after a failover and on resume; the
  // volgnummer, not the arrival order, says which state is the newest.
  if (previous && mutation.volgnummer <= previous.melding.volgnummer) return { outcome: 'stale' };

  const warnings = warningsFor(mutation, routing);
  const knownBy = previous ? reachableKnownBy(previous.knownBy, routing, warnings) : [];

  // Row 2. A melding withdrawn at first sight has no previous state and
  // nobody to tell; the table puts it in row 4 ("not open at first sight").
  if (previous && mutation.status === 'INGETROKKEN' && previous.melding.status !== 'INGETROKKEN') {
    return {
      outcome: 'processed',
      row: 2,
      mails: knownBy.map((instance) => ({ instance, kind: 'Ingetrokken', changes: [] })),
      warnings,
    };
  }

  // Row 3. An unknown status counts as open (isOpenStatus): one mail too many
  // beats a melding nobody sees.
  if (isOpenStatus(mutation.status)) {
    const news = !previous || contentChanged(previous.melding, mutation) || !isOpenStatus(previous.melding.status);
    if (news) {
      const changes = previous ? diffMelding(previous.melding, mutation) : [];
      const target = instanceFor(mutation.verzuimsoort, routing);
      const mails: PlannedMail[] = [
        knownBy.includes(target)
          ? { instance: target, kind: 'Gewijzigd', changes: [...changes] }
          : { instance: target, kind: 'Nieuw', changes: [] },
      ];
      // The verzuimsoort moved the melding away from these instances; they
      // hear that it changed, so nobody keeps working on it unaware.
      for (const instance of knownBy) {
        if (instance !== target) mails.push({ instance, kind: 'Gewijzigd', changes: [...changes] });
      }
      return { outcome: 'processed', row: 3, mails, warnings };
    }
  }

  // Row 4. Closed, withdrawn or handed over at first sight; content changed
  // while not open; a status the municipality set itself; nothing changed.
  return { outcome: 'processed', row: 4, mails: [], warnings };
}
