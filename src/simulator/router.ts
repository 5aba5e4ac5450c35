/**
 * A route table for the simulated ROD: each route a method, a path pattern
 * and a handler that returns its reply instead of writing it, so the server
 * alone answers and records every request, exactly once.
 */
import type { Problem } from '../feed/contract.js';

/** An answer to send: a JSON body, or none (204). Bodies of 400 and up are problem+json. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Readonly<Record<string, string>>;
}

export interface Route<Context> {
  method: string;
  /** Below the base path; a `:name` segment matches one non-empty segment, as sent (not percent-decoded). */
  pattern: string;
  handle(context: Context): Reply | Promise<Reply>;
}

export type Params = Readonly<Record<string, string>>;

export type RouteMatch<Context> =
  | { kind: 'found'; route: Route<Context>; params: Params }
  /** The path exists, but not for this method: a 405 with Allow, so the client learns which verb it needs. */
  | { kind: 'wrong-method'; allowed: readonly string[] }
  | { kind: 'none' };

export function problemReply(problem: Problem, headers?: Readonly<Record<string, string>>): Reply {
  return { status: problem.status, body: problem, ...(headers ? { headers } : {}) };
}

/** The params of a path that fits the pattern; undefined when it does not. */
export function matchPattern(pattern: string, path: string): Params | undefined {
  const expected = pattern.split('/');
  const actual = path.split('/');
  if (expected.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of expected.entries()) {
    const value = actual[i]!;
    if (segment.startsWith(':')) {
      if (value === '') return undefined;
      params[segment.slice(1)] = value;
    } else if (segment !== value) {
      return undefined;
    }
  }
  return params;
}

export function findRoute<Context>(routes: readonly Route<Context>[], method: string, path: string): RouteMatch<Context> {
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPattern(route.pattern, path);
    if (!params) continue;
    if (route.method === method) return { kind: 'found', route, params };
    allowed.push(route.method);
  }
  return allowed.length ? { kind: 'wrong-method', allowed } : { kind: 'none' };
}
