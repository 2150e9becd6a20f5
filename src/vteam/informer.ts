/**
 * A small list+watch cache (the client-go informer pattern) over one cluster-wide collection, built on
 * client-node's `Watch`. client-node's own `ListWatch`/`makeInformer` is not used: it keeps the raw
 * objects (too much memory for 10,000 workflows), never asks for bookmarks, and stops for good on a
 * dropped connection (it only reports the error). This one:
 * - lists in pages, keeps only what `map` returns, and emits added/modified/deleted against the cache;
 * - watches from the list's resourceVersion with allowWatchBookmarks, and resumes from the last seen
 *   resourceVersion (bookmarks advance it) after a dropped or timed-out connection;
 * - relists from scratch on 410 Gone (HTTP status or an ERROR event with code 410);
 * - backs off exponentially on failures; a collection that is not served (404) is checked again slowly;
 * - says an outage once: a warning naming the API server and the cause when it starts, debug lines
 *   for the retries, an info line when the list or watch works again.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { backoffDelay, formatDelay } from '../lib/backoff.ts';
import { apiServerOf } from './kube-clients.ts';
import { describeKubeFailure, kubeFailureFields, kubeFailureSummary, kubeStatusCode } from './kube-errors.ts';
import { isRecord } from './workflow-mapping.ts';

export interface InformerEvent<T> {
  type: 'added' | 'modified' | 'deleted';
  /** `namespace/name` (or `name` for cluster-scoped objects). */
  key: string;
  object: T;
  previous?: T | undefined;
}

/** One page of a list call: the raw body as the API server sends it. */
export type ListPage = (page: { limit: number; continueToken?: string | undefined }) => Promise<unknown>;

export interface InformerOptions<T> {
  kubeConfig: KubeConfig;
  /** Collection path for the watch, e.g. `/apis/vteam.ambient-code/v1alpha1/rfeworkflows`. */
  path: string;
  /** Label for logs and metrics, e.g. `rfeworkflows`. */
  resource: string;
  list: ListPage;
  /** What is cached per object; undefined drops the object (unusable, or not of interest). */
  map: (raw: unknown) => T | undefined;
  /** Called synchronously for every change of the cache, in order. */
  onEvent?: (event: InformerEvent<T>) => void;
  /** Called after every complete (re)list. */
  onSynced?: () => void;
  logger?: Logger | undefined;
  metrics?: { watchRestarts: { inc(labels: { resource: string; reason: string }): void } } | undefined;
  pageSize?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** How often a collection that answered 404 is looked for again. Default 5 min. */
  notServedRetryMs?: number;
  /** Server-side watch duration; randomised up to twice this, as client-go does. Default 300 s. */
  watchTimeoutSeconds?: number;
}

export interface Informer<T> {
  start(): void;
  stop(): Promise<void>;
  get(key: string): T | undefined;
  /** Every cached object. */
  values(): IterableIterator<T>;
  size(): number;
  /** True once a list has completed (and stays true across relists). */
  synced(): boolean;
  /** Resolves after the first complete list. */
  whenSynced(): Promise<void>;
  /** Whether the collection is served by the cluster (false after a 404, until it appears). */
  served(): boolean;
  stats(): { resource: string; size: number; synced: boolean; served: boolean; resourceVersion: string; restarts: number };
}

interface Entry<T> {
  rv: string;
  value: T;
}

type SessionEnd = { reason: 'closed' | 'timeout' | 'expired' | 'error'; error?: unknown; events: number };

export function createInformer<T>(options: InformerOptions<T>): Informer<T> {
  const { logger, resource } = options;
  const pageSize = options.pageSize ?? 500;
  const backoff = options.backoff ?? { initialMs: 1_000, maxMs: 30_000 };
  const notServedRetryMs = options.notServedRetryMs ?? 300_000;
  const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
  const apiServer = apiServerOf(options.kubeConfig);
  /** The cause of the failures in a row so far (said once, as a warning), if any. */
  let failing: string | undefined;

  let cache = new Map<string, Entry<T>>();
  let resourceVersion = '';
  let stopped = true;
  let isSynced = false;
  let isServed = true;
  let restarts = 0;
  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let wake = new AbortController();
  let resolveSynced: () => void = () => {};
  const syncedPromise = new Promise<void>((resolve) => {
    resolveSynced = resolve;
  });

  const emit = (event: InformerEvent<T>) => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      logger?.error({ err: error, resource }, 'informer event handler failed');
    }
  };

  function restarted(reason: string): void {
    restarts++;
    options.metrics?.watchRestarts.inc({ resource, reason });
  }

  /** Full list, page by page; the cache is replaced and the differences emitted. */
  async function relist(): Promise<void> {
    const next = new Map<string, Entry<T>>();
    let continueToken: string | undefined;
    let listVersion: string | undefined;
    do {
      const body = await options.list({ limit: pageSize, continueToken });
      if (!isRecord(body)) throw new Error(`${resource}: list answered with a non-object`);
      const metadata = isRecord(body.metadata) ? body.metadata : {};
      // Every page of a paged list is one consistent snapshot: the first page's version is the list's.
      listVersion ??= typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : '';
      for (const raw of Array.isArray(body.items) ? body.items : []) {
        const key = keyOf(raw);
        const value = key ? options.map(raw) : undefined;
        if (key && value !== undefined) next.set(key, { rv: versionOf(raw), value });
      }
      continueToken = typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
    } while (continueToken && !stopped);
    if (stopped) return;

    if (!isServed) {
      isServed = true;
      logger?.info({ resource }, 'the collection is served now; watching it');
    }
    const previous = cache;
    cache = next;
    resourceVersion = listVersion ?? '';
    for (const [key, entry] of previous) {
      if (!next.has(key)) emit({ type: 'deleted', key, object: entry.value });
    }
    for (const [key, entry] of next) {
      const before = previous.get(key);
      if (!before) emit({ type: 'added', key, object: entry.value });
      else if (before.rv !== entry.rv) emit({ type: 'modified', key, object: entry.value, previous: before.value });
    }
    if (!isSynced) {
      isSynced = true;
      resolveSynced();
    }
    options.onSynced?.();
  }

  function apply(type: string, raw: unknown): void {
    const rv = versionOf(raw);
    if (type === 'BOOKMARK') {
      if (rv) resourceVersion = rv;
      return;
    }
    const key = keyOf(raw);
    if (!key) return;
    if (rv) resourceVersion = rv;
    const before = cache.get(key);
    if (type === 'DELETED') {
      if (before) {
        cache.delete(key);
        emit({ type: 'deleted', key, object: before.value });
      }
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED') return;
    const value = options.map(raw);
    if (value === undefined) {
      // An object that became unusable is gone as far as consumers are concerned.
      if (before) {
        cache.delete(key);
        emit({ type: 'deleted', key, object: before.value });
      }
      return;
    }
    cache.set(key, { rv, value });
    emit(before ? { type: 'modified', key, object: value, previous: before.value } : { type: 'added', key, object: value });
  }

  /** One watch connection, from `resourceVersion` until the stream ends. */
  async function watchOnce(): Promise<SessionEnd> {
    const watch = new Watch(options.kubeConfig);
    // The client aborts a stream silent for 30 s; bookmarks are not guaranteed that often, so allow
    // the whole server-side timeout instead (a private field: if it is renamed, quiet watches just
    // reconnect every 30 s from their resourceVersion, which is harmless).
    const timeoutSeconds = watchTimeoutSeconds + Math.floor(Math.random() * watchTimeoutSeconds);
    if ('requestTimeoutMs' in watch) (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = (timeoutSeconds + 30) * 1000;
    let events = 0;
    let expired = false;
    let errorEvent: unknown;
    return new Promise<SessionEnd>((resolve) => {
      const done = (error: unknown) => {
        controller = undefined;
        if (expired || kubeStatusCode(error) === 410 || (error as { statusCode?: unknown } | null)?.statusCode === 410)
          return resolve({ reason: 'expired', events });
        if (error && (error as { name?: unknown }).name === 'TimeoutError') return resolve({ reason: 'timeout', events });
        if (error || errorEvent) return resolve({ reason: 'error', error: error ?? errorEvent, events });
        resolve({ reason: 'closed', events });
      };
      const onLine = (type: string, object: unknown) => {
        if (type === 'ERROR') {
          if (isRecord(object) && object.code === 410) expired = true;
          else
            errorEvent = new Error(
              `${resource}: watch error event: ${isRecord(object) ? String(object.message ?? object.reason ?? '') : ''}`,
            );
          controller?.abort();
          return;
        }
        events++;
        apply(type, object);
      };
      watch
        .watch(
          options.path,
          {
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
          },
          onLine,
          done,
        )
        .then((c) => {
          if (stopped) c.abort();
          else {
            controller = c;
            // Still open once the call returns: the API server accepted the watch.
            if (!c.signal.aborted) working('watch');
          }
        }, done);
    });
  }

  async function pause(ms: number): Promise<void> {
    if (stopped || ms <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** A failed list or watch: a warning when an outage starts (or its cause changes), debug for its retries. */
  function failed(what: 'list' | 'watch connection', error: unknown, attempt: number, retryInMs: number): void {
    const failure = describeKubeFailure(error, apiServer);
    const fields = { kubernetes: failure.kubernetes, cause: failure.cause, resource, attempt, retryInMs };
    const text = `${resource}: ${what} failed: ${kubeFailureSummary(failure)}; retrying in ${formatDelay(retryInMs)}`;
    if (failing !== failure.cause) logger?.warn({ ...kubeFailureFields(failure, error), ...fields }, text);
    else logger?.debug(fields, text);
    failing = failure.cause;
  }

  function working(what: string): void {
    if (failing === undefined) return;
    logger?.info({ kubernetes: apiServer, resource, after: failing }, `${resource}: ${what} works again`);
    failing = undefined;
  }

  async function run(): Promise<void> {
    let failures = 0;
    // Half jitter (50–100 % of the step), as before.
    const delay = () => backoffDelay(failures, { ...backoff, jitter: 0.5 });
    while (!stopped) {
      try {
        if (!resourceVersion) {
          await relist();
          working('list');
        }
      } catch (error) {
        if (stopped) return;
        if (kubeStatusCode(error) === 404) {
          if (isServed)
            logger?.warn(
              { resource, retryInMs: notServedRetryMs },
              'this cluster does not serve the collection; staying idle and looking again later',
            );
          isServed = false;
          await pause(notServedRetryMs);
          continue;
        }
        failures++;
        restarted('list_failed');
        const wait = delay();
        failed('list', error, failures, wait);
        await pause(wait);
        continue;
      }
      if (stopped) return;
      const started = Date.now();
      const end = await watchOnce();
      if (stopped) return;
      if (end.events > 0) failures = 0;
      switch (end.reason) {
        case 'expired':
          // The resourceVersion is older than the server's history: only a full relist is correct.
          resourceVersion = '';
          restarted('expired');
          logger?.info({ resource }, 'watch expired (410 Gone); relisting');
          break;
        case 'timeout':
          restarted('timeout');
          break;
        case 'closed':
          restarted('closed');
          // A stream that ends at once, again and again, must not become a tight loop.
          if (end.events === 0 && Date.now() - started < 1_000) {
            failures++;
            await pause(delay());
          }
          break;
        case 'error': {
          failures++;
          restarted('error');
          // Resumed from the last resourceVersion once the wait is over.
          const wait = delay();
          failed('watch connection', end.error, failures, wait);
          await pause(wait);
          break;
        }
      }
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      wake = new AbortController();
      loop = run().catch((error: unknown) => logger?.error({ err: error, resource }, 'informer stopped unexpectedly'));
    },
    async stop() {
      stopped = true;
      wake.abort();
      controller?.abort();
      await loop;
    },
    get: (key) => cache.get(key)?.value,
    *values() {
      for (const entry of cache.values()) yield entry.value;
    },
    size: () => cache.size,
    synced: () => isSynced,
    whenSynced: () => syncedPromise,
    served: () => isServed,
    stats: () => ({ resource, size: cache.size, synced: isSynced, served: isServed, resourceVersion, restarts }),
  };
}

function keyOf(raw: unknown): string | undefined {
  if (!isRecord(raw) || !isRecord(raw.metadata)) return undefined;
  const { name, namespace } = raw.metadata;
  if (typeof name !== 'string' || name === '') return undefined;
  return typeof namespace === 'string' && namespace !== '' ? `${namespace}/${name}` : name;
}

function versionOf(raw: unknown): string {
  return isRecord(raw) && isRecord(raw.metadata) && typeof raw.metadata.resourceVersion === 'string' ? raw.metadata.resourceVersion : '';
}
