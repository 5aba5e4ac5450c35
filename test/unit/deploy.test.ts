/**
 * The deployment files cannot be applied here (no container engine, no
 * cluster), so this reads them: every file parses, the facts an administrator
 * relies on hold (one writer, non-root, read-only root, probes, stop time),
 * and the configurations they ship pass the relay's own schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { RELAY_ENV, RELAY_NODE_FLAGS } from '../../src/app/node-flags.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const DEPLOY = path.join(REPO, 'deploy');
const K8S = path.join(DEPLOY, 'kubernetes');

type Tree = Record<string, any>; // parsed YAML: the assertions check the shape

function documents(file: string): Tree[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: true });
  for (const d of docs) expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
  return docs.map((d) => d.toJS() as Tree);
}

function kubernetes(kind: string): Tree {
  const all = readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => documents(path.join(K8S, f)));
  const found = all.filter((d) => d.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
}

/** The stop time the Dockerfile documents, in seconds. */
function documentedStopSeconds(): number {
  const label = /nl\.verzuim-relay\.stop-timeout-seconds="(\d+)"/.exec(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'));
  expect(label, 'the Dockerfile documents its stop time in a label').not.toBeNull();
  return Number(label![1]);
}

describe('deploy/kubernetes', () => {
  it('every file parses as YAML and names its kind', () => {
    for (const f of readdirSync(K8S).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of documents(path.join(K8S, f))) expect(doc.kind, f).toEqual(expect.any(String));
    }
  });

  it('one replica, Recreate: one writer on the SQLite file, also during an update', () => {
    const deployment = kubernetes('Deployment');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(kubernetes('PersistentVolumeClaim').spec.accessModes).toEqual(['ReadWriteOnce']);
  });

  it('non-root by number, read-only root file system, /tmp an emptyDir, no privilege escalation', () => {
    const pod = kubernetes('Deployment').spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    const [relay] = pod.containers;
    expect(relay.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const tmp = relay.volumeMounts.find((m: Tree) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: Tree) => v.name === tmp.name).emptyDir).toBeDefined();
    const data = relay.volumeMounts.find((m: Tree) => m.mountPath === '/data');
    expect(pod.volumes.find((v: Tree) => v.name === data.name).persistentVolumeClaim.claimName).toBe(kubernetes('PersistentVolumeClaim').metadata.name);
  });

  it('the certificate and the SMTP password come from Secrets as files, not the environment', () => {
    const pod = kubernetes('Deployment').spec.template.spec;
    const [relay] = pod.containers;
    const secretMounts = relay.volumeMounts
      .map((m: Tree) => ({ m, v: pod.volumes.find((v: Tree) => v.name === m.name) }))
      .filter(({ v }: { v: Tree }) => v.secret)
      .map(({ m, v }: { m: Tree; v: Tree }) => [m.mountPath, v.secret.secretName]);
    expect(secretMounts).toEqual([
      ['/certs', 'verzuim-relay-tls'],
      ['/secrets/smtp', 'verzuim-relay-smtp'],
    ]);
    expect(relay.env).toContainEqual({ name: 'SMTP_PASSWORD_FILE', value: '/secrets/smtp/password' });
    expect(JSON.stringify(relay.env)).not.toMatch(/secretKeyRef/);
  });

  it('liveness and readiness are exec probes of the healthcheck; the grace period covers the stop time', () => {
    const pod = kubernetes('Deployment').spec.template.spec;
    const [relay] = pod.containers;
    expect(relay.livenessProbe.exec.command).toEqual(['node', 'dist/app/cli.js', 'healthcheck', '--liveness']);
    expect(relay.readinessProbe.exec.command).toEqual(['node', 'dist/app/cli.js', 'healthcheck', '--readiness']);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(documentedStopSeconds());
  });

  it("the ConfigMap's configuration passes the relay's schema and points at the mounts", () => {
    const text = kubernetes('ConfigMap').data['verzuim-relay.yaml'] as string;
    const config = parseConfig(text, '/config/verzuim-relay.yaml', { SMTP_PASSWORD: 'x' });
    expect(config.storage.path).toBe('/data/verzuim-relay.db');
    expect(config.tls.cert).toBe('/certs/client.crt');
    expect(config.tls.key).toBe('/certs/client.key');
  });

  it('kustomization.yaml names files that exist', () => {
    const [kustomization] = documents(path.join(K8S, 'kustomization.yaml'));
    for (const f of kustomization!.resources as string[]) expect(readdirSync(K8S)).toContain(f);
  });
});

describe('deploy/compose.yaml', () => {
  const compose = documents(path.join(DEPLOY, 'compose.yaml'))[0]!;

  it('the relay: non-root by number, read-only, secrets as files, a named volume for /data, the stop time', () => {
    const relay = compose.services.relay;
    expect(relay.user).toBe('1000:1000');
    expect(relay.read_only).toBe(true);
    expect(relay.secrets).toEqual(expect.arrayContaining(['smtp_password', 'client_key']));
    expect(relay.environment.SMTP_PASSWORD_FILE).toBe('/run/secrets/smtp_password');
    const data = (relay.volumes as string[]).find((v) => v.split(':')[1] === '/data')!;
    expect(Object.keys(compose.volumes)).toContain(data.split(':')[0]);
    expect(Number.parseInt(relay.stop_grace_period as string, 10)).toBeGreaterThanOrEqual(documentedStopSeconds());
    expect(relay.deploy?.replicas ?? 1).toBe(1);
  });

  it('a mail catcher and the simulator for the trial', () => {
    expect(compose.services.mailpit.image).toMatch(/mailpit/);
    expect(compose.services.simulator.command[0]).toBe('simulator');
  });

  it("the trial's configuration passes the relay's schema and reaches the trial's services", () => {
    const text = readFileSync(path.join(DEPLOY, 'trial/verzuim-relay.yaml'), 'utf8');
    expect(parse(text)).toBeTruthy();
    const config = parseConfig(text, '/config/verzuim-relay.yaml', { SMTP_PASSWORD: 'x' });
    expect(config.smtp.host).toBe('mailpit');
    expect(config.rod.url).toMatch(/^https:\/\/simulator:8443\//);
    expect(config.storage.path).toBe('/data/verzuim-relay.db');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
  it('runs as a numeric user, labels its version from a build argument, and declares its stop signal', () => {
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/^ARG VERSION=/m);
    expect(dockerfile).toContain('org.opencontainers.image.version="${VERSION}"');
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
  });

  // node-flags.ts is what the bench measures with; the image and the CLI's shebang must start the relay the same way.
  it("starts node with the relay's flags and environment (src/app/node-flags.ts), as the CLI's shebang does", () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
    expect(entrypoint, 'an ENTRYPOINT in exec form').not.toBeNull();
    expect(JSON.parse(entrypoint![1]!)).toEqual(['node', ...RELAY_NODE_FLAGS, 'dist/app/cli.js']);
    const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n');
    const env = Object.fromEntries(
      instructions.filter((line) => line.startsWith('ENV ')).flatMap((line) => line.slice(4).trim().split(/\s+/).map((pair) => pair.split('=', 2))),
    );
    for (const [name, value] of Object.entries(RELAY_ENV)) expect(env[name], `ENV ${name}`).toBe(value);
    const shebang = readFileSync(path.join(REPO, 'src/app/cli.ts'), 'utf8').split('\n')[0];
    const assignments = Object.entries(RELAY_ENV).map(([name, value]) => `${name}=${value}`).join(' ');
    expect(shebang).toBe(`#!/usr/bin/env -S ${assignments} node ${RELAY_NODE_FLAGS.join(' ')}`);
  });
});
