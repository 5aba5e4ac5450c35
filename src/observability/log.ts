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
