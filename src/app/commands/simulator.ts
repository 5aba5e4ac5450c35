/**
 * `verzuim-relay simulator`: a ROD stand-in for demos and suppliers'
 * integration tests. It serves a generated (or loaded) feed for one gemeente
 * over mutual TLS, optionally adds activity every few seconds, and runs until
 * SIGINT or SIGTERM.
 */
import type { GemeenteRegistry } from '../../simulator/access.js';
import { readFileSync } from 'node:fs';
import { commandHelp, parseCommandLine, UsageError, type CommandSpec } from './args.js';
import { ExitCode } from '../exit-codes.js';
import { stderr, stdout, type Out } from './output.js';
import { createLogger, type Logger } from '../../observability/log.js';
import { SimulatedFeed } from '../../simulator/feed.js';
import { MeldingGenerator, advanceFeed } from '../../simulator/generate.js';
import { startSimulator } from '../../simulator/server.js';

/** The simulator's command line, declared once: the parse and `simulator --help` both come from it. */
export const SIMULATOR_COMMAND = {
  name: 'simulator',
  synopsis: '--cert FILE --key FILE --client-ca FILE',
  summary: `A stand-in for DUO's ROD (Verzuim API 1.2.0) over HTTPS with mutual TLS, with
realistic fictional meldingen. Runs until SIGINT or SIGTERM.`,
  details: `Logs JSON lines on standard output: simulator.listening (with the url for
rod.url), simulator.request per request, simulator.tick, simulator.stopped.
With --protocol edukoppeling it speaks SOAP as DUO's gateway does (WS-Addressing,
WS-Security signatures both ways) and logs simulator.edukoppeling.refused with the
fault code and the rule for every request it refuses.`,
  options: {
    cert: { type: 'string', value: 'FILE', description: 'server certificate, PEM (leaf first, then intermediates)' },
    key: { type: 'string', value: 'FILE', description: "the server certificate's private key, PEM" },
    'client-ca': { type: 'string', value: 'FILE', description: 'PEM of the root(s) client certificates must chain to' },
    port: { type: 'string', value: 'N', description: 'port to listen on (default 8443; 0 = any free port)' },
    host: { type: 'string', value: 'H', description: 'address to listen on (default 127.0.0.1; 0.0.0.0 in a container)' },
    gemeente: {
      type: 'string',
      value: 'CODE[=OIN]',
      multiple: true,
      description: 'a gemeente the feed is for, four digits (default 0344); repeat for a\nregional bureau. With =OIN: the OIN registered for it (REST: the\ncertificate\'s; Edukoppeling: the one in wsa:From); others get 403 / V403',
    },
    oin: { type: 'string', value: 'OIN', description: 'only a client certificate with this OIN (subject\nserialNumber) may read the gemeente; others get 403' },
    authorise: {
      type: 'string',
      value: 'CERT_OIN=CODE',
      multiple: true,
      description: "a certificate (by its OIN) DUO authorised for a gemeente: REST reads it,\nEdukoppeling may name the gemeente's OIN in wsa:From (a bureau's\ncertificate); the others are refused (403 / Client.EK0030)",
    },
    seed: { type: 'string', value: 'N', description: 'seed for the generated data and volgnummer gaps (default 1)' },
    meldingen: { type: 'string', value: 'N', description: 'meldingen generated at start (default 25; 0 with --fixtures)' },
    fixtures: { type: 'string', value: 'FILE', description: 'JSON: an array of feed items or a page; loaded first, in\norder; invalid items are served as they are' },
    protocol: {
      type: 'string',
      value: 'P',
      choices: ['rest', 'edukoppeling'],
      description: 'rest (default): the REST stand-in under /verzuim/v1; edukoppeling:\nSOAP with WS-Security at --soap-path, as DUO serves it',
    },
    'soap-path': { type: 'string', value: 'PATH', description: 'edukoppeling: where SOAP is posted (default\n/ROD/services/verzuim1.0)' },
    'duo-oin': { type: 'string', value: 'OIN', description: "edukoppeling: DUO's OIN, required in wsa:To and ontvangendeInstantie\n(default 00000001800866472000)" },
    'signing-cert': { type: 'string', value: 'FILE', description: 'edukoppeling: certificate that signs responses, PEM (default\n--cert); its subject serialNumber is the signer OIN clients check' },
    'signing-key': { type: 'string', value: 'FILE', description: 'edukoppeling: the signing certificate\'s private key, PEM' },
    'acting-for': {
      type: 'string',
      value: 'OIN',
      multiple: true,
      description: 'edukoppeling: an OIN any client certificate may name in wsa:From\nbesides its own (repeatable); others get Client.EK0030',
    },
    tick: { type: 'string', value: 'SECONDS', description: 'add activity (new, changed, withdrawn meldingen) every\nSECONDS (default 0 = off)' },
    registered: {
      type: 'string',
      value: 'SHA256',
      multiple: true,
      description: 'a client certificate DUO has registered, by the SHA-256 of its DER\n(hex, colons allowed; `cert check` prints it); with this option any\nother certificate is refused: 403 ROD-403-OIN / Client.EK0030',
    },
    'register-later': {
      type: 'string',
      value: 'SHA256',
      multiple: true,
      description: 'a certificate DUO registers only after --register-after SECONDS\n(a renewal under way)',
    },
    'register-after': { type: 'string', value: 'SECONDS', description: 'when the --register-later certificates are registered (default 60)' },
    'drop-on-register': { type: 'boolean', description: 'at --register-after, DUO also drops the --registered certificates' },
  },
} as const satisfies CommandSpec;

export interface SimulatorCommandIo {
  /** Default: JSON lines on standard output. */
  logger?: Logger;
  out?: Out;
  err?: Out;
  /** Stops the simulator like a signal does; for running it inside another program or a test. */
  signal?: AbortSignal;
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?[0-9]+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} expects a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function readPem(option: string, file: string | undefined): Buffer {
  if (file === undefined) throw new UsageError(`--${option} FILE is required`);
  try {
    return readFileSync(file);
  } catch (error) {
    throw new StartError(`cannot read --${option} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

class StartError extends Error {}

export async function simulatorCommand(argv: string[], io: SimulatorCommandIo = {}): Promise<number> {
  const out = io.out ?? stdout;
  const err = io.err ?? stderr;

  let settings;
  try {
    const { values, help } = parseCommandLine(SIMULATOR_COMMAND, argv);
    if (help) {
      out(commandHelp(SIMULATOR_COMMAND));
      return ExitCode.OK;
    }
    const gemeenten = (values.gemeente ?? ['0344']).map((given) => {
      const [code = '', registered] = given.split('=');
      if (!/^[0-9]{4}$/.test(code)) throw new UsageError(`--gemeente expects a CBS code of four digits, e.g. 0344, got "${given}"`);
      if (registered !== undefined && !/^[0-9]{20}$/.test(registered)) throw new UsageError(`--gemeente ${code}=OIN expects an OIN of 20 digits, got "${registered}"`);
      return { code, oin: registered };
    });
    if (new Set(gemeenten.map((g) => g.code)).size !== gemeenten.length) throw new UsageError('--gemeente: each gemeente once');
    const gemeentecode = gemeenten[0]!.code;
    const oin = values.oin;
    if (oin !== undefined && !/^[0-9]{20}$/.test(oin)) throw new UsageError(`--oin expects an OIN of 20 digits, got "${oin}"`);
    if (oin !== undefined && gemeenten.length > 1) throw new UsageError('--oin is for one gemeente; with several, give each its OIN as --gemeente CODE=OIN');
    const authorisations = (values.authorise ?? []).map((given) => {
      const [certificateOin = '', code = ''] = given.split('=');
      if (!/^[0-9]{20}$/.test(certificateOin) || !gemeenten.some((g) => g.code === code)) {
        throw new UsageError(`--authorise expects CERT_OIN=CODE with an OIN of 20 digits and a gemeente given with --gemeente, got "${given}"`);
      }
      return { certificateOin, code };
    });
    const fixtures = values.fixtures;
    const tick = values.tick ?? '0';
    if (!/^[0-9]+(\.[0-9]+)?$/.test(tick)) throw new UsageError(`--tick expects a number of seconds (0 = off), got "${tick}"`);
    const protocol = (values.protocol ?? 'rest') as 'rest' | 'edukoppeling';
    const soapOnly = ['soap-path', 'duo-oin', 'signing-cert', 'signing-key', 'acting-for'] as const;
    for (const name of soapOnly) {
      if (protocol !== 'edukoppeling' && values[name] !== undefined) throw new UsageError(`--${name} needs --protocol edukoppeling`);
    }
    const duoOin = values['duo-oin'];
    if (duoOin !== undefined && !/^[0-9]{20}$/.test(duoOin)) throw new UsageError(`--duo-oin expects an OIN of 20 digits, got "${duoOin}"`);
    const actingFor = values['acting-for'] ?? [];
    for (const other of actingFor) if (!/^[0-9]{20}$/.test(other)) throw new UsageError(`--acting-for expects an OIN of 20 digits, got "${other}"`);
    if ((values['signing-cert'] === undefined) !== (values['signing-key'] === undefined)) throw new UsageError('--signing-cert and --signing-key go together');
    const soapPath = values['soap-path'];
    if (soapPath !== undefined && !/^\/[A-Za-z0-9._~/-]*$/.test(soapPath)) throw new UsageError(`--soap-path expects a path starting with /, got "${soapPath}"`);
    const fingerprint = (name: string, value: string) => {
      if (!/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/.test(value)) throw new UsageError(`--${name} expects a SHA-256 fingerprint (64 hex digits, colons allowed), got "${value}"`);
      return value;
    };
    const registered = (values.registered ?? []).map((v) => fingerprint('registered', v));
    const later = (values['register-later'] ?? []).map((v) => fingerprint('register-later', v));
    const registerAfter = values['register-after'] ?? '60';
    if (!/^[0-9]+(\.[0-9]+)?$/.test(registerAfter)) throw new UsageError(`--register-after expects a number of seconds, got "${registerAfter}"`);
    if (later.length === 0 && (values['register-after'] !== undefined || values['drop-on-register'])) throw new UsageError('--register-after and --drop-on-register need --register-later');
    settings = {
      ...(registered.length > 0 || later.length > 0
        ? { certificates: { registered, ...(later.length > 0 ? { later: { fingerprints: later, afterSeconds: Number(registerAfter), dropOthers: values['drop-on-register'] === true } } : {}) } }
        : {}),
      protocol,
      edukoppeling: {
        ...(soapPath !== undefined ? { path: soapPath } : {}),
        ...(duoOin !== undefined ? { duoOin } : {}),
        ...(values['signing-cert'] !== undefined ? { signer: { cert: readPem('signing-cert', values['signing-cert']), key: readPem('signing-key', values['signing-key']) } } : {}),
        ...(actingFor.length > 0 || authorisations.length > 0 ? { actingFor: actingForOf(actingFor, authorisations, gemeenten) } : {}),
      },
      gemeenten,
      registry: registryOf(gemeenten, oin, authorisations),
      port: integer('port', values.port, 8443, 0, 65535),
      host: values.host ?? '127.0.0.1',
      gemeentecode,
      oin,
      seed: integer('seed', values.seed, 1, 0, 2 ** 32 - 1),
      meldingen: integer('meldingen', values.meldingen, fixtures === undefined ? 25 : 0, 0, 250_000),
      fixtures,
      tickSeconds: Number(tick),
      cert: readPem('cert', values.cert),
      key: readPem('key', values.key),
      clientCa: readPem('client-ca', values['client-ca']),
    };
  } catch (error) {
    if (error instanceof UsageError) {
      err(`verzuim-relay simulator: ${error.message} (verzuim-relay simulator --help lists the options)`);
      return ExitCode.USAGE;
    }
    if (error instanceof StartError) {
      err(`verzuim-relay simulator: ${error.message}`);
      return ExitCode.FAILURE;
    }
    throw error;
  }

  const logger = io.logger ?? createLogger({ base: { component: 'simulator' } });
  const feed = new SimulatedFeed({ seed: settings.seed });
  const generators = settings.gemeenten.map((g, i) => new MeldingGenerator({ seed: settings.seed + i, gemeentecode: g.code }));

  let loaded = 0;
  if (settings.fixtures !== undefined) {
    try {
      loaded = feed.loadFixtures(settings.fixtures);
    } catch (error) {
      err(`verzuim-relay simulator: ${(error as Error).message}`);
      return ExitCode.FAILURE;
    }
  }
  if (settings.meldingen > 0) {
    // New meldingen first, then some history on them, so the feed starts with a few changes and withdrawals.
    for (const gen of generators) advanceFeed(feed, gen, { nieuw: settings.meldingen, wijzigingen: 0, intrekkingen: 0 });
    for (const gen of generators) {
      advanceFeed(feed, gen, {
        nieuw: 0,
        wijzigingen: Math.floor(settings.meldingen / 5),
        intrekkingen: Math.floor(settings.meldingen / 12),
      });
    }
  }

  let simulator;
  try {
    simulator = await startSimulator({
      host: settings.host,
      port: settings.port,
      cert: settings.cert,
      key: settings.key,
      clientCa: settings.clientCa,
      feed,
      protocol: settings.protocol,
      edukoppeling: settings.edukoppeling,
      ...(settings.registry !== undefined ? { gemeenten: settings.registry } : {}),
      ...(settings.certificates ? { certificates: settings.certificates } : {}),
      log: (event, fields) => logger.info(event, fields),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? `: port ${settings.port} is in use, choose another with --port` : '';
    err(`verzuim-relay simulator: cannot start on ${settings.host}:${settings.port}: ${(error as Error).message}${hint}`);
    return ExitCode.FAILURE;
  }

  logger.info('simulator.listening', {
    url: simulator.url,
    port: simulator.port,
    protocol: settings.protocol,
    gemeentecode: settings.gemeentecode,
    gemeenten: settings.gemeenten.map((g) => g.code),
    oinCheck: settings.registry !== undefined,
    certificateCheck: settings.certificates !== undefined,
    seed: settings.seed,
    fixtures: loaded,
    // A count, not meldingen().length: that copies and sorts every melding (seconds with 150,000).
    meldingen: feed.meldingCount,
    mutaties: feed.size,
    laatsteVolgnummer: feed.lastVolgnummer,
  });

  let timer: NodeJS.Timeout | undefined;
  if (settings.tickSeconds > 0) {
    timer = setInterval(() => {
      const gen = generators[Math.floor(generators[0]!.random.int(0, generators.length - 1))]!;
      const r = gen.random;
      const step = { nieuw: r.int(1, 3), wijzigingen: r.int(0, 2), intrekkingen: r.chance(0.3) ? 1 : 0 };
      advanceFeed(feed, gen, step);
      logger.info('simulator.tick', { ...step, laatsteVolgnummer: feed.lastVolgnummer });
    }, settings.tickSeconds * 1000);
  }

  let stop: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onSigint = () => stop('SIGINT');
  const onSigterm = () => stop('SIGTERM');
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  if (io.signal?.aborted) stop('abort');
  io.signal?.addEventListener('abort', () => stop('abort'), { once: true });
  const reason = await stopped;
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);

  if (timer) clearInterval(timer);
  logger.info('simulator.stopping', { reason });
  await simulator.close();
  logger.info('simulator.stopped', { requests: feed.requests.length });
  logger.flush();
  return ExitCode.OK;
}

/**
 * Which gemeenten ROD knows and who may read them: only when an OIN is
 * registered somewhere (else every gemeente is open to every caller, as a
 * quick demo wants).
 */
function registryOf(
  gemeenten: readonly { code: string; oin?: string }[],
  oin: string | undefined,
  authorisations: readonly { certificateOin: string; code: string }[],
): GemeenteRegistry | undefined {
  if (oin === undefined && gemeenten.every((g) => g.oin === undefined) && authorisations.length === 0) return undefined;
  return Object.fromEntries(
    gemeenten.map((g) => [
      g.code,
      {
        oin: g.oin ?? oin,
        certificates: authorisations.filter((a) => a.code === g.code).map((a) => a.certificateOin),
      },
    ]),
  );
}

/** Edukoppeling: the From OINs each certificate may name, from --acting-for (any certificate) and --authorise. */
function actingForOf(
  any: readonly string[],
  authorisations: readonly { certificateOin: string; code: string }[],
  gemeenten: readonly { code: string; oin?: string }[],
): Record<string, string[]> {
  const map: Record<string, string[]> = any.length > 0 ? { '*': [...any] } : {};
  for (const a of authorisations) {
    const fromOin = gemeenten.find((g) => g.code === a.code)?.oin;
    if (fromOin !== undefined) (map[a.certificateOin] ??= []).push(fromOin);
  }
  return map;
}
