/**
 * A small kustomize renderer for the features deploy/ uses, so the deploy tests run on a bare machine
 * (Node only, no kubectl). It refuses any kustomization field or patch shape it does not implement, so it
 * can never silently disagree with kustomize; where `kubectl` or `kustomize` is installed the tests
 * compare its output with the real thing.
 *
 * Implemented: `resources` (files and directories), `components`, `namespace`, `images`, `patches`
 * given by `path` or inline `patch`, either RFC 6902 operations with a `target`, or a strategic-merge
 * document that deletes a whole object (`$patch: delete`), and `configMapGenerator` (`literals`, `envs`, `files`,
 * `behavior` create/merge/replace, `options` labels/annotations/disableNameSuffixHash) with kustomize's
 * name hash and the rewriting of the pods' references to a hashed name.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
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
interface ConfigMapGenerator {
  name: string;
  namespace?: string;
  behavior?: 'create' | 'merge' | 'replace';
  literals?: string[];
  envs?: string[];
  files?: string[];
  options?: { labels?: Record<string, string>; annotations?: Record<string, string>; disableNameSuffixHash?: boolean };
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'configMapGenerator', 'patches', 'images']);
const GENERATOR_FIELDS = new Set(['name', 'namespace', 'behavior', 'literals', 'envs', 'files', 'options']);
const GENERATOR_OPTIONS = new Set(['labels', 'annotations', 'disableNameSuffixHash']);
/**
 * Marks a generated ConfigMap whose name gets the content hash once the whole build is done (as kustomize
 * does, so patches in overlays and components still target the plain name). Never part of the output.
 */
const NEEDS_HASH = 'internal.kustomize-renderer/needs-hash';
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
  return addNameHashes(build(resolve(directory), 'Kustomization'));
}

/** Renders a Component on its own (`kubectl kustomize` accepts one), or applied to `base` as an overlay would. */
export function renderComponent(directory: string, base: KubeObject[] = []): KubeObject[] {
  return addNameHashes(build(resolve(directory), 'Component', base));
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
  // Then this kustomization's generators, then its transformers (patches, namespace, images).
  for (const generator of list<ConfigMapGenerator>(spec.configMapGenerator, file, 'configMapGenerator')) {
    objects = generateConfigMap(objects, generator, directory, file);
  }
  for (const patch of list<Patch>(spec.patches, file, 'patches')) objects = applyPatch(objects, patch, directory, file);
  if (spec.namespace !== undefined) objects = objects.map((object) => setNamespace(object, String(spec.namespace)));
  for (const image of list<Image>(spec.images, file, 'images')) objects = objects.map((object) => setImage(object, image));
  return objects;
}

function generateConfigMap(objects: KubeObject[], generator: ConfigMapGenerator, directory: string, file: string): KubeObject[] {
  if (!isRecord(generator) || typeof generator.name !== 'string') throw new KustomizeError(`${file}: a configMapGenerator needs a name`);
  const where = `${file}: configMapGenerator ${generator.name}`;
  for (const key of Object.keys(generator)) {
    if (!GENERATOR_FIELDS.has(key)) throw new KustomizeError(`${where}: field "${key}" is not supported by this renderer`);
  }
  const options = generator.options ?? {};
  for (const key of Object.keys(options)) {
    if (!GENERATOR_OPTIONS.has(key)) throw new KustomizeError(`${where}: option "${key}" is not supported by this renderer`);
  }
  const data: Record<string, string> = {};
  const add = ([key, value]: [string, string], origin: string) => {
    if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(key)) throw new KustomizeError(`${where}: ${origin}: "${key}" is not a valid key`);
    if (key in data) throw new KustomizeError(`${where}: ${origin}: key ${key} is given twice`);
    data[key] = value;
  };
  for (const envFile of stringList(generator.envs, where, 'envs')) {
    readFileSync(resolve(directory, envFile), 'utf8')
      .split('\n')
      .forEach((raw, index) => {
        // kustomize's env files: leading blanks trimmed, blank lines and `#` lines skipped, KEY=VALUE taken
        // literally (no quotes removed, nothing after the value is a comment).
        const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
        if (line === '' || line.startsWith('#')) return;
        const equals = line.indexOf('=');
        if (equals < 0) throw new KustomizeError(`${where}: ${envFile}:${index + 1} has no "=" (this renderer refuses it)`);
        add([line.slice(0, equals), line.slice(equals + 1)], `${envFile}:${index + 1}`);
      });
  }
  // `[key=]path`: the file's content whole, under its name or the given key.
  for (const entry of stringList(generator.files, where, 'files')) {
    const equals = entry.indexOf('=');
    const path = equals < 0 ? entry : entry.slice(equals + 1);
    add([equals < 0 ? basename(path) : entry.slice(0, equals), readFileSync(resolve(directory, path), 'utf8')], `files ${entry}`);
  }
  for (const literal of stringList(generator.literals, where, 'literals')) {
    const equals = literal.indexOf('=');
    if (equals < 0) throw new KustomizeError(`${where}: literal "${literal}" is not KEY=VALUE`);
    const value = literal.slice(equals + 1);
    // Like kustomize: one pair of matching quotes around the value is removed.
    const unquoted = value.length >= 2 && /^(['"]).*\1$/s.test(value) ? value.slice(1, -1) : value;
    add([literal.slice(0, equals), unquoted], 'literals');
  }

  const generated: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: generator.name,
      ...(generator.namespace !== undefined ? { namespace: generator.namespace } : {}),
      ...(options.labels ? { labels: { ...options.labels } } : {}),
      ...(options.annotations || !options.disableNameSuffixHash
        ? { annotations: { ...options.annotations, ...(options.disableNameSuffixHash ? {} : { [NEEDS_HASH]: 'true' }) } }
        : {}),
    },
    data,
  };
  const behavior = generator.behavior ?? 'create';
  const matches = objects.filter(
    (o) =>
      o.kind === 'ConfigMap' &&
      o.metadata.name === generator.name &&
      (generator.namespace === undefined || o.metadata.namespace === generator.namespace),
  );
  if (matches.length > 1) throw new KustomizeError(`${where}: several ConfigMaps named ${generator.name}`);
  const existing = matches[0];
  if (behavior === 'create') {
    if (existing) throw new KustomizeError(`${where}: ConfigMap ${generator.name} exists; use behavior merge or replace`);
    return [...objects, withoutEmptyMetadata(generated)];
  }
  if (behavior !== 'merge' && behavior !== 'replace') throw new KustomizeError(`${where}: unknown behavior ${String(behavior)}`);
  if (!existing) throw new KustomizeError(`${where}: no ConfigMap ${generator.name} to ${behavior}`);
  // Merge and replace keep the existing object's name, namespace and whether it is hashed (kustomize
  // hashes a merged ConfigMap only if the one it merges into came from a generator).
  const annotations = { ...(existing.metadata.annotations as Record<string, string> | undefined), ...options.annotations };
  delete annotations[NEEDS_HASH];
  if (needsHash(existing)) annotations[NEEDS_HASH] = 'true';
  const result: KubeObject = {
    ...structuredClone(existing),
    metadata: {
      ...structuredClone(existing.metadata),
      labels: { ...existing.metadata.labels, ...options.labels },
      annotations,
    },
    data: behavior === 'merge' ? { ...(isRecord(existing.data) ? existing.data : {}), ...data } : data,
  };
  return objects.map((object) => (object === existing ? withoutEmptyMetadata(result) : object));
}

function withoutEmptyMetadata(object: KubeObject): KubeObject {
  const metadata = object.metadata;
  for (const key of ['labels', 'annotations'] as const) {
    if (isRecord(metadata[key]) && Object.keys(metadata[key]).length === 0) delete metadata[key];
  }
  return object;
}

function needsHash(object: KubeObject): boolean {
  return isRecord(object.metadata.annotations) && object.metadata.annotations[NEEDS_HASH] === 'true';
}

/**
 * The last step of `kustomize build`: generated ConfigMaps get `-<hash of their content>` appended to
 * their name, and every pod reference to them in the same namespace (envFrom, env valueFrom, volumes) is
 * rewritten, so a change of content makes a new name and rolls the pods.
 */
function addNameHashes(objects: KubeObject[]): KubeObject[] {
  const renamed = new Map<string, string>();
  const hashed = objects.map((object) => {
    if (object.kind !== 'ConfigMap' || !needsHash(object)) return object;
    const copy = structuredClone(object);
    const annotations = copy.metadata.annotations as Record<string, string>;
    delete annotations[NEEDS_HASH];
    withoutEmptyMetadata(copy);
    const name = `${copy.metadata.name}-${configMapHash(copy)}`;
    renamed.set(`${copy.metadata.namespace ?? ''}/${copy.metadata.name}`, name);
    copy.metadata.name = name;
    return copy;
  });
  if (renamed.size === 0) return hashed;
  return hashed.map((object) => {
    const spec = podSpecOf(object);
    if (!spec) return object;
    const copy = structuredClone(object);
    const copySpec = podSpecOf(copy)!;
    const rename = (ref: unknown) => {
      if (!isRecord(ref) || typeof ref.name !== 'string') return;
      const name = renamed.get(`${copy.metadata.namespace ?? ''}/${ref.name}`);
      if (name !== undefined) ref.name = name;
    };
    for (const volume of records(copySpec.volumes)) {
      rename(volume.configMap);
      if (isRecord(volume.projected)) for (const source of records(volume.projected.sources)) rename(source.configMap);
    }
    for (const container of [...records(copySpec.containers), ...records(copySpec.initContainers)]) {
      for (const source of records(container.envFrom)) rename(source.configMapRef);
      for (const variable of records(container.env)) if (isRecord(variable.valueFrom)) rename(variable.valueFrom.configMapKeyRef);
    }
    return copy;
  });
}

/** kustomize's ConfigMap hash (api/hasher): sha256 of Go's JSON of {data, kind, name}, 10 characters re-encoded. */
function configMapHash(object: KubeObject): string {
  const sortedData = (value: unknown) =>
    Object.fromEntries(Object.entries(isRecord(value) ? value : {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const encoded: Record<string, unknown> = {
    ...(isRecord(object.binaryData) ? { binaryData: sortedData(object.binaryData) } : {}),
    data: sortedData(object.data),
    kind: 'ConfigMap',
    // kustomize looks the name up by the single key "metadata/name", which never exists: always "".
    name: '',
  };
  // Go's encoding/json escapes these for HTML safety; JSON.stringify does not.
  const json = JSON.stringify(encoded).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const hex = createHash('sha256').update(json).digest('hex');
  return hex.slice(0, 10).replace(/[013ae]/g, (c) => ({ '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' })[c]!);
}

/** The pod spec of a Pod, of a workload's pod template, or of a CronJob's job template. */
function podSpecOf(object: KubeObject): Record<string, unknown> | undefined {
  if (object.kind === 'Pod') return isRecord(object.spec) ? object.spec : undefined;
  const spec = isRecord(object.spec) ? object.spec : undefined;
  const template =
    object.kind === 'CronJob' && isRecord(spec?.jobTemplate) && isRecord(spec.jobTemplate.spec)
      ? spec.jobTemplate.spec.template
      : spec?.template;
  return isRecord(template) && isRecord(template.spec) ? template.spec : undefined;
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
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
  const spec = podSpecOf(object);
  if (!spec) return [];
  return [...records(spec.containers), ...records(spec.initContainers)];
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
