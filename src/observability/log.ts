/**
 * Structured JSON logs on standard output, one `event` name on every line so
 * that log rules can match on it. Callers pass ids and counts, never personal
 * data: the log leaves the municipality's control more easily than the database.
 * docs/logging.md lists every event, its level and its fields; a test keeps the
 * two in step.
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  error(event: string, fields?: LogFields, message?: string): void;
  warn(event: string, fields?: LogFields, message?: string): void;
  info(event: string, fields?: LogFields, message?: string): void;
  debug(event: string, fields?: LogFields, message?: string): void;
  child(fields: LogFields): Logger;
  flush(): void;
  /**
   * Runs fn; the lines it logs (through this logger or its children) are
   * written together, in one write, when fn ends. For lines that are ready at
   * once, like a stored page's held lines: each line written on its own was a
   * system call, a tenth of storing a page. A logger without it writes each line
   * as it comes.
   */
  together?<T>(fn: () => T): T;
}

/** LOG_LEVEL holds no level pino knows. The CLI ends with exit 78, like a configuration error. */
export class LogLevelError extends Error {
  constructor(readonly value: string) {
    super(`LOG_LEVEL: "${value}" is not a log level; expected one of ${LOG_LEVELS.join(', ')} (or leave LOG_LEVEL unset to use log.level)`);
    this.name = 'LogLevelError';
  }
}

/**
 * The level to log at: the LOG_LEVEL environment variable when set, else
 * log.level from the configuration. The variable wins so that an
 * administrator can turn on debug for one run without editing the file.
 */
export function effectiveLogLevel(configured: LogLevel, envValue: string | undefined = process.env.LOG_LEVEL): LogLevel {
  if (envValue === undefined || envValue.trim() === '') return configured;
  const value = envValue.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new LogLevelError(envValue);
  return value as LogLevel;
}

export function createLogger(options: { level?: LogLevel; destination?: DestinationStream; base?: LogFields } = {}): Logger {
  const destination = new GatedDestination(options.destination ?? pino.destination({ dest: 1, sync: true }));
  const instance = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'verzuim-relay', ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return wrap(instance, destination);
}

function wrap(instance: PinoLogger, destination: GatedDestination): Logger {
  const at =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (event: string, fields: LogFields = {}, message?: string) =>
      instance[level]({ event, ...fields }, message ?? event);
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    // A child writes to its parent's destination, so one `together` covers both.
    child: (fields) => wrap(instance.child(fields), destination),
    flush: () => instance.flush(),
    together: (fn) => destination.together(fn),
  };
}

/**
 * The destination pino writes each line to, passed through, except while a
 * `together` block runs: then the lines wait and go out in one write when it
 * ends, however it ends (a line already logged is never dropped).
 */
class GatedDestination implements DestinationStream {
  private held: Buffer[] | undefined;

  constructor(private readonly inner: DestinationStream & { flush?: (cb?: (err?: Error) => void) => void; flushSync?: () => void }) {}

  write(line: string): void {
    // Held as its bytes: pino builds a line by concatenation, which V8 keeps as
    // a rope of a few dozen small strings until something reads it, and every
    // young-generation collection while a page's lines waited copied each
    // piece of every waiting rope. Encoded at once, the rope is garbage at
    // once and the bytes wait outside the JavaScript heap: a page's 500 lines
    // cost a third to a quarter of the CPU they did (docs/performance.md).
    if (this.held) this.held.push(Buffer.from(line));
    else this.inner.write(line);
  }

  together<T>(fn: () => T): T {
    if (this.held) return fn();
    this.held = [];
    try {
      return fn();
    } finally {
      const lines = this.held;
      this.held = undefined;
      if (lines.length > 0) this.inner.write(Buffer.concat(lines).toString());
    }
  }

  // pino's logger.flush() and fatal() reach the destination through these.
  flush(cb?: (err?: Error) => void): void {
    if (typeof this.inner.flush === 'function') this.inner.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.inner.flushSync?.();
  }
}

/** A logger that drops everything, for commands whose output is a report. */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child() {
    return silentLogger;
  },
  flush() {},
};
