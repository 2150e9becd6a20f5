import type { Keyv } from 'keyv';
import type { StoreNotifications } from './types.ts';

/**
 * One backend behind KeyValueStore: a Keyv instance for plain reads and writes, plus the atomic
 * operations Keyv has no API for, implemented natively on the same connection. Keys here are
 * physical (already namespaced); values are encoded by codec.ts.
 */
export interface StoreBackend {
  readonly keyv: Keyv;
  /**
   * Longest any one operation may take (Redis): a half-open connection answers nothing and raises
   * no error, so without a deadline a publish or a lock would wait forever. Undefined: no deadline
   * is needed (SQLite is synchronous and local).
   */
  readonly operationDeadlineMs?: number | undefined;
  insertIfAbsent(key: string, raw: string, ttlMs: number | undefined): Promise<boolean>;
  /** Replaces (or deletes, when `nextRaw` is undefined) while the live value deep-equals `expected`. */
  compareAndSwap(key: string, expected: unknown, nextRaw: string | undefined, ttlMs: number | undefined): Promise<boolean>;
  /** Adds `by` to the integer at `key` (absent = 0); sets `ttlMs` only if the key has no expiry. */
  increment(key: string, by: number, ttlMs: number | undefined): Promise<number>;
  /** Live keys starting with `prefix`, physical. */
  keys(prefix: string): Promise<string[]>;
  ping(): Promise<void>;
  /** Pub/sub on physical (already namespaced) channels, if the backend has it. */
  readonly notifications?: StoreNotifications | undefined;
  /** Also ends every subscription. */
  close(): Promise<void>;
}
