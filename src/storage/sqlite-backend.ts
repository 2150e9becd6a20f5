import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Keyv } from 'keyv';
import type { StoreBackend } from './backend.ts';
import { decodeValue, deserialize, sameJson, serialize } from './codec.ts';
import { localNotifications } from './local-notifications.ts';
import { SqliteKeyvAdapter, type SqliteAdapterOptions } from './sqlite-adapter.ts';

/** SQLite file (or `:memory:`): Keyv over the adapter, atomics on the adapter's own handle. */
export function openSqliteBackend(options: SqliteAdapterOptions): StoreBackend {
  const adapter = new SqliteKeyvAdapter(options);
  // Key naming is done by store.ts (useKeyPrefix off), so Keyv and the atomics address the same rows.
  const keyv = new Keyv(adapter, { namespace: undefined, useKeyPrefix: false, throwOnErrors: true, serialize, deserialize });
  // Stores on one file hear each other; each in-memory database is its own world.
  const notifications = localNotifications(options.path === ':memory:' ? randomUUID() : resolve(options.path));
  return {
    keyv,
    insertIfAbsent: async (key, raw, ttlMs) => adapter.insertIfAbsent(key, raw, ttlMs),
    compareAndSwap: async (key, expected, nextRaw, ttlMs) =>
      adapter.replaceIf(key, (current) => sameJson(decodeValue(current), expected), nextRaw, ttlMs),
    increment: async (key, by, ttlMs) => adapter.increment(key, by, ttlMs),
    keys: async (prefix) => adapter.keysWithPrefix(prefix),
    ping: async () => adapter.ping(),
    notifications,
    close: async () => {
      notifications.close();
      adapter.close();
    },
  };
}
