/**
 * The states of a mail in the outbox, as in a mail queue (Postfix's incoming,
 * active, deferred), and the transitions between them. This list is the one
 * source for the type, the table's CHECK constraint, the counts in `status`
 * and the states `outbox list --state` accepts.
 *
 *   pending ──claim──▶ sending ──complete──▶ sent
 *      ▲                 │  │
 *      │               defer bury──▶ dead ──requeue──▶ pending
 *      │                 ▼
 *      └──(due)──── deferred ──requeue──▶ pending
 *
 * `sending` means claimed for SMTP (in a batch; `release` gives back the
 * ones a stop kept from being offered): at start a mail still `sending` was
 * interrupted by a stop or crash and is resumed (back to pending), so the
 * worst case is a resend with the same Message-ID, never a loss. A mail that
 * cannot even be composed is buried from pending or deferred.
 */
export const MAIL_STATES = ['pending', 'sending', 'sent', 'deferred', 'dead'] as const;
export type MailState = (typeof MAIL_STATES)[number];

export interface Transition {
  readonly from: readonly MailState[];
  readonly to: MailState;
}

export const TRANSITIONS = {
  claim: { from: ['pending', 'deferred'], to: 'sending' },
  complete: { from: ['sending'], to: 'sent' },
  defer: { from: ['sending'], to: 'deferred' },
  bury: { from: ['pending', 'deferred', 'sending'], to: 'dead' },
  requeue: { from: ['dead', 'deferred'], to: 'pending' },
  resume: { from: ['sending'], to: 'pending' },
  // A claimed mail a stop kept from being offered to SMTP: back, its attempt not counted.
  release: { from: ['sending'], to: 'pending' },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

export function isMailState(value: string): value is MailState {
  return (MAIL_STATES as readonly string[]).includes(value);
}

/** `'a', 'b'` for a SQL IN list or CHECK constraint; the states are fixed words, never user input. */
export function sqlList(states: readonly MailState[]): string {
  return states.map((s) => `'${s}'`).join(', ');
}
