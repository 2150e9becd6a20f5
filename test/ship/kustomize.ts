/**
 * A small kustomize renderer for the features deploy/ uses, so the deploy tests run on a bare machine
 * (Node only, no kubectl). It refuses any kustomization field or patch shape it does not implement, so it
 * can never silently disagree with kustomize; where `kubectl` or `kustomize` is installed the tests
 * compare its output with the real thing.
 *
 * Implemented: `resources` (files and directories), `components`, `namespace`, `images`, and `patches`
 * given by `path` or inline `patch`, either RFC 6902 operations with a `target`, or a strategic-merge
 * document that deletes a whole object (`$patch: delete`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { applyJsonPatch } from '../support/fake-kube/json-patch.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

interface Target {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}
interface Patch {
  path?: string;
  patch?: string;
  target?: Target;
}
interface Image {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'patches', 'images']);
/** Kinds the namespace transformer leaves alone (the cluster-scoped kinds deploy/ could contain). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

export class KustomizeError extends Error {}

/** Renders the kustomization in `directory` like `kubectl kustomize directory` (objects, not text). */
export function renderKustomization(directory: string): KubeObject[] {
  return build(resolve(directory), 'Kustomization');
}

function build(directory: string, expectedKind: 'Kustomization' | 'Component', base: KubeObject[] = []): KubeObject[] {
  const file = KUSTOMIZATION_FILES.map((name) => join(directory, name)).find((path) => existsSync(path));
  if (!file) throw new KustomizeError(`no kustomization file in ${directory}`);
  const spec = load(readFileSync(file, 'utf8'));
  if (!isRecord(spec)) throw new KustomizeError(`${file} is not a mapping`);
  for (const key of Object.keys(spec)) {
    if (!SUPPORTED_FIELDS.has(key)) throw new KustomizeError(`${file}: field "${key}" is not supported by this renderer`);
  }
  const kind = spec.kind ?? 'Kustomization';
  if (kind !== expectedKind) throw new KustomizeError(`${file}: expected kind ${expectedKind}, found ${String(kind)}`);

  let objects = [...base];
  for (const entry of stringList(spec.resources, file, 'resources')) {
    const path = resolve(directory, entry);
    if (!existsSync(path)) throw new KustomizeError(`${file}: resource ${entry} does not exist`);
    const added = statSync(path).isDirectory() ? build(path, 'Kustomization') : readObjects(path);
    objects = addAll(objects, added, file);
  }
  // A component sees everything accumulated so far and transforms it, like an overlay that is inlined.
  for (const entry of stringList(spec.components, file, 'components')) {
    objects = build(resolve(directory, entry), 'Component', objects);
  }
  for (const patch of list<Patch>(spec.patches, file, 'patches')) objects = applyPatch(objects, patch, directory, file);
  if (spec.namespace !== undefined) objects = objects.map((object) => setNamespace(object, String(spec.namespace)));
  for (const image of list<Image>(spec.images, file, 'images')) objects = objects.map((object) => setImage(object, image));
  return objects;
}

export function readObjects(path: string): KubeObject[] {
  return loadAll(readFileSync(path, 'utf8'))
    .filter((doc) => doc !== null && doc !== undefined)
    .map((doc) => {
      if (!isKubeObject(doc)) throw new KustomizeError(`${path}: a document is not a Kubernetes object (apiVersion, kind, metadata.name)`);
      return doc;
    });
}

function addAll(objects: KubeObject[], added: KubeObject[], file: string): KubeObject[] {
  for (const object of added) {
    if (objects.some((existing) => sameId(existing, object))) throw new KustomizeError(`${file}: ${describe(object)} is defined twice`);
  }
  return [...objects, ...added];
}

function applyPatch(objects: KubeObject[], patch: Patch, directory: string, file: string): KubeObject[] {
  const text = patch.path !== undefined ? readFileSync(resolve(directory, patch.path), 'utf8') : patch.patch;
  if (text === undefined) throw new KustomizeError(`${file}: a patch needs path or patch`);
  const parsed = load(text);
  if (Array.isArray(parsed)) {
    if (!patch.target) throw new KustomizeError(`${file}: a JSON 6902 patch needs a target`);
    const target = patch.target;
    const matched = objects.filter((object) => matchesTarget(object, target));
    if (matched.length === 0) throw new KustomizeError(`${file}: patch target ${JSON.stringify(target)} matches nothing`);
    return objects.map((object) => (matchesTarget(object, target) ? applyJsonPatch(object, parsed) : object));
  }
  if (isRecord(parsed) && parsed.$patch === 'delete' && isKubeObject(parsed)) {
    const victim = parsed;
    const remaining = objects.filter(
      (object) =>
        !(
          sameKind(object, victim) &&
          object.metadata.name === victim.metadata.name &&
          (victim.metadata.namespace === undefined || victim.metadata.namespace === object.metadata.namespace)
        ),
    );
    if (remaining.length === objects.length) throw new KustomizeError(`${file}: delete patch for ${describe(victim)} matches nothing`);
    return remaining;
  }
  throw new KustomizeError(`${file}: only JSON 6902 patches and whole-object "$patch: delete" patches are supported`);
}

function matchesTarget(object: KubeObject, target: Target): boolean {
  const { group, version } = splitApiVersion(object.apiVersion);
  return (
    (target.kind === undefined || target.kind === object.kind) &&
    (target.name === undefined || target.name === object.metadata.name) &&
    (target.namespace === undefined || target.namespace === object.metadata.namespace) &&
    (target.group === undefined || target.group === group) &&
    (target.version === undefined || target.version === version)
  );
}

function setNamespace(object: KubeObject, namespace: string): KubeObject {
  const copy = structuredClone(object);
  if (!CLUSTER_SCOPED.has(copy.kind)) copy.metadata.namespace = namespace;
  // Like kustomize's default (setRoleBindingSubjects: defaultOnly): ServiceAccount subjects without a
  // namespace, or in `default`, follow the new namespace.
  if ((copy.kind === 'RoleBinding' || copy.kind === 'ClusterRoleBinding') && Array.isArray(copy.subjects)) {
    for (const subject of copy.subjects as Record<string, unknown>[]) {
      if (subject.kind === 'ServiceAccount' && (subject.namespace === undefined || subject.namespace === 'default'))
        subject.namespace = namespace;
    }
  }
  return copy;
}

function setImage(object: KubeObject, image: Image): KubeObject {
  const copy = structuredClone(object);
  for (const container of podContainers(copy)) {
    const current = container.image;
    if (typeof current !== 'string' || imageName(current) !== image.name) continue;
    const name = image.newName ?? image.name;
    const tag = image.newTag ?? imageTag(current);
    container.image = image.digest ? `${name}@${image.digest}` : tag === undefined ? name : `${name}:${tag}`;
  }
  return copy;
}

/** The containers and init containers of a workload's pod template (or of a Pod). */
export function podContainers(object: KubeObject): Record<string, unknown>[] {
  const spec =
    object.kind === 'Pod' ? object.spec : isRecord(object.spec) && isRecord(object.spec.template) ? object.spec.template.spec : undefined;
  if (!isRecord(spec)) return [];
  return [spec.containers, spec.initContainers].flatMap((value) => (Array.isArray(value) ? value.filter(isRecord) : []));
}

function imageName(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
}

function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0]!;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(colon + 1) : undefined;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function sameKind(a: KubeObject, b: KubeObject): boolean {
  return a.kind === b.kind && splitApiVersion(a.apiVersion).group === splitApiVersion(b.apiVersion).group;
}

function sameId(a: KubeObject, b: KubeObject): boolean {
  return sameKind(a, b) && a.metadata.name === b.metadata.name && a.metadata.namespace === b.metadata.namespace;
}

export function describe(object: KubeObject): string {
  return `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}

function stringList(value: unknown, file: string, field: string): string[] {
  return list<unknown>(value, file, field).map((entry) => {
    if (typeof entry !== 'string') throw new KustomizeError(`${file}: ${field} entries must be strings`);
    return entry;
  });
}

function list<T>(value: unknown, file: string, field: string): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KustomizeError(`${file}: ${field} must be a list`);
  return value as T[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isKubeObject(value: unknown): value is KubeObject {
  return (
    isRecord(value) &&
    typeof value.apiVersion === 'string' &&
    typeof value.kind === 'string' &&
    isRecord(value.metadata) &&
    typeof value.metadata.name === 'string'
  );
}

/**
 * `kubectl kustomize` (or a standalone `kustomize build`) when one is installed, else undefined: the
 * reference the renderer above is compared with. Runs offline; kustomize fetches nothing for local paths.
 */
export function realKustomize(directory: string): KubeObject[] | undefined {
  for (const [command, args] of [
    ['kubectl', ['kustomize', directory]],
    ['kustomize', ['build', directory]],
  ] as const) {
    let output: string;
    try {
      output = execFileSync(command, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    return loadAll(output).filter(isKubeObject);
  }
  return undefined;
}
