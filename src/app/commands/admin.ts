/**
 * The administrator's commands that read or mend the store: status, outbox,
 * quarantine, audit, healthcheck. None prints personal data: ids, states,
 * counts and reasons only.
 */
import { existsSync } from 'node:fs';
import { gemeenteOf, type Config, type Gemeente } from '../../config/schema.js';
import { certificateInUse, inspectCertificates } from '../certificate-rollover.js';
import { ingestItem, emptyIngestCounts, retryFailed } from '../../feed/ingest.js';
import { silentLogger } from '../../observability/log.js';
import { cleanOutsideText } from '../../observability/outside-text.js';
import { storedItem, validateItem } from '../../feed/contract.js';
import { Store } from '../../store/store.js';
import { MAIL_STATES, type MailState } from '../../store/mail-states.js';
import { table, type Out } from './output.js';
import { ExitCode } from '../exit-codes.js';
import { liveness, readiness, type HealthReport } from '../health.js';

/**
 * The commands that only look open the file read-only: they must not migrate
 * it under a running daemon of another version, nor change what they report on.
 */
function openStore(config: Config, access: 'read' | 'write'): Store {
  if (!existsSync(config.storage.path)) {
    throw new Error(`no database at storage.path (${config.storage.path}): the relay has not run yet with this configuration`);
  }
  return Store.open(config.storage.path, config.gemeenten[0]!.municipality.code, undefined, { readonly: access === 'read' });
}

/**
 * The gemeenten a command reports on: all, or the one `--gemeente CODE`
 * names, which must be configured (a typo must not print an empty report
 * that looks like "nothing happened").
 */
export function selectGemeenten(config: Config, code: string | undefined): Gemeente[] {
  if (code === undefined) return config.gemeenten;
  const gemeente = gemeenteOf(config, code);
  if (!gemeente) {
    throw new Error(`--gemeente ${code}: not a configured gemeente; one of ${config.gemeenten.map((g) => `${g.municipality.code} (${g.municipality.name})`).join(', ')}`);
  }
  return [gemeente];
}

/**
 * Stored text as it may be printed: an SMTP server's reply, an error that quotes ROD, a row
 * written by an older version. A terminal must never get its escape codes or bidi overrides,
 * nor a BSN that slipped through, so it is cleaned again on the way out.
 */
function shown(text: string | null | undefined, max = 500): string | null {
  return text === null || text === undefined ? null : cleanOutsideText(text, { max });
}

function shownCycle<T extends { error?: string | null }>(cycle: T | undefined): T | null {
  return cycle ? { ...cycle, error: shown(cycle.error) } : null;
}

export function statusCommand(config: Config, opts: { json: boolean; out: Out; gemeente?: string }): number {
  const selected = selectGemeenten(config, opts.gemeente);
  const only = opts.gemeente ?? (config.gemeenten.length === 1 ? config.gemeenten[0]!.municipality.code : undefined);
  const store = openStore(config, 'read');
  try {
    const certificates = inspectCertificates(config, new Date());
    const rollover = store.certificateRollover.get();
    const inUse = certificateInUse(certificates, rollover.inUseSha256);
    const report = inUse.report;
    const next = certificates.next;
    // A row per gemeente: its own cursor, how its feed was last read, its meldingen, mail and quarantine.
    const gemeenten = selected.map((g) => {
      const code = g.municipality.code;
      const lastRead = store.gemeenteReads.last(code);
      return {
        gemeentecode: code,
        name: g.municipality.name,
        lastRead: lastRead ? { cycleId: lastRead.cycle_id, outcome: lastRead.outcome, at: lastRead.finished_at, fetched: lastRead.fetched, error: shown(lastRead.error) } : null,
        lastSuccessfulRead: store.gemeenteReads.lastSuccessful(code)?.finished_at ?? null,
        cursor: store.cursorOf(code).get(),
        meldingenPerStatus: store.meldingen.countByStatus(code),
        mail: store.outbox.countByState(code),
        quarantineOpen: store.quarantine.countOpen(code),
      };
    });
    const one = only !== undefined ? gemeenten.find((g) => g.gemeentecode === only) : undefined;
    const status = {
      // With one gemeente (configured or chosen) the top-level figures are its own, as before several gemeenten.
      gemeentecode: one?.gemeentecode ?? null,
      lastCycle: shownCycle(store.cycles.last()),
      lastSuccessfulCycle: store.cycles.lastSuccessful()?.finished_at ?? null,
      cursor: one?.cursor ?? null,
      meldingenPerStatus: one?.meldingenPerStatus ?? store.meldingen.countByStatus(),
      mail: one?.mail ?? store.outbox.countByState(),
      quarantineOpen: one?.quarantineOpen ?? store.quarantine.countOpen(),
      gemeenten,
      certificate: {
        usable: report.usable,
        hierarchy: report.hierarchy,
        oin: report.oin ?? null,
        daysLeft: report.daysLeft ?? null,
        notAfter: report.notAfter ?? null,
        inUse: inUse.key,
        sha256: report.leaf?.sha256 ?? null,
        switchedAt: inUse.key === 'tls.next' ? (rollover.switchedAt ?? null) : null,
        switchReason: inUse.key === 'tls.next' ? (rollover.switchReason ?? null) : null,
        next: next
          ? {
              usable: next.report.usable,
              hierarchy: next.report.hierarchy,
              sha256: next.report.leaf?.sha256 ?? null,
              notAfter: next.report.notAfter ?? null,
              lastProbe: rollover.probedSha256 !== undefined && rollover.probedSha256 === next.report.leaf?.sha256 ? { at: rollover.probedAt ?? null, result: rollover.probeOutcome ?? null } : null,
            }
          : null,
      },
    };
    if (opts.json) {
      opts.out(JSON.stringify(status, null, 2));
      return ExitCode.OK;
    }
    const last = status.lastCycle;
    const lines = [
      one ? `gemeente ${one.gemeentecode} (${one.name})` : `gemeenten ${gemeenten.map((g) => g.gemeentecode).join(', ')}`,
      `last cycle:        ${last ? `#${last.id} ${last.outcome} at ${last.finished_at} (fetched ${last.fetched}, queued ${last.queued}, sent ${last.sent}, deferred ${last.deferred}, dead ${last.dead})${last.error ? `\n                   error: ${last.error}` : ''}` : 'none yet'}`,
      `last successful:   ${status.lastSuccessfulCycle ?? 'never'}`,
    ];
    if (one) {
      lines.push(
        `cursor:            volgnummer ${one.cursor.volgnummer}${one.cursor.backlogDone ? '' : ' (first run not finished)'}`,
        `meldingen:         ${Object.entries(one.meldingenPerStatus).map(([s, n]) => `${s} ${n}`).join(', ') || 'none'}`,
        `mail:              ${MAIL_STATES.map((state) => `${state} ${one.mail[state]}`).join(', ')}`,
        `quarantine:        ${one.quarantineOpen} open`,
      );
      if (config.gemeenten.length > 1 && one.lastRead) lines.push(`feed last read:    ${one.lastRead.outcome} at ${one.lastRead.at}${one.lastRead.error ? ` (${one.lastRead.error})` : ''}`);
    } else {
      lines.push(
        '',
        table(
          ['gemeente', 'name', 'feed last read', 'outcome', 'cursor', 'meldingen', 'pending', 'deferred', 'dead', 'quarantine'],
          gemeenten.map((g) => [
            g.gemeentecode,
            g.name,
            g.lastRead?.at ?? 'never',
            g.lastRead?.outcome ?? '-',
            g.cursor.volgnummer,
            Object.values(g.meldingenPerStatus).reduce((a, b) => a + b, 0),
            g.mail.pending,
            g.mail.deferred,
            g.mail.dead,
            g.quarantineOpen,
          ]),
        ),
        '',
      );
      for (const g of gemeenten) if (g.lastRead?.error) lines.push(`${g.gemeentecode}: ${g.lastRead.error}`);
    }
    lines.push(
      `certificate:       ${inUse.key}${status.certificate.switchedAt ? ` (switched ${status.certificate.switchedAt}, ${status.certificate.switchReason})` : ''}: ${report.usable ? 'usable' : 'NOT USABLE (verzuim-relay cert check)'}, ${report.hierarchy}, ${report.daysLeft ?? '?'} days left (until ${report.notAfter ?? '?'})`,
      ...(next && inUse.key === 'tls'
        ? [
            `next certificate:  tls.next: ${next.report.usable ? 'usable' : 'NOT USABLE (verzuim-relay cert check)'}, ${next.report.hierarchy}, ${status.certificate.next?.lastProbe ? `ROD ${status.certificate.next.lastProbe.result === 'accepted' ? 'accepted it' : status.certificate.next.lastProbe.result === 'unregistered' ? 'does not accept it yet (DUO has not registered it)' : 'could not be asked'} at ${status.certificate.next.lastProbe.at}` : 'not asked yet'}`,
          ]
        : []),
    );
    opts.out(lines.join('\n'));
    return ExitCode.OK;
  } finally {
    store.close();
  }
}

export function outboxListCommand(config: Config, opts: { state?: MailState; melding?: string; gemeente?: string; json: boolean; out: Out }): number {
  if (opts.gemeente !== undefined) selectGemeenten(config, opts.gemeente);
  const store = openStore(config, 'read');
  try {
    const rows = store.outbox.list({ state: opts.state, meldingsnummer: opts.melding, gemeentecode: opts.gemeente });
    const view = rows.map((r) => ({
      id: r.id,
      gemeentecode: r.gemeentecode,
      state: r.state,
      kind: r.kind,
      meldingsnummer: r.meldingsnummer,
      volgnummer: r.volgnummer,
      instance: r.instance,
      recipient: r.recipient,
      attempts: r.attempts,
      created: r.created_at,
      nextAttempt: r.state === 'pending' || r.state === 'deferred' ? r.next_attempt_at : null,
      sent: r.sent_at,
      messageId: r.message_id,
      lastError: shown(r.last_error),
    }));
    if (opts.json) {
      for (const v of view) opts.out(JSON.stringify(v));
      return ExitCode.OK;
    }
    if (view.length === 0) {
      opts.out(opts.state ? `no ${opts.state} mail` : 'the outbox is empty');
      return ExitCode.OK;
    }
    const several = config.gemeenten.length > 1;
    opts.out(
      table(
        ['id', 'state', 'kind', ...(several ? ['gemeente'] : []), 'melding', 'volgnr', 'instance', 'tries', 'next/sent', 'last error'],
        view.map((v) => [v.id, v.state, v.kind, ...(several ? [v.gemeentecode] : []), v.meldingsnummer, v.volgnummer, v.instance, v.attempts, v.sent ?? v.nextAttempt, v.lastError?.slice(0, 80)]),
      ),
    );
    return ExitCode.OK;
  } finally {
    store.close();
  }
}

export function outboxRetryCommand(config: Config, opts: { ids: number[] | 'all-dead'; out: Out }): number {
  const store = openStore(config, 'write');
  try {
    const requeued = store.outbox.requeue(opts.ids, new Date());
    if (opts.ids !== 'all-dead') {
      const missing = opts.ids.filter((id) => !requeued.includes(id));
      if (missing.length) opts.out(`not requeued (no dead or deferred mail with that id): ${missing.join(', ')}`);
    }
    opts.out(`requeued ${requeued.length} mail(s)${requeued.length ? `: ${requeued.join(', ')}` : ''}; the next cycle sends them`);
    return ExitCode.OK;
  } finally {
    store.close();
  }
}

export function quarantineListCommand(config: Config, opts: { all: boolean; json: boolean; out: Out; gemeente?: string }): number {
  if (opts.gemeente !== undefined) selectGemeenten(config, opts.gemeente);
  const store = openStore(config, 'read');
  try {
    const rows = store.quarantine.list(opts.all ? 'all' : 'open', opts.gemeente);
    const view = rows.map((r) => ({ id: r.id, gemeentecode: r.feed_gemeentecode, state: r.state, received: r.received_at, meldingsnummer: r.meldingsnummer, volgnummer: r.volgnummer, attempts: r.attempts, reason: shown(r.reason) }));
    if (opts.json) {
      for (const v of view) opts.out(JSON.stringify(v));
    } else if (view.length === 0) {
      opts.out('the quarantine is empty');
    } else {
      const several = config.gemeenten.length > 1;
      opts.out(
        table(
          ['id', 'state', ...(several ? ['gemeente'] : []), 'received', 'melding', 'volgnr', 'tries', 'reason'],
          view.map((v) => [v.id, v.state, ...(several ? [v.gemeentecode] : []), v.received, v.meldingsnummer, v.volgnummer, v.attempts, v.reason]),
        ),
      );
    }
    return ExitCode.OK;
  } finally {
    store.close();
  }
}

export function quarantineRetryCommand(config: Config, opts: { out: Out }): number {
  const store = openStore(config, 'write');
  try {
    let reprocessed = 0;
    let still = 0;
    const ctx = { store, config, log: silentLogger, now: () => new Date(), cycleId: null, forwardMail: true };
    for (const record of store.quarantine.list('open')) {
      // Reprocessed as part of the feed that brought it; a gemeente no longer configured keeps its records waiting.
      const gemeente = gemeenteOf(config, record.feed_gemeentecode);
      if (!gemeente) {
        still++;
        continue;
      }
      const item = storedItem(record.payload);
      const checked = validateItem(item.value);
      if (!checked.ok) {
        store.transaction(() => retryFailed(ctx, record.id, checked.reason));
        still++;
        continue;
      }
      store.transaction(() => {
        const counts = emptyIngestCounts();
        const outcome = ingestItem({ ...ctx, gemeente, retryOf: record.id }, item, counts);
        if (outcome !== 'quarantined') {
          store.quarantine.markProcessed(record.id, new Date());
          store.audit.append({ event: 'quarantine.reprocessed', outcome: 'ok', gemeentecode: gemeente.municipality.code, meldingsnummer: record.meldingsnummer, volgnummer: record.volgnummer, detail: { quarantineId: record.id, result: outcome, queued: counts.queued } });
          reprocessed++;
        } else {
          still++;
        }
      });
    }
    opts.out(`reprocessed ${reprocessed} record(s); ${still} still fail validation${reprocessed ? '; mail they caused goes out with the next cycle' : ''}`);
    return ExitCode.OK;
  } finally {
    store.close();
  }
}

export function auditVerifyCommand(config: Config, opts: { out: Out; json?: boolean }): number {
  const store = openStore(config, 'read');
  try {
    const result = store.audit.verify();
    // A missing or unreadable head file leaves no row to name, but the log can no longer be trusted.
    const intact = result.brokenAt === null && result.truncated !== true;
    if (opts.json) {
      // For monitoring scripts: the same verdict and exit status as the text.
      opts.out(
        JSON.stringify(
          intact
            ? { status: 'intact', rows: result.rows }
            : { status: 'broken', rows: result.rows, brokenAt: result.brokenAt, truncated: result.truncated === true, reason: result.reason ?? null },
        ),
      );
      return intact ? ExitCode.OK : ExitCode.AUDIT_BROKEN;
    }
    if (intact) {
      opts.out(`audit log intact: ${result.rows} rows`);
      return ExitCode.OK;
    }
    opts.out(`audit log BROKEN: ${result.reason}`);
    return ExitCode.AUDIT_BROKEN;
  } finally {
    store.close();
  }
}

export function auditExportCommand(config: Config, opts: { since?: string; gemeente?: string; out: Out }): number {
  if (opts.since !== undefined && Number.isNaN(Date.parse(opts.since))) throw new Error(`--since: expected a date such as 2026-11-01, got "${opts.since}"`);
  if (opts.gemeente !== undefined) selectGemeenten(config, opts.gemeente);
  const store = openStore(config, 'read');
  try {
    const since = opts.since ? new Date(opts.since).toISOString() : undefined;
    for (const row of store.audit.since(since, opts.gemeente)) {
      opts.out(JSON.stringify({ ...row, detail: row.detail ? (JSON.parse(row.detail) as unknown) : null }));
    }
    return ExitCode.OK;
  } finally {
    store.close();
  }
}

/**
 * `healthcheck --liveness`: the daemon's heartbeat is recent (for Docker's
 * HEALTHCHECK and a Kubernetes livenessProbe: restart only a process that no
 * longer works). `healthcheck` / `--readiness`: a successful cycle as recent
 * as the schedule allows and a usable certificate (a readinessProbe, an
 * alert). Both only read: the database is opened read-only, the heartbeat is
 * a file beside it.
 */
export function healthcheckCommand(config: Config, opts: { out: Out; check: 'liveness' | 'readiness'; json: boolean; now?: Date }): number {
  const now = opts.now ?? new Date();
  let report: HealthReport;
  if (opts.check === 'liveness') {
    report = liveness(config.storage.path, now);
  } else if (!existsSync(config.storage.path)) {
    const r = readiness(config, null, now);
    report = { ...r, problems: r.problems.map((p) => (p === 'no successful cycle yet' ? 'no database yet' : p)) };
  } else {
    const store = Store.open(config.storage.path, config.gemeenten[0]!.municipality.code, undefined, { readonly: true });
    try {
      report = readiness(config, store.cycles.lastSuccessful()?.finished_at, now);
    } finally {
      store.close();
    }
  }
  if (opts.json) opts.out(JSON.stringify(report));
  else opts.out(report.healthy ? 'healthy' : `unhealthy: ${report.problems.join('; ')}`);
  return report.healthy ? ExitCode.OK : ExitCode.UNHEALTHY;
}
