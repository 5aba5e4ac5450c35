/**
 * Command lines: each command declares its options once, and that one
 * declaration yields both the parse (node:util parseArgs) and the command's
 * `--help`, so the help can never forget an option the parser accepts.
 */
import { parseArgs } from 'node:util';

/** A wrong command line: the CLI prints the message on one line and exits with ExitCode.USAGE. */
export class UsageError extends Error {}

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** What the help calls the value (PATH, NR, DIR); string options only. */
  value?: string;
  description: string;
  /** May be given more than once; the values are collected in order. */
  multiple?: boolean;
  /** A one-letter alias, without the dash. */
  short?: string;
  /** The only values accepted. */
  choices?: readonly string[];
  /** Further checks on a value: returns what is wrong with it, or undefined. */
  check?: (value: string) => string | undefined;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  /** As typed: "status", "outbox list". */
  name: string;
  /** What follows the name in the usage line, e.g. "ID… | --all-dead"; the options are listed below it anyway. */
  synopsis?: string;
  summary: string;
  /** Paragraphs after the options. */
  details?: string;
  /** Words after the options that the command takes (mail ids); without it, any is a usage error. */
  positionals?: boolean;
  options: O;
}

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true
    ? boolean[]
    : boolean
  : S['multiple'] extends true
    ? string[]
    : string;

export type OptionValues<O extends OptionSpecs> = { [K in keyof O]?: ValueOf<O[K]> };

export interface ParsedArgs<O extends OptionSpecs = OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
  /** --help or -h was given: show the help, run nothing. */
  help: boolean;
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'this text' };

/** The command's options plus --help, which every command has. */
function withHelp(options: OptionSpecs): OptionSpecs {
  return { ...options, help: HELP };
}

function utilOptions(options: OptionSpecs) {
  return Object.fromEntries(
    Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }]),
  );
}

/**
 * Parses argv against the declaration. parseArgs tokenises; the checks are
 * ours, so every mistake reads the same way and names the option as typed.
 */
export function parseCommandLine<O extends OptionSpecs>(spec: CommandSpec<O>, argv: string[]): ParsedArgs<O> {
  const options = withHelp(spec.options);
  const { tokens } = parseArgs({ args: argv, options: utilOptions(options), strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name]! : undefined;
    if (!option) throw new UsageError(`unknown option ${token.rawName}`);
    if (option.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value, got "${token.value}"`);
      values[token.name] = option.multiple ? [...((values[token.name] as boolean[] | undefined) ?? []), true] : true;
      continue;
    }
    const value = token.value;
    // "--out --json": the next option is not the value of this one.
    if (value === undefined || (!token.inlineValue && value.startsWith('--'))) throw new UsageError(`${token.rawName} needs a value${option.value ? ` (${option.value})` : ''}`);
    if (option.choices && !option.choices.includes(value)) throw new UsageError(`${token.rawName}: expected ${orList(option.choices)}, got "${value}"`);
    const problem = option.check?.(value);
    if (problem) throw new UsageError(`${token.rawName}: ${problem}, got "${value}"`);
    values[token.name] = option.multiple ? [...((values[token.name] as string[] | undefined) ?? []), value] : value;
  }
  const help = values.help === true;
  delete values.help;
  if (!help && !spec.positionals && positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  return { values: values as OptionValues<O>, positionals, help };
}

/** The words of argv that are not options or option values, with where they are; for finding a subcommand among options. */
export function positionalsOf(argv: string[], options: OptionSpecs): { value: string; index: number }[] {
  const { tokens } = parseArgs({ args: argv, options: utilOptions(withHelp(options)), strict: false, allowPositionals: true, tokens: true });
  return tokens.flatMap((t) => (t.kind === 'positional' ? [{ value: t.value, index: t.index }] : []));
}

export function usageLine(spec: CommandSpec): string {
  const required = spec.synopsis ? ` ${spec.synopsis}` : '';
  return `verzuim-relay ${spec.name}${required} [options]`;
}

/** The command's --help: usage, what it does, and every option it accepts. */
export function commandHelp(spec: CommandSpec): string {
  const options = withHelp(spec.options);
  const left = Object.entries(options).map(([name, o]) => `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 3;
  const lines = Object.values(options).map((o, i) => {
    const notes = [o.choices ? `one of ${o.choices.join(', ')}` : '', o.multiple ? 'may be repeated' : ''].filter(Boolean);
    const description = notes.length ? `${o.description} (${notes.join('; ')})` : o.description;
    return `  ${left[i]!.padEnd(width)}${description.replaceAll('\n', `\n  ${' '.repeat(width)}`)}`;
  });
  return [`usage: ${usageLine(spec)}`, '', spec.summary, '', 'options:', ...lines, ...(spec.details ? ['', spec.details] : [])].join('\n');
}

function orList(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)!}`;
}
