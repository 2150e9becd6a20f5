/**
 * The fake API server's storage: objects keyed by resource/namespace/name, one global resourceVersion
 * counter (like etcd's revision), a bounded event history for watch resumption, and live watchers.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { apiVersionOf, type ResourceDefinition } from './resources.ts';
import { StatusError, statuses } from './status.ts';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEntry {
  rv: number;
  type: WatchEventType;
  def: ResourceDefinition;
  namespace: string | undefined;
  object: KubeObject;
  previous: KubeObject | undefined;
}

export interface WatchSubscription {
  def: ResourceDefinition;
  namespace: string | undefined;
  matches: (object: KubeObject) => boolean;
  send: (type: WatchEventType, object: KubeObject) => void;
}

export type Store = ReturnType<typeof createStore>;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function createStore(options: { historyLimit: number }) {
  const objects = new Map<string, KubeObject>();
  const history: HistoryEntry[] = [];
  const watchers = new Set<WatchSubscription>();
  let revision = 0;
  /** Events at or below this revision are gone; resuming from an older revision gets 410. */
  let floor = 0;

  const keyOf = (def: ResourceDefinition, namespace: string | undefined, name: string) =>
    `${def.group}/${def.plural}/${def.namespaced ? (namespace ?? '') : ''}/${name}`;

  function deliver(entry: HistoryEntry, watcher: WatchSubscription): void {
    if (watcher.def !== entry.def) return;
    if (watcher.namespace !== undefined && watcher.namespace !== entry.namespace) return;
    // A selector watch sees an object entering or leaving the selection as ADDED/DELETED, like the API server.
    const now = entry.type !== 'DELETED' && watcher.matches(entry.object);
    const before = entry.previous !== undefined && watcher.matches(entry.previous);
    if (entry.type === 'DELETED') {
      if (watcher.matches(entry.object)) watcher.send('DELETED', entry.object);
    } else if (entry.type === 'ADDED') {
      if (now) watcher.send('ADDED', entry.object);
    } else if (now && before) watcher.send('MODIFIED', entry.object);
    else if (now) watcher.send('ADDED', entry.object);
    else if (before) watcher.send('DELETED', entry.object);
  }

  function record(type: WatchEventType, def: ResourceDefinition, object: KubeObject, previous?: KubeObject): void {
    const entry: HistoryEntry = {
      rv: revision,
      type,
      def,
      namespace: object.metadata.namespace,
      object: structuredClone(object),
      previous,
    };
    history.push(entry);
    while (history.length > options.historyLimit) floor = history.shift()!.rv;
    for (const watcher of watchers) deliver(entry, watcher);
  }

  function normalise(def: ResourceDefinition, object: KubeObject): void {
    object.apiVersion = apiVersionOf(def);
    object.kind = def.kind;
    if (def.plural === 'secrets') convertStringData(object);
  }

  function validateCreate(def: ResourceDefinition, object: KubeObject): void {
    const name = object.metadata.name;
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
      throw new StatusError(
        statuses.invalid(
          def.kind,
          def,
          name,
          'metadata.name',
          `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        ),
      );
    }
    if (def.plural === 'projectsettings' && name !== 'projectsettings') {
      throw new StatusError(
        statuses.invalid(
          def.kind,
          def,
          name,
          '<nil>',
          `Invalid value: "object": metadata.name must be 'projectsettings' (singleton per namespace)`,
        ),
      );
    }
  }

  return {
    currentRevision: () => revision,
    get(def: ResourceDefinition, namespace: string | undefined, name: string): KubeObject | undefined {
      const found = objects.get(keyOf(def, namespace, name));
      return found && structuredClone(found);
    },
    list(def: ResourceDefinition, namespace?: string): KubeObject[] {
      return [...objects.values()]
        .filter((o) => o.apiVersion === apiVersionOf(def) && o.kind === def.kind)
        .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
        .sort((a, b) =>
          `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`),
        )
        .map((o) => structuredClone(o));
    },
    /** `validate: false` is for test seeding, which may plant objects the real API would refuse. */
    create(def: ResourceDefinition, namespace: string | undefined, input: KubeObject, opts: { validate: boolean }): KubeObject {
      const object = structuredClone(input);
      if (object.metadata.name === undefined && typeof object.metadata.generateName === 'string') {
        object.metadata.name = `${object.metadata.generateName}${randomUUID().slice(0, 5)}`;
      }
      if (typeof object.metadata.name !== 'string' || object.metadata.name === '') {
        throw new StatusError(statuses.invalid(def.kind, def, '', 'metadata.name', 'Required value: name or generateName is required'));
      }
      if (opts.validate) validateCreate(def, object);
      if (def.namespaced) object.metadata.namespace = namespace;
      else delete object.metadata.namespace;
      const key = keyOf(def, namespace, object.metadata.name);
      if (objects.has(key)) throw new StatusError(statuses.alreadyExists(def, object.metadata.name));
      normalise(def, object);
      revision++;
      object.metadata.uid = randomUUID();
      object.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      object.metadata.generation = 1;
      object.metadata.resourceVersion = String(revision);
      if (def.plural === 'namespaces') object.status = { phase: 'Active' };
      objects.set(key, object);
      record('ADDED', def, object);
      return structuredClone(object);
    },
    /**
     * Update (PUT, or the result of a PATCH). A stale metadata.resourceVersion is a 409; an unchanged
     * object is a no-op that keeps its resourceVersion, as on a real server.
     */
    update(
      def: ResourceDefinition,
      namespace: string | undefined,
      name: string,
      candidate: KubeObject,
      opts: { subresource?: 'status'; requireResourceVersion: boolean },
    ): KubeObject {
      const key = keyOf(def, namespace, name);
      const current = objects.get(key);
      if (!current) throw new StatusError(statuses.notFound(def, name));
      const sentVersion = candidate.metadata?.resourceVersion;
      if (sentVersion !== undefined && sentVersion !== '' && sentVersion !== current.metadata.resourceVersion) {
        throw new StatusError(statuses.conflict(def, name));
      }
      if ((sentVersion === undefined || sentVersion === '') && opts.requireResourceVersion && def.requireResourceVersionOnUpdate) {
        throw new StatusError(
          statuses.invalid(def.kind, def, name, 'metadata.resourceVersion', 'Invalid value: 0x0: must be specified for an update'),
        );
      }
      if (candidate.metadata?.name !== undefined && candidate.metadata.name !== name) {
        throw new StatusError(
          statuses.badRequest(`the name of the object (${String(candidate.metadata.name)}) does not match the name on the URL (${name})`),
        );
      }
      let next: KubeObject;
      if (opts.subresource === 'status') {
        next = structuredClone(current);
        if (candidate.status === undefined) delete next.status;
        else next.status = structuredClone(candidate.status);
      } else {
        next = structuredClone(candidate);
        next.metadata = { ...(next.metadata ?? {}), name };
        if (def.statusSubresource) {
          if (current.status === undefined) delete next.status;
          else next.status = structuredClone(current.status);
        }
      }
      const nextMeta: Record<string, unknown> = next.metadata;
      for (const field of ['uid', 'creationTimestamp', 'generation', 'resourceVersion']) {
        if (current.metadata[field] === undefined) delete nextMeta[field];
        else nextMeta[field] = current.metadata[field];
      }
      if (def.namespaced) next.metadata.namespace = namespace;
      else delete next.metadata.namespace;
      normalise(def, next);
      if (isDeepStrictEqual(next, current)) return structuredClone(current);
      const bodyChanged = Object.keys({ ...next, ...current })
        .filter((k) => k !== 'metadata' && k !== 'status')
        .some((k) => !isDeepStrictEqual(next[k], current[k]));
      if (bodyChanged) next.metadata.generation = (current.metadata.generation ?? 0) + 1;
      revision++;
      next.metadata.resourceVersion = String(revision);
      objects.set(key, next);
      record('MODIFIED', def, next, current);
      return structuredClone(next);
    },
    delete(def: ResourceDefinition, namespace: string | undefined, name: string, preconditionVersion?: string): KubeObject {
      const key = keyOf(def, namespace, name);
      const current = objects.get(key);
      if (!current) throw new StatusError(statuses.notFound(def, name));
      if (preconditionVersion !== undefined && preconditionVersion !== current.metadata.resourceVersion) {
        throw new StatusError(statuses.preconditionConflict(def, name, preconditionVersion, current.metadata.resourceVersion ?? ''));
      }
      objects.delete(key);
      revision++;
      const gone = { ...structuredClone(current), metadata: { ...structuredClone(current.metadata), resourceVersion: String(revision) } };
      record('DELETED', def, gone);
      return gone;
    },
    /**
     * Starts a watch. `since` undefined (or 0) sends the current objects as ADDED first; a revision
     * replays later events from history, or throws 410 Expired if they were compacted away.
     */
    watch(subscription: WatchSubscription, since: number | undefined): () => void {
      if (since === undefined || since === 0) {
        for (const object of this.list(subscription.def, subscription.namespace)) {
          if (subscription.matches(object)) subscription.send('ADDED', object);
        }
      } else {
        if (since < floor) throw new StatusError(statuses.expired(since, floor + 1));
        for (const entry of history) if (entry.rv > since) deliver(entry, subscription);
      }
      watchers.add(subscription);
      return () => watchers.delete(subscription);
    },
    /** Forget all history: any resume from an earlier revision now answers 410 Gone. */
    compact(): void {
      history.length = 0;
      floor = revision;
    },
  };
}

function convertStringData(secret: KubeObject): void {
  const stringData = secret.stringData;
  if (stringData === undefined || typeof stringData !== 'object' || stringData === null) return;
  const data = { ...((secret.data as Record<string, string> | undefined) ?? {}) };
  for (const [key, value] of Object.entries(stringData as Record<string, unknown>))
    data[key] = Buffer.from(String(value), 'utf8').toString('base64');
  secret.data = data;
  delete secret.stringData;
}
