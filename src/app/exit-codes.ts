/**
 * Every exit status the relay's commands and daemon end with, in one table.
 * Init systems, container healthchecks and operators' scripts read these, so
 * a number means the same thing in every command. Above 63 they are the BSD
 * sysexits(3) codes, which systemd and supervisors already know by name.
 * Lower layers (config/, certs/) throw typed errors; only app/ turns them
 * into a status.
 */
export const ExitCode = {
  /** The command did what it was asked; the daemon stopped cleanly on SIGTERM/SIGINT. */
  OK: 0,
  /**
   * An expected failure whose message names the cause and the cure: no
   * database yet, a file the simulator cannot read, a port in use.
   */
  FAILURE: 1,
  /** `once`: the cycle ended early (ROD unreachable, 5xx, waited out, an unreadable page). */
  CYCLE_INCOMPLETE: 1,
  /** `healthcheck`: no recent successful cycle or an unusable certificate; with --liveness, no recent heartbeat. */
  UNHEALTHY: 1,
  /** `cert check`, `cert bundle`, and any command that needs the client certificate: it cannot be used. */
  CERT_UNUSABLE: 2,
  /** `audit verify`: the audit log's hash chain is broken. */
  AUDIT_BROKEN: 3,
  /** EX_USAGE: an unknown command or option, a missing or bad option value. */
  USAGE: 64,
  /** EX_UNAVAILABLE: something the command needs is not part of this installation (`demo` outside a source checkout). */
  UNAVAILABLE: 69,
  /** EX_SOFTWARE: a fault nobody caught ended the process; the container restarts it. */
  SOFTWARE: 70,
  /** EX_TEMPFAIL: another relay (`run` or `once`) holds the database's writer lease; try again later. */
  TEMPFAIL: 75,
  /** EX_CONFIG: the configuration file, or a file it names, is invalid or unreadable. */
  CONFIG: 78,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
