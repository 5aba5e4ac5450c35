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
