/**
 * Structured JSON logs on standard output, one `event` name on every line so
 * that log rules can match on it. Callers pass ids and counts, never personal
 * data: the log leaves the municipality's control more easily than the database.
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export type LogFields = Record<string, unknown>;

export interface Logger {
  error(event: string, fields?: LogFields, message?: string): void;
  warn(event: string, fields?: LogFields, message?: string): void;
  info(event: string, fields?: LogFields, message?: string): void;
  debug(event: string, fields?: LogFields, message?: string): void;
  child(fields: LogFields): Logger;
  flush(): void;
}

export function createLogger(options: { level?: LogLevel; destination?: DestinationStream; base?: LogFields } = {}): Logger {
  const instance = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'verzuim-relay', ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return wrap(instance);
}

function wrap(instance: PinoLogger): Logger {
  const at =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (event: string, fields: LogFields = {}, message?: string) =>
      instance[level]({ event, ...fields }, message ?? event);
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (fields) => wrap(instance.child(fields)),
    flush: () => instance.flush(),
  };
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
