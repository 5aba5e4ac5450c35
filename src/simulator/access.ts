/**
 * Which gemeenten a caller may read. DUO registers an OIN per gemeente and
 * compares it with the subject serialNumber of the client certificate, so a
 * supplier's certificate for one gemeente cannot read another's meldingen.
 */

/**
 * The gemeenten a simulated ROD knows, each with the OIN registered for it (if
 * any) and, for a regional bureau or a supplier, the OINs of other
 * certificates DUO authorised to read it. Over REST the caller is the
 * certificate; over Edukoppeling it is the OIN in wsa:From, and which
 * certificate may act for which From OIN is the endpoint's `actingFor`.
 */
export type GemeenteRegistry = Readonly<Record<string, { oin?: string; certificates?: readonly string[] }>>;

export type Authorization = 'ok' | 'unknown-gemeente' | 'oin-mismatch';

/** Without a registry every gemeente is open to every caller, which is what a quick demo wants. */
export function authorize(gemeenten: GemeenteRegistry | undefined, gemeentecode: string, oin: string | undefined): Authorization {
  if (!gemeenten) return 'ok';
  if (!Object.hasOwn(gemeenten, gemeentecode)) return 'unknown-gemeente';
  const { oin: registered, certificates = [] } = gemeenten[gemeentecode] ?? {};
  if (registered === undefined || registered === oin) return 'ok';
  return oin !== undefined && certificates.includes(oin) ? 'ok' : 'oin-mismatch';
}

/** Why an OIN mismatch was refused, for the 403 detail. */
export function oinRefusalDetail(gemeentecode: string, oin: string | undefined): string {
  return oin
    ? `Het OIN in het certificaat is niet geregistreerd voor gemeentecode ${gemeentecode}.`
    : `Het certificaat bevat geen OIN (subject serialNumber); gemeentecode ${gemeentecode} vereist een geregistreerd OIN.`;
}

/**
 * Which client certificates DUO has registered, by the SHA-256 of their DER: a certificate ROD does
 * not know is refused as DUO refuses it (REST 403 ROD-403-OIN, Edukoppeling Client.EK0030), even
 * when it chains to the roots and carries the right OIN. A renewal registers the new one, later
 * (`registerLater`), and DUO may drop the old one at the same moment (`dropOthers`).
 */
export interface CertificateRegistration {
  /** Registered from the start. */
  registered: readonly string[];
  /** Registered `afterSeconds` after the simulator started. */
  later?: { fingerprints: readonly string[]; afterSeconds: number; dropOthers?: boolean };
}

/** "AB:CD:…" (Node's fingerprint256) or "abcd…": lower-case hex without separators. */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/[:\s]/g, '').toLowerCase();
}

export class CertificateRegistry {
  private readonly registered: Set<string>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    registration: CertificateRegistration,
    private readonly log: (event: string, fields: Record<string, unknown>) => void = () => {},
  ) {
    this.registered = new Set(registration.registered.map(normalizeFingerprint));
    const later = registration.later;
    if (later) {
      this.timer = setTimeout(() => {
        if (later.dropOthers) for (const fingerprint of [...this.registered]) this.unregister(fingerprint);
        for (const fingerprint of later.fingerprints) this.register(fingerprint);
      }, later.afterSeconds * 1000);
      this.timer.unref();
    }
  }

  isRegistered(fingerprint: string | undefined): boolean {
    return fingerprint !== undefined && this.registered.has(normalizeFingerprint(fingerprint));
  }

  register(fingerprint: string): void {
    this.registered.add(normalizeFingerprint(fingerprint));
    this.log('simulator.certificate-registered', { sha256: normalizeFingerprint(fingerprint) });
  }

  unregister(fingerprint: string): void {
    this.registered.delete(normalizeFingerprint(fingerprint));
    this.log('simulator.certificate-unregistered', { sha256: normalizeFingerprint(fingerprint) });
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** The 403 detail for a certificate DUO has not registered. */
export const UNREGISTERED_DETAIL = 'Het certificaat is niet (meer) geregistreerd bij DUO. Stuur het certificaat naar DUO om het te laten registreren.';
