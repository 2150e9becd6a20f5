/**
 * deploy/: every overlay renders; the bot's Deployment is hardened and probed; the store decides the
 * replica count; the public routes reach the Service; RBAC grants exactly what src/ needs; settings live
 * in a hashed, generated ConfigMap so that changing one rolls the pods; the example site replaces the
 * placeholder image; Redis runs under OpenShift's restricted-v2 SCC.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describe as describeObject,
  isRecord,
  podContainers,
  readObjects,
  realKustomize,
  renderKustomization,
  type KubeObject,
} from './kustomize.ts';
import { findKubeCalls, grantedPermissions, permissionKey, PLANNED, USED, type Permission } from './kube-permissions.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const OVERLAYS = [
  'base',
  'overlays/ingress',
  'overlays/openshift',
  'overlays/redis-replicas',
  'overlays/openshift-redis-replicas',
  'overlays/example-site',
] as const;
const BOT = 'vteam-slack';
const REDIS = 'vteam-slack-redis';
/** deploy/base/deployment.yaml's image: a name no registry serves, replaced by a site's `images:`. */
const PLACEHOLDER_IMAGE = 'vteam-slack:set-in-your-overlay';
const rendered = new Map(OVERLAYS.map((overlay) => [overlay, renderKustomization(join(ROOT, 'deploy', overlay))]));

function objectsOf(overlay: string): KubeObject[] {
  const objects = rendered.get(overlay as (typeof OVERLAYS)[number]);
  if (!objects) throw new Error(`overlay ${overlay} was not rendered`);
  return objects;
}

function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`${kind} ${name} is not rendered`);
  return object;
}

type Rec = Record<string, unknown>;
const rec = (value: unknown): Rec => (isRecord(value) ? value : {});
const recs = (value: unknown): Rec[] => (Array.isArray(value) ? value.filter(isRecord) : []);

function podSpec(deployment: KubeObject): Rec {
  return rec(rec(rec(deployment.spec).template).spec);
}

function botContainer(deployment: KubeObject): Rec {
  const container = podContainers(deployment).find((c) => c.name === BOT);
  if (!container) throw new Error('the bot container is missing');
  return container;
}

/** The bot's effective environment as Kubernetes builds it: envFrom in order, then env (which wins). */
function effectiveEnv(objects: KubeObject[], container: Rec): Map<string, string> {
  const env = new Map<string, string>();
  for (const source of recs(container.envFrom)) {
    const configMap = rec(source.configMapRef);
    if (configMap.name !== undefined) {
      for (const [key, value] of Object.entries(rec(find(objects, 'ConfigMap', String(configMap.name)).data))) env.set(key, String(value));
    }
  }
  // $(NAME) expands to an earlier literal value; a value from a Secret stays a reference.
  for (const variable of recs(container.env)) {
    if (typeof variable.value !== 'string') continue;
    env.set(
      String(variable.name),
      variable.value.replace(/\$\((\w+)\)/g, (whole, name: string) => env.get(name) ?? whole),
    );
  }
  return env;
}

function sortedIds(objects: KubeObject[]): string[] {
  return objects.map(describeObject).sort();
}

describe.each(OVERLAYS)('deploy/%s', (overlay) => {
  const objects = objectsOf(overlay);
  const deployment = find(objects, 'Deployment', BOT);
  const namespace = deployment.metadata.namespace ?? '';
  const pod = podSpec(deployment);
  const container = botContainer(deployment);
  const env = effectiveEnv(objects, container);

  it('renders the same objects as kubectl kustomize, where kubectl is installed', (context) => {
    const real = realKustomize(join(ROOT, 'deploy', overlay));
    if (!real) {
      context.skip('neither kubectl nor kustomize is installed; the built-in renderer alone was used');
      return;
    }
    expect(sortedIds(objects)).toEqual(sortedIds(real));
    for (const object of real) expect(objects.find((o) => describeObject(o) === describeObject(object))).toEqual(object);
  });

  it("puts every namespaced object in the bot's namespace", () => {
    expect(namespace).toBe('vteam-slack');
    for (const object of objects) {
      if (['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind)) expect(object.metadata.namespace).toBeUndefined();
      else expect(object.metadata.namespace, describeObject(object)).toBe(namespace);
    }
  });

  it('runs the bot as non-root on a read-only root filesystem with /tmp writable', () => {
    expect(rec(pod.securityContext).runAsNonRoot).toBe(true);
    expect(rec(rec(pod.securityContext).seccompProfile).type).toBe('RuntimeDefault');
    expect(rec(pod.securityContext).runAsUser ?? 1000).not.toBe(0);
    const security = rec(container.securityContext);
    expect(security).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(rec(security.capabilities).drop).toEqual(['ALL']);
    const tmpMount = recs(container.volumeMounts).find((m) => m.mountPath === '/tmp');
    const tmpVolume = recs(pod.volumes).find((v) => v.name === tmpMount?.name);
    expect(tmpVolume?.emptyDir).toBeDefined();
    expect(pod.serviceAccountName).toBe(BOT);
    find(objects, 'ServiceAccount', BOT);
  });

  it('has requests, limits and probes on the routes the app serves', () => {
    const resources = rec(container.resources);
    for (const kind of ['requests', 'limits']) {
      expect(rec(resources[kind]).cpu, kind).toBeTruthy();
      expect(rec(resources[kind]).memory, kind).toBeTruthy();
    }
    const ports = recs(container.ports);
    expect(ports).toContainEqual({ name: 'http', containerPort: 3000 });
    expect(env.get('PORT')).toBe('3000');
    expect(rec(rec(container.livenessProbe).httpGet)).toMatchObject({ path: '/healthz', port: 'http' });
    expect(rec(rec(container.readinessProbe).httpGet)).toMatchObject({ path: '/readyz', port: 'http' });
    expect(rec(rec(container.startupProbe).httpGet)).toMatchObject({ path: '/healthz', port: 'http' });
    // The app waits up to 25 s for in-flight publishes after SIGTERM.
    expect(Number(pod.terminationGracePeriodSeconds)).toBeGreaterThan(25);
  });

  it('reads configuration from the ConfigMap, then the Secret, and runs in production mode', () => {
    const sources = recs(container.envFrom);
    expect(sources.map((s) => Object.keys(s)[0])).toEqual(['configMapRef', 'secretRef']);
    expect(rec(sources[1]?.secretRef).name).toBe(BOT);
    expect(env.get('NODE_ENV')).toBe('production');
    // Production refuses to start without PUBLIC_URL (src/config/config.ts).
    expect(env.get('PUBLIC_URL')).toMatch(/^https:\/\/[^/]+/);
    expect(String(container.image)).toMatch(/^[^:@]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
    expect(String(container.image)).not.toMatch(/:latest$/);
    // The Secret itself is never part of the rendered output: it is created by the operator.
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('runs one replica, recreated, on the embedded store; several, rolling, on Redis', () => {
    const spec = rec(deployment.spec);
    const store = env.get('STORE_URL') ?? '';
    const claims = recs(pod.volumes).filter((v) => v.persistentVolumeClaim !== undefined);
    if (store.startsWith('sqlite:')) {
      expect(spec.replicas).toBe(1);
      expect(rec(spec.strategy).type).toBe('Recreate');
      // The SQLite file is on the PVC mounted at /app/data.
      expect(store).toBe('sqlite:///app/data/vteam-slack.sqlite');
      const mount = recs(container.volumeMounts).find((m) => m.mountPath === '/app/data');
      const volume = claims.find((v) => v.name === mount?.name);
      const claimName = String(rec(volume?.persistentVolumeClaim).claimName);
      expect(rec(find(objects, 'PersistentVolumeClaim', claimName).spec).accessModes).toEqual(['ReadWriteOnce']);
      expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    } else {
      expect(store).toMatch(/^rediss?:\/\//);
      expect(Number(spec.replicas)).toBeGreaterThan(1);
      expect(rec(spec.strategy).type).toBe('RollingUpdate');
      expect(claims).toEqual([]);
      expect(objects.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === 'vteam-slack-data')).toBe(false);
      const pdb = find(objects, 'PodDisruptionBudget', BOT);
      expect(rec(rec(pdb.spec).selector).matchLabels).toEqual(rec(rec(spec.selector).matchLabels));
      // The Redis host named in STORE_URL is a rendered Service.
      const host = new URL(store.replace('$(REDIS_PASSWORD)', 'x')).hostname;
      find(objects, 'Service', host);
    }
  });

  it("routes Slack requests and the OAuth callback, and only those, to the bot's Service", () => {
    const service = find(objects, 'Service', BOT);
    const selector = rec(rec(service.spec).selector);
    const podLabels = rec(rec(rec(rec(deployment.spec).template).metadata).labels);
    for (const [key, value] of Object.entries(selector)) expect(podLabels[key]).toBe(value);
    expect(recs(rec(service.spec).ports).map((p) => p.targetPort)).toEqual(['http']);

    const ingresses = objects.filter((o) => o.kind === 'Ingress');
    const routes = objects.filter((o) => o.kind === 'Route');
    const exposed: string[] = [];
    for (const ingress of ingresses) {
      expect(recs(rec(ingress.spec).tls).length).toBeGreaterThan(0);
      for (const rule of recs(rec(ingress.spec).rules)) {
        for (const path of recs(rec(rule.http).paths)) {
          expect(rec(rec(path.backend).service)).toEqual({ name: BOT, port: { name: 'http' } });
          exposed.push(String(path.path));
        }
      }
    }
    for (const route of routes) {
      const spec = rec(route.spec);
      expect(rec(spec.to)).toMatchObject({ kind: 'Service', name: BOT });
      expect(rec(spec.tls).termination).toBe('edge');
      exposed.push(String(spec.path));
    }
    if (overlay === 'base') expect(exposed).toEqual([]);
    else expect(exposed.sort()).toEqual(['/oauth', '/slack/events']);
    if (overlay.startsWith('overlays/openshift')) expect(routes).toHaveLength(2);
    if (routes.length > 0) {
      // restricted-v2 assigns the fsGroup itself and refuses pods that pin one.
      expect(rec(pod.securityContext).fsGroup).toBeUndefined();
    }
  });

  it('serves the OAuth callback on the host PUBLIC_URL names', () => {
    const publicHost = new URL(env.get('PUBLIC_URL') ?? '').host;
    const hosts = [
      ...objects
        .filter((o) => o.kind === 'Ingress')
        .flatMap((o) => [
          ...recs(rec(o.spec).rules).map((r) => r.host),
          ...recs(rec(o.spec).tls).flatMap((t) => (Array.isArray(t.hosts) ? t.hosts : [])),
        ]),
      ...objects.filter((o) => o.kind === 'Route').map((o) => rec(o.spec).host),
    ];
    for (const host of hosts) expect(host).toBe(publicHost);
  });

  it('keeps every pod within the "restricted" Pod Security Standard its namespace enforces', () => {
    expect(rec(find(objects, 'Namespace', namespace).metadata.labels)['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const workload of objects.filter((o) => o.kind === 'Deployment')) {
      const spec = podSpec(workload);
      const podSecurity = rec(spec.securityContext);
      expect(rec(podSecurity.seccompProfile).type, describeObject(workload)).toBe('RuntimeDefault');
      for (const c of podContainers(workload)) {
        const security = rec(c.securityContext);
        expect(security.runAsNonRoot ?? podSecurity.runAsNonRoot, describeObject(workload)).toBe(true);
        expect(security.allowPrivilegeEscalation, describeObject(workload)).toBe(false);
        expect(rec(security.capabilities).drop, describeObject(workload)).toEqual(['ALL']);
        expect(security.privileged ?? false).toBe(false);
        expect(rec(c.resources).limits, `${describeObject(workload)} limits`).toBeDefined();
      }
      expect(spec.hostNetwork ?? false).toBe(false);
    }
  });

  it('reads its settings from a generated ConfigMap named after its content, so a change rolls the pods', () => {
    const configMaps = recs(container.envFrom)
      .map((source) => rec(source.configMapRef).name)
      .filter((name) => name !== undefined);
    expect(configMaps).toHaveLength(1);
    // kustomize's hash suffix: 10 hex digits, with 0, 1, 3, a and e re-encoded as g, h, k, m and t.
    expect(String(configMaps[0])).toMatch(/^vteam-slack-[2456789bcdfghkmt]{10}$/);
    const configMap = find(objects, 'ConfigMap', String(configMaps[0]));
    expect(configMap.metadata.labels).toEqual({ 'app.kubernetes.io/name': BOT });
    expect(configMap.metadata.annotations).toBeUndefined();
    // Every ConfigMap a pod refers to is rendered under that (hashed) name.
    for (const workload of objects) {
      for (const c of podContainers(workload)) {
        const names = [
          ...recs(c.envFrom).map((source) => rec(source.configMapRef).name),
          ...recs(c.env).map((variable) => rec(rec(variable.valueFrom).configMapKeyRef).name),
        ].filter((name) => name !== undefined);
        for (const name of names) find(objects, 'ConfigMap', String(name));
      }
    }
  });

  it('runs the image a site names, or the placeholder that no registry serves', () => {
    if (overlay === 'overlays/example-site') {
      expect(container.image).toBe('registry.example.org/platform/vteam-slack:0.1.0');
    } else {
      expect(container.image).toBe(PLACEHOLDER_IMAGE);
    }
  });

  it("runs Redis, where bundled, as OpenShift's restricted-v2 SCC requires, and as a fixed non-root UID elsewhere", (context) => {
    const redis = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === REDIS);
    if (!redis) {
      context.skip('no bundled Redis in this overlay');
      return;
    }
    const redisPod = podSpec(redis);
    const podSecurity = rec(redisPod.securityContext);
    const [redisContainer, ...others] = podContainers(redis);
    expect(others).toEqual([]);
    const security = rec(redisContainer?.securityContext);
    expect(podSecurity.runAsNonRoot).toBe(true);
    expect(rec(podSecurity.seccompProfile).type).toBe('RuntimeDefault');
    expect(security).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(rec(security.capabilities).drop).toEqual(['ALL']);
    expect(rec(security.capabilities).add).toBeUndefined();
    expect(security.privileged ?? false).toBe(false);
    // The image's entrypoint starts redis-server itself (and drops privileges only when it runs as root):
    // no command of our own, and every file goes to the writable /data.
    expect(redisContainer?.command).toBeUndefined();
    const args = (redisContainer?.args as string[] | undefined) ?? [];
    expect(args[args.indexOf('--dir') + 1]).toBe('/data');
    const dataMount = recs(redisContainer?.volumeMounts).find((m) => m.mountPath === '/data');
    const dataVolume = recs(redisPod.volumes).find((v) => v.name === dataMount?.name);
    expect(dataVolume?.persistentVolumeClaim ?? dataVolume?.emptyDir).toBeDefined();
    if (dataVolume?.persistentVolumeClaim !== undefined) {
      find(objects, 'PersistentVolumeClaim', String(rec(dataVolume.persistentVolumeClaim).claimName));
    }
    const pinned = [podSecurity, security].flatMap((s) => ['runAsUser', 'runAsGroup', 'fsGroup'].filter((key) => s[key] !== undefined));
    if (objects.some((o) => o.kind === 'Route')) {
      // OpenShift: the SCC assigns the UID, GID and fsGroup from the project's range (group 0 too) and
      // refuses a pod that names its own; the assigned fsGroup makes the PVC writable.
      expect(pinned, 'restricted-v2 refuses a fixed runAsUser/runAsGroup/fsGroup').toEqual([]);
    } else {
      // Kubernetes: nobody assigns a UID, and the image's default user is root, which runAsNonRoot refuses.
      expect(Number(podSecurity.runAsUser)).toBeGreaterThan(0);
      expect(podSecurity.fsGroup).toBeDefined();
    }
  });

  it('grants the ServiceAccount exactly the permissions src/ needs (used now, or planned with a reason)', () => {
    const granted = grantedPermissions(objects, BOT, namespace).map(permissionKey).sort();
    const needed = [...USED.flatMap((u) => u.permissions), ...PLANNED.map((p) => p.permission)];
    expect(granted).toEqual([...new Set(needed.map(permissionKey))].sort());
    expect(granted.join('\n')).not.toMatch(/\*/);
  });
});

describe('deploy/components/redis', () => {
  it("pins no UID, GID or fsGroup anywhere, so OpenShift's restricted-v2 SCC admits the pod in any overlay", () => {
    const objects = readObjects(join(ROOT, 'deploy/components/redis/redis.yaml'));
    const redis = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === REDIS);
    expect(redis).toBeDefined();
    expect(JSON.stringify(objects)).not.toMatch(/"(runAsUser|runAsGroup|fsGroup|supplementalGroups)"/);
    const kustomization = readFileSync(join(ROOT, 'deploy/components/redis/kustomization.yaml'), 'utf8');
    expect(kustomization).not.toMatch(/runAsUser|runAsGroup|fsGroup/);
    // The fixed UID lives in its own component, which only the plain-Kubernetes overlays use.
    const openshift = objectsOf('overlays/openshift-redis-replicas').find((o) => o.kind === 'Deployment' && o.metadata.name === REDIS);
    expect(rec(podSpec(openshift!).securityContext)).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  });
});

describe('deploy/overlays/example-site', () => {
  const directory = join(ROOT, 'deploy/overlays/example-site');

  it('is documented in its own README, which names the files a site edits', () => {
    const readme = readFileSync(join(directory, 'README.md'), 'utf8');
    for (const word of ['site.env', 'images:', 'kubectl apply -k', 'behavior: merge', 'Containerfile', 'PUBLIC_URL']) {
      expect(readme, word).toContain(word);
    }
  });

  it('rolls the pods when a setting changes: a new ConfigMap name, and the Deployment refers to it', () => {
    const configMapOf = (objects: KubeObject[]) => {
      const name = String(rec(recs(botContainer(find(objects, 'Deployment', BOT)).envFrom)[0]?.configMapRef).name);
      return find(objects, 'ConfigMap', name);
    };
    const before = configMapOf(objectsOf('overlays/example-site'));
    // A site's next edit of site.env, as one more generator layered on top (the same merge).
    const scratch = mkdtempSync(join(tmpdir(), 'vteam-slack-site-'));
    try {
      writeFileSync(
        join(scratch, 'kustomization.yaml'),
        [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          'resources:',
          `  - ${relative(scratch, directory)}`,
          'configMapGenerator:',
          '  - name: vteam-slack',
          '    behavior: merge',
          '    literals:',
          '      - LOG_LEVEL=debug',
          '',
        ].join('\n'),
      );
      const changed = renderKustomization(scratch);
      const after = configMapOf(changed);
      expect(after.metadata.name).not.toBe(before.metadata.name);
      expect(rec(after.data)).toEqual({ ...rec(before.data), LOG_LEVEL: 'debug' });
      expect(changed.filter((o) => o.kind === 'ConfigMap')).toHaveLength(1);
      const real = realKustomize(scratch);
      if (real) expect(real.find((o) => o.kind === 'ConfigMap')).toEqual(after);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('the permission table', () => {
  const calls = findKubeCalls(ROOT);
  const key = (site: { file: string; call: string }) => `${site.file} ${site.call}`;

  it('knows every Kubernetes client call in src/', () => {
    const known = new Set(USED.map(key));
    expect(
      calls.filter((site) => !known.has(key(site))).map(key),
      'add these calls and their permissions to USED in test/ship/kube-permissions.ts',
    ).toEqual([]);
  });

  it('names only calls that src/ still makes, on the resource it says', () => {
    const found = new Set(calls.map(key));
    expect(USED.filter((site) => !found.has(key(site))).map(key), 'these calls are gone: drop them (and their grants)').toEqual([]);
    for (const site of USED.filter((s) => s.evidence !== undefined)) {
      expect(readFileSync(join(ROOT, site.file), 'utf8'), `${site.file} should mention ${site.evidence}`).toContain(site.evidence);
    }
  });

  it('plans only permissions that are not already used', () => {
    const used = new Set(USED.flatMap((u) => u.permissions).map(permissionKey));
    const planned: Permission[] = PLANNED.map((p) => p.permission);
    expect(planned.filter((p) => used.has(permissionKey(p))).map(permissionKey)).toEqual([]);
    for (const entry of PLANNED) expect(entry.reason).not.toBe('');
  });
});

describe('deploy/base/secret.example.yaml', () => {
  const path = join(ROOT, 'deploy/base/secret.example.yaml');

  it('is an example the kustomization does not apply, with the Secret the Deployment reads', () => {
    expect(existsSync(path)).toBe(true);
    const [secret] = readObjects(path);
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: BOT, namespace: 'vteam-slack' } });
    const keys = Object.keys(rec(secret?.stringData));
    expect(keys).toEqual(expect.arrayContaining(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'TOKEN_ENCRYPTION_KEY']));
    for (const value of Object.values(rec(secret?.stringData))) expect(String(value)).toMatch(/REPLACE-ME/);
    for (const overlay of OVERLAYS) expect(objectsOf(overlay).some((o) => o.kind === 'Secret')).toBe(false);
  });
});
