/**
 * Reading what a client sent the simulated ROD: headers, query parameters
 * and a bounded body, with the refusals worded the way ROD words them.
 */
import type { IncomingMessage } from 'node:http';

export const MAX_BODY_BYTES = 16 * 1024;

export function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a request body up to a limit; undefined when it is larger. */
export async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep draining so the connection stays usable, but keep nothing.
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** A query parameter as a non-negative integer; a string saying what is wrong otherwise. */
export function integerParameter(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number | string {
  const values = query.getAll(name);
  if (values.length === 0) return fallback;
  if (values.length > 1) return `De parameter ${name} mag maar één keer voorkomen.`;
  const raw = values[0]!;
  const value = Number(raw);
  if (!/^[0-9]{1,16}$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    return `De parameter ${name} moet een geheel getal van ${min} tot en met ${max === Number.MAX_SAFE_INTEGER ? 'onbeperkt' : max} zijn.`;
  }
  return value;
}
