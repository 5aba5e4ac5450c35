/**
 * Which gemeenten a caller may read. DUO registers an OIN per gemeente and
 * compares it with the subject serialNumber of the client certificate, so a
 * supplier's certificate for one gemeente cannot read another's meldingen.
 */

/** The gemeenten a simulated ROD knows, each with the OIN registered for it (if any). */
export type GemeenteRegistry = Readonly<Record<string, { oin?: string }>>;

export type Authorization = 'ok' | 'unknown-gemeente' | 'oin-mismatch';

/** Without a registry every gemeente is open to every caller, which is what a quick demo wants. */
export function authorize(gemeenten: GemeenteRegistry | undefined, gemeentecode: string, oin: string | undefined): Authorization {
  if (!gemeenten) return 'ok';
  if (!Object.hasOwn(gemeenten, gemeentecode)) return 'unknown-gemeente';
  const registered = gemeenten[gemeentecode]?.oin;
  return registered !== undefined && registered !== oin ? 'oin-mismatch' : 'ok';
}

/** Why an OIN mismatch was refused, for the 403 detail. */
export function oinRefusalDetail(gemeentecode: string, oin: string | undefined): string {
  return oin
    ? `Het OIN in het certificaat is niet geregistreerd voor gemeentecode ${gemeentecode}.`
    : `Het certificaat bevat geen OIN (subject serialNumber); gemeentecode ${gemeentecode} vereist een geregistreerd OIN.`;
}
