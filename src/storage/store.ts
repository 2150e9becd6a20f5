/**
 * KeyValueStore from a STORE_URL: `sqlite://<path>` (relative to the working directory, or
 * absolute as `sqlite:///abs/path`), `sqlite::memory:`, or `redis://…` / `rediss://…`.
 *
 * get/set/delete go through Keyv; the atomic operations go to the backend natively (see
 * backend.ts). Both use the key `<namespace>:<key>` built here and the bare-JSON value layout of
 * codec.ts, so a value written by one path is read identically by the other.
 */
import type { Logger } from 'pino';
import type { KeyValueStore, StoreNotifications } from './types.ts';
import type { StoreBackend } from './backend.ts';
import { encodeValue, ttlOrUndefined } from './codec.ts';
import { openRedisBackend } from './redis-backend.ts';
import { openSqliteBackend } from './sqlite-backend.ts';

export interface StoreOptions {
  /** Prefix of every key, so several apps can share one Redis. Default `vteam-slack`. */
  namespace?: string;
  logger?: Logger;
  /** Redis: deadline of every command (default 5 s). */
  commandTimeoutMs?: number;
}

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string };

const ACCEPTED = 'sqlite://<path>, sqlite::memory:, redis://… or rediss://…';

/** Parses a STORE_URL without opening anything. Never echoes the URL (it may hold a password). */
export function parseStoreUrl(url: string): StoreLocation {
  const trimmed = url.trim();
  if (/^rediss?:\/\//i.test(trimmed)) return { kind: 'redis', url: trimmed };
  const sqlite = /^sqlite:(?:\/\/)?(.*)$/i.exec(trimmed);
  if (sqlite) {
    const path = sqlite[1] ?? '';
    if (path === '') throw new Error(`STORE_URL has no SQLite file path; expected ${ACCEPTED}.`);
    return { kind: 'sqlite', path };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1];
  throw new Error(`STORE_URL scheme ${scheme === undefined ? '(none)' : `"${scheme}:"`} is not supported; expected ${ACCEPTED}.`);
}

export async function createStore(url: string, options: StoreOptions = {}): Promise<KeyValueStore> {
  const location = parseStoreUrl(url);
  const backend =
    location.kind === 'sqlite'
      ? openSqliteBackend({ path: location.path })
      : await openRedisBackend({ url: location.url, logger: options.logger, commandTimeoutMs: options.commandTimeoutMs });
  return keyValueStore(backend, options.namespace ?? 'vteam-slack', options.logger);
}

function keyValueStore(backend: StoreBackend, namespace: string, logger: Logger | undefined): KeyValueStore {
  const prefix = `${namespace}:`;
  const physical = (key: string) => prefix + key;
  const { keyv } = backend;
  const bounded = deadline(backend.operationDeadlineMs);

  return {
    get: async <T>(key: string) => bounded('get', () => keyv.get<T>(physical(key))),
    set: async <T>(key: string, value: T, ttlMs?: number) => {
      encodeValue(value); // reject undefined before Keyv would store it as null
      await bounded('set', () => keyv.set(physical(key), value, ttlOrUndefined(ttlMs)));
    },
    delete: async (key) => bounded('delete', () => keyv.delete(physical(key))),
    setIfAbsent: async <T>(key: string, value: T, ttlMs?: number) =>
      bounded('setIfAbsent', () => backend.insertIfAbsent(physical(key), encodeValue(value), ttlOrUndefined(ttlMs))),
    compareAndSwap: async <T>(key: string, expected: T, next: T | undefined, ttlMs?: number) =>
      bounded('compareAndSwap', () =>
        backend.compareAndSwap(physical(key), expected, next === undefined ? undefined : encodeValue(next), ttlOrUndefined(ttlMs)),
      ),
    increment: async (key, by, ttlMs) => {
      if (!Number.isSafeInteger(by)) throw new RangeError(`increment needs an integer, got ${by}`);
      return bounded('increment', () => backend.increment(physical(key), by, ttlOrUndefined(ttlMs)));
    },
    keys: async (keyPrefix) => (await bounded('keys', () => backend.keys(physical(keyPrefix)))).map((key) => key.slice(prefix.length)),
    ping: () => bounded('ping', () => backend.ping()),
    notifications: backend.notifications && namespaced(backend.notifications, physical, bounded, logger),
    close: () => backend.close(),
  };
}

/** Channels named like keys (two apps on one Redis never hear each other); listeners that throw are logged. */
function namespaced(
  inner: StoreNotifications,
  physical: (channel: string) => string,
  bounded: ReturnType<typeof deadline>,
  logger: Logger | undefined,
): StoreNotifications {
  return {
    publish: (channel, message) => bounded('publish', () => inner.publish(physical(channel), message)),
    subscribe: async (channel, listener) => {
      const guarded = (message: string) => {
        try {
          listener(message);
        } catch (error) {
          logger?.warn({ err: error, channel }, 'a store notification listener failed');
        }
      };
      const subscribing = inner.subscribe(physical(channel), guarded);
      try {
        const unsubscribe = await bounded('subscribe', () => subscribing);
        return () => bounded('unsubscribe', unsubscribe);
      } catch (error) {
        // Past the deadline the subscription may still come through: end it then, as no one holds it.
        void subscribing.then((late) => late()).catch(() => undefined);
        throw error;
      }
    },
  };
}

export class StoreTimeoutError extends Error {
  constructor(operation: string, ms: number) {
    super(`The store did not answer ${operation} within ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

/** Runs an operation under the backend's deadline; the late answer, if any, is dropped. */
function deadline(ms: number | undefined) {
  return async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    if (ms === undefined) return run();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new StoreTimeoutError(operation, ms)), ms);
    });
    const work = run();
    work.catch(() => undefined); // a late failure after the deadline is no one's to handle
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
