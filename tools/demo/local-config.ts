/**
 * The configuration of a relay on this machine alone: the test PKI in pki/,
 * the database in data/ (both relative to the file), the simulator and the
 * mail catcher on localhost. Written by the demo and the benchmark.
 */
export const DEMO_GEMEENTECODE = '0344';
export const DEMO_OIN = '00000001002220647000';

export function localConfig(o: { rodUrl: string; smtpPort: number; pageSize: number; protocol: 'edukoppeling' | 'rest'; next?: { cert: string; key: string } }): string {
  const next = o.next ? `\n  next:                     # the renewed certificate, while DUO registers it\n    cert: ${o.next.cert}\n    key: ${o.next.key}` : '';
  return `# Written by verzuim-relay for a run on this machine alone. Paths are relative to this file.
municipality:
  code: "${DEMO_GEMEENTECODE}"
  name: Utrecht
  oin: "${DEMO_OIN}"
rod:
  protocol: ${o.protocol}
  url: ${o.rodUrl}
  pageSize: ${o.pageSize}
  timeoutSeconds: 10
tls:
  cert: pki/client.crt
  key: pki/client.key
  trustAnchors: pki/root.pem
  allowUnknownRoots: true   # the demo's TRIAL root is not a PKIoverheid root${next}
routing:
  instances:
    leerplicht: { name: Leerplicht Utrecht, email: leerplicht@utrecht.example }
    rmc:        { name: Doorstroompunt regio Utrecht, email: doorstroompunt@utrecht.example }
    handhaving: { name: Team handhaving, email: handhaving@utrecht.example }
    zorg:       { name: Zorgteam, email: leerplicht@utrecht.example }
  verzuimsoorten:
    ZESTIEN_UUR: leerplicht
    LANGDURIG_RELATIEF: zorg
    LUXE: handhaving
    DOORSTROOMPUNT_18PLUS: rmc
    OVERIG: leerplicht
  unknown: leerplicht
smtp:
  host: localhost
  port: ${o.smtpPort}
  secure: false
  requireTLS: true
  from: "Verzuimrelay Utrecht <verzuim-relay@utrecht.example>"
  ca: pki/root.pem
storage:
  path: data/verzuim-relay.db
alerts:
  email: applicatiebeheer@utrecht.example
`;
}
