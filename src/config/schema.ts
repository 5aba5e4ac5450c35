/**
 * The configuration file's shape, defaults and rules. Keys are those of the
 * administrator's YAML file; every object is strict so that a typo is an error
 * instead of a setting silently left at its default.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { KNOWN_VERZUIMSOORTEN } from '../domain/melding.js';
import { domainOf, INSTANCE_ID } from '../domain/mail.js';

/** Numbers where a string of digits is meant: YAML turns `0344` into 344, so refuse and ask for quotes. */
function digits(length: number, what: string) {
  return z.custom<string>((value) => typeof value === 'string' || typeof value === 'number', {
    message: `expected ${what} as a quoted string of ${length} digits`,
  }).superRefine((value, ctx) => {
    if (typeof value === 'number') {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${what} as a string of ${length} digits, got the number ${value}: put it in quotes, e.g. "${String(value).padStart(length, '0')}" (YAML drops leading zeros)`,
      });
    } else if (!new RegExp(`^[0-9]{${length}}$`).test(value)) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}: exactly ${length} digits` });
    }
  }).meta({ type: 'string', pattern: `^[0-9]{${length}}$`, description: `${what}, quoted` });
}

const nonEmpty = z.string().trim().min(1, 'expected a non-empty string');
const email = z.email('expected an e-mail address');

const timezone = nonEmpty.refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'expected an IANA time zone such as Europe/Amsterdam');

/**
 * Checked here with croner itself, the parser `run` schedules with, so that
 * `check-config` refuses what `run` would die on. `paused` starts no timer.
 */
const cron = nonEmpty.superRefine((pattern, ctx) => {
  try {
    new Cron(pattern, { paused: true }).stop();
  } catch (err) {
    const reason = (err as Error).message.replace(/^CronPattern:\s*/, '');
    ctx.addIssue({
      code: 'custom',
      message: `expected a cron expression of five fields (minute hour day-of-month month day-of-week, optionally a leading seconds field), such as "*/10 * * * *"; got "${pattern}" (${reason})`,
    });
  }
});

const instanceSchema = z.strictObject({
  name: nonEmpty,
  email,
});

export const routingSchema = z
  .strictObject({
    instances: z.record(
      z.string().regex(INSTANCE_ID, 'expected an instance id of lower-case letters, digits, - or _'),
      instanceSchema,
    ),
    verzuimsoorten: z.record(
      z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected a verzuimsoort code in upper case'),
      nonEmpty,
    ),
    unknown: nonEmpty,
  })
  .superRefine((routing, ctx) => {
    const ids = Object.keys(routing.instances);
    if (ids.length !== 4) {
      ctx.addIssue({
        code: 'custom',
        path: ['instances'],
        message: `expected exactly 4 instances (DUO's forwarding form always asks for four; several may share an address), got ${ids.length}`,
      });
    }
    const known = `one of the instances (${ids.join(', ')})`;
    for (const [soort, instance] of Object.entries(routing.verzuimsoorten)) {
      if (!ids.includes(instance)) {
        ctx.addIssue({ code: 'custom', path: ['verzuimsoorten', soort], message: `"${instance}" is not ${known}` });
      }
    }
    for (const soort of KNOWN_VERZUIMSOORTEN) {
      if (!Object.hasOwn(routing.verzuimsoorten, soort)) {
        ctx.addIssue({ code: 'custom', path: ['verzuimsoorten', soort], message: `missing: every known verzuimsoort must be assigned to ${known}` });
      }
    }
    if (!ids.includes(routing.unknown)) {
      ctx.addIssue({ code: 'custom', path: ['unknown'], message: `"${routing.unknown}" is not ${known}` });
    }
  });

/** Where a client certificate and its key are: cert + key, or pfx. Shared by tls and tls.next. */
const clientCertificateKeys = {
  cert: nonEmpty.optional(),
  key: nonEmpty.optional(),
  keyPassphrase: z.string().optional(),
  pfx: nonEmpty.optional(),
  pfxPassphrase: z.string().optional(),
};

function requireCertAndKeyOrPfx(tls: { cert?: string; key?: string; pfx?: string }, ctx: z.RefinementCtx): void {
  if (tls.pfx !== undefined) {
    if (tls.cert !== undefined || tls.key !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['pfx'], message: 'give either pfx or cert + key, not both' });
    }
  } else {
    if (tls.cert === undefined) ctx.addIssue({ code: 'custom', path: ['cert'], message: 'required (or give pfx instead of cert + key)' });
    if (tls.key === undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'required (or give pfx instead of cert + key)' });
  }
}

/**
 * The renewed certificate, configured beside the current one while DUO registers it: the relay
 * probes ROD with it and switches by itself once ROD accepts it (app/certificate-rollover.ts). The
 * trust anchors and the other tls settings are shared.
 */
const nextCertificateSchema = z.strictObject(clientCertificateKeys).superRefine(requireCertAndKeyOrPfx);

const tlsSchema = z
  .strictObject({
    ...clientCertificateKeys,
    trustAnchors: nonEmpty,
    allowUnknownRoots: z.boolean().default(false),
    expiryWarningDays: z.number().int().min(1).max(365).default(60),
    next: nextCertificateSchema.optional(),
  })
  .superRefine(requireCertAndKeyOrPfx);

const smtpSchema = z
  .strictObject({
    host: nonEmpty,
    port: z.number().int().min(1).max(65535).default(587),
    secure: z.boolean().default(false),
    requireTLS: z.boolean().default(true),
    allowPlaintext: z.boolean().default(false),
    user: nonEmpty.optional(),
    password: z.string().optional(),
    // The sender's domain also names every Message-ID, so it must be there.
    from: nonEmpty.refine((from) => {
      try {
        domainOf(from);
        return true;
      } catch {
        return false;
      }
    }, 'expected a sender address such as "Verzuimrelay Utrecht <verzuim-relay@utrecht.example>"'),
    ca: nonEmpty.optional(),
    // Connections used at once; mails about one melding still leave in volgnummer order (see delivery/deliver.ts).
    maxConnections: z.number().int().min(1).max(20).default(3),
  })
  .superRefine((smtp, ctx) => {
    if (!smtp.secure && !smtp.requireTLS && !smtp.allowPlaintext) {
      ctx.addIssue({
        code: 'custom',
        path: ['requireTLS'],
        message: 'false is only allowed together with allowPlaintext: true (mail about pupils must not cross the network in plain text by accident)',
      });
    }
    if (smtp.user !== undefined && smtp.password === undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'required when smtp.user is set (use ${SMTP_PASSWORD} or SMTP_PASSWORD_FILE)' });
    }
  });

/**
 * DUO's Edukoppeling (SOAP, WUS) settings. Every key has the default of DUO's
 * production environment, so `protocol: edukoppeling` works without this
 * block; the contract name is repeated here (not imported from the feed) because
 * configuration sits below the feed in the layers.
 */
export const edukoppelingSchema = z
  .strictObject({
    to: z
      .url({ protocol: /^https?$/, error: 'expected DUO\'s logical address, such as https://duo.nl/ROD/services/verzuim1.0' })
      .refine((to) => !/[?&]oin=/.test(to), 'give the address without "?oin=": the relay adds the OIN of rod.edukoppeling.duoOin')
      .default('https://duo.nl/ROD/services/verzuim1.0'),
    duoOin: digits(20, "DUO's OIN").default('00000001800866472000'),
    /** The OIN in DUO's signing certificate; DUO's test environment signs as 00000099800866472000. Default: duoOin. */
    signerOin: digits(20, "the OIN in DUO's signing certificate").optional(),
    contract: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,127}$/, 'expected a contract name such as DUO_ROD_Verzuim_Gemeente_V1')
      .default('DUO_ROD_Verzuim_Gemeente_V1'),
    /** Pinned DUO signing certificate file(s), accepted as they are. */
    signerCertificates: z
      .union([nonEmpty, z.array(nonEmpty).min(1, 'expected at least one file')])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional(),
    clockSkewSeconds: z.number().int().min(0).max(3600).default(300),
  })
  .transform((e) => ({ ...e, signerOin: e.signerOin ?? e.duoOin }));

export type EdukoppelingConfig = z.infer<typeof edukoppelingSchema>;

const rodSchema = z
  .strictObject({
    // DUO speaks Edukoppeling; the REST stand-in stays for suppliers' tests and older set-ups.
    protocol: z.enum(['edukoppeling', 'rest']).default('edukoppeling'),
    url: z.url({ protocol: /^https$/, error: 'expected an https:// URL' }).transform((u) => u.replace(/\/+$/, '')),
    pageSize: z.number().int().min(1).max(500).default(100),
    timeoutSeconds: z.number().min(1).max(600).default(30),
    // A larger answer is refused while it streams in: a broken or hostile peer cannot fill memory.
    maxResponseBytes: z.number().int().positive().default(20_971_520),
    reportStatus: z.enum(['none', 'IN_BEHANDELING']).default('none'),
    edukoppeling: edukoppelingSchema.optional(),
  })
  .superRefine((rod, ctx) => {
    if (rod.protocol === 'rest' && rod.edukoppeling !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['edukoppeling'], message: 'not allowed with rod.protocol: rest (remove it, or set rod.protocol: edukoppeling)' });
    }
  });

/** The Edukoppeling settings in force: the configured block, or every default. */
export function edukoppelingSettings(rod: Config['rod']): EdukoppelingConfig {
  return rod.edukoppeling ?? edukoppelingSchema.parse({});
}

/**
 * Where the metrics listener binds: "9464" (loopback), "127.0.0.1:9464",
 * "0.0.0.0:9464" or "[::1]:9464". Loopback unless an address is given: the
 * numbers are not secret, but nothing should be reachable by accident.
 */
const listenAddress = nonEmpty
  .regex(/^(?:(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?\d{1,5}$/, 'expected a port or host:port, such as 9464 or "127.0.0.1:9464"')
  .transform((value) => {
    const at = value.lastIndexOf(':');
    const host = at === -1 ? '127.0.0.1' : value.slice(0, at).replace(/^\[(.*)\]$/, '$1');
    return { host, port: Number(value.slice(at + 1)) };
  })
  .refine((l) => l.port <= 65535, 'expected a port from 0 to 65535');

const municipalitySchema = z.strictObject({
  code: digits(4, 'the CBS gemeentecode'),
  name: nonEmpty,
  oin: digits(20, 'the OIN'),
});

const alertsSchema = z.strictObject({ email: email.optional() });

/** One gemeente of a regional bureau's relay: its identity, its four instances, optionally its own alert address. */
const gemeenteSchema = z.strictObject({
  municipality: municipalitySchema,
  routing: routingSchema,
  alerts: alertsSchema.optional(),
});

const fileSchema = z.strictObject({
  municipality: municipalitySchema.optional(),
  /** A regional leerplicht bureau: several gemeenten, one certificate; instead of municipality + routing. */
  gemeenten: z.array(gemeenteSchema).min(1, 'expected at least one gemeente').optional(),
  rod: rodSchema,
  tls: tlsSchema,
  schedule: z
    .strictObject({
      cron: cron.default('*/10 * * * *'),
      timezone: timezone.default('Europe/Amsterdam'),
    })
    .default({ cron: '*/10 * * * *', timezone: 'Europe/Amsterdam' }),
  sync: z.strictObject({ backlog: z.enum(['forward', 'store-only']).default('forward') }).default({ backlog: 'forward' }),
  routing: routingSchema.optional(),
  smtp: smtpSchema,
  mail: z.strictObject({ content: z.enum(['full', 'minimal']).default('full') }).default({ content: 'full' }),
  delivery: z
    .strictObject({
      maxAgeHours: z.number().min(1).default(72),
      firstRetrySeconds: z.number().min(1).default(60),
      maxRetryDelaySeconds: z.number().min(1).default(3600),
    })
    .refine((d) => d.maxRetryDelaySeconds >= d.firstRetrySeconds, {
      path: ['maxRetryDelaySeconds'],
      message: 'must not be lower than delivery.firstRetrySeconds',
    })
    .default({ maxAgeHours: 72, firstRetrySeconds: 60, maxRetryDelaySeconds: 3600 }),
  storage: z.strictObject({ path: nonEmpty }),
  retention: z
    .strictObject({
      days: z.number().int().min(1).default(730),
      // Quarantined records about another gemeente's pupils: kept only long enough to report the mix-up.
      quarantineDays: z.number().int().min(1).default(30),
    })
    .default({ days: 730, quarantineDays: 30 }),
  alerts: alertsSchema.default({}),
  health: z
    .strictObject({
      // Unset: derived from schedule.cron's previous runs (see app/health.ts).
      maxCycleAgeMinutes: z.number().positive().optional(),
    })
    .default({}),
  metrics: z
    .strictObject({ listen: z.preprocess((v) => (typeof v === 'number' ? String(v) : v), listenAddress).optional() })
    .default({}),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
    .default({ level: 'info' }),
});

/**
 * Either `municipality` + `routing` (one gemeente) or `gemeenten` (several);
 * a missing or repeated gemeentecode is an error that names the list index.
 */
function checkGemeenten(file: z.infer<typeof fileSchema>, ctx: z.core.$RefinementCtx<z.infer<typeof fileSchema>>): void {
  if (file.gemeenten !== undefined) {
    for (const key of ['municipality', 'routing'] as const) {
      if (file[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `not allowed together with gemeenten: give each gemeente its own ${key} inside the gemeenten list` });
      }
    }
    const seen = new Map<string, number>();
    file.gemeenten.forEach((gemeente, i) => {
      const code = gemeente.municipality.code;
      const first = seen.get(code);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['gemeenten', i, 'municipality', 'code'], message: `gemeentecode ${code} is already listed at gemeenten.${first}: each gemeente once` });
      } else {
        seen.set(code, i);
      }
    });
    return;
  }
  if (file.municipality === undefined) ctx.addIssue({ code: 'invalid_type', expected: 'object', input: undefined, path: ['municipality'], message: 'required (or list several under gemeenten)' });
  if (file.routing === undefined) ctx.addIssue({ code: 'invalid_type', expected: 'object', input: undefined, path: ['routing'], message: 'required (or list several under gemeenten)' });
}

export const configSchema = fileSchema.superRefine(checkGemeenten).transform(({ municipality, routing, gemeenten, ...shared }) => {
  // One shape for the rest of the relay: a single-gemeente file is a list of one.
  const list: Gemeente[] = gemeenten
    ? gemeenten.map((g) => ({ municipality: g.municipality, routing: g.routing, alerts: { email: g.alerts?.email } }))
    : [{ municipality: municipality!, routing: routing!, alerts: {} }];
  // listed: the file uses the gemeenten list (a bureau); then the certificate's OIN may be none of the gemeenten's.
  return { ...shared, gemeenten: list, listed: gemeenten !== undefined };
});

export type RoutingConfig = z.infer<typeof routingSchema>;

/** One gemeente the relay serves: its own cursor, instances, mail, status and audit rows. */
export interface Gemeente {
  municipality: z.infer<typeof municipalitySchema>;
  routing: RoutingConfig;
  /** This gemeente's own alerts.email, if it has one; its alerts otherwise go to the top-level alerts.email. */
  alerts: { email?: string | undefined };
}

export type Config = z.infer<typeof configSchema>;

/** The configured gemeente with this code; undefined when it is not (or no longer) configured. */
export function gemeenteOf(config: Pick<Config, 'gemeenten'>, code: string | null | undefined): Gemeente | undefined {
  return config.gemeenten.find((g) => g.municipality.code === code);
}

/** Whether Message-IDs and the like need the gemeentecode to stay unique (several gemeenten in one store). */
export const servesSeveral = (config: Pick<Config, 'gemeenten'>): boolean => config.gemeenten.length > 1;
export type TlsConfig = Config['tls'];
export type NextCertificateConfig = NonNullable<TlsConfig['next']>;

/**
 * tls.next as a tls section of its own (its files, the shared anchors and settings), so that every
 * certificate check, the report and the bundle judge it exactly as they judge tls.
 */
export function nextTls(tls: TlsConfig): TlsConfig | undefined {
  if (!tls.next) return undefined;
  const { cert, key, keyPassphrase, pfx, pfxPassphrase } = tls.next;
  return { trustAnchors: tls.trustAnchors, allowUnknownRoots: tls.allowUnknownRoots, expiryWarningDays: tls.expiryWarningDays, cert, key, keyPassphrase, pfx, pfxPassphrase };
}
export type SmtpConfig = Config['smtp'];

/**
 * The OIN the client certificate must carry: the gemeente's own for a
 * single-gemeente file; with a gemeenten list any (null), because DUO may
 * authorise a bureau's certificate to act for each gemeente named in From.
 */
export const certificateOin = (config: Pick<Config, 'gemeenten' | 'listed'>): string | null => (config.listed ? null : config.gemeenten[0]!.municipality.oin);
