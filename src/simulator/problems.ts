/**
 * The errors the simulated ROD answers with, as application/problem+json
 * (RFC 9457) with Dutch titles and ROD error codes, the way DUO writes them.
 * Details name parameters and codes, never a pupil's data.
 */
import type { Problem } from '../feed/contract.js';

const TYPE_BASE = 'https://rod.duo.example/problemen/';

interface ProblemKind {
  status: number;
  slug: string;
  title: string;
  code: string;
}

export const PROBLEMS = {
  parameter: { status: 400, slug: 'ongeldige-parameter', title: 'Ongeldige parameter', code: 'ROD-400-PARAMETER' },
  body: { status: 400, slug: 'ongeldig-bericht', title: 'Ongeldig bericht', code: 'ROD-400-BERICHT' },
  noCertificate: { status: 401, slug: 'geen-certificaat', title: 'Geen geldig clientcertificaat', code: 'ROD-401-CERTIFICAAT' },
  oin: { status: 403, slug: 'niet-geautoriseerd', title: 'Certificaat niet geautoriseerd voor deze gemeente', code: 'ROD-403-OIN' },
  path: { status: 404, slug: 'niet-gevonden', title: 'Onbekend pad', code: 'ROD-404-PAD' },
  gemeente: { status: 404, slug: 'gemeente-onbekend', title: 'Gemeente onbekend', code: 'ROD-404-GEMEENTE' },
  melding: { status: 404, slug: 'melding-onbekend', title: 'Melding niet gevonden', code: 'ROD-404-MELDING' },
  method: { status: 405, slug: 'methode-niet-toegestaan', title: 'Methode niet toegestaan', code: 'ROD-405-METHODE' },
  transition: { status: 409, slug: 'statusovergang', title: 'Statuswijziging niet toegestaan', code: 'ROD-409-STATUS' },
  throttled: { status: 429, slug: 'te-veel-verzoeken', title: 'Te veel verzoeken', code: 'ROD-429-LIMIET' },
  internal: { status: 500, slug: 'interne-fout', title: 'Interne fout in ROD', code: 'ROD-500-INTERN' },
  maintenance: { status: 503, slug: 'onderhoud', title: 'ROD is in onderhoud', code: 'ROD-503-ONDERHOUD' },
} as const satisfies Record<string, ProblemKind>;

export type ProblemName = keyof typeof PROBLEMS;

export function problem(name: ProblemName, detail: string, instance?: string): Problem {
  const kind = PROBLEMS[name];
  return {
    type: TYPE_BASE + kind.slug,
    title: kind.title,
    status: kind.status,
    detail,
    ...(instance !== undefined ? { instance } : {}),
    code: kind.code,
  };
}

/** The problem an injected failure answers with. */
export function failureProblem(status: 429 | 503 | 500, retryAfter: string | undefined): Problem {
  const later = retryAfter !== undefined ? ` Probeer het opnieuw na ${retryAfter}${/^[0-9]+$/.test(retryAfter) ? ' seconden' : ''}.` : '';
  switch (status) {
    case 429:
      return problem('throttled', `Het maximale aantal verzoeken is bereikt.${later}`);
    case 503:
      return problem('maintenance', `Gepland onderhoud.${later}`);
    case 500:
      return problem('internal', `Er ging iets mis bij het verwerken van het verzoek.${later}`);
  }
}
