/**
 * A Keyv storage adapter on Node's built-in `node:sqlite`. @keyv/sqlite is not used because it
 * needs the native `sqlite3` addon, which must be compiled against the running Node ABI.
 *
 * One table (key, value, expires). WAL and a busy timeout let several processes share the file.
 * Expired rows are invisible to every read and are swept lazily on writes. Besides the Keyv
 * methods it offers the atomic primitives KeyValueStore needs, on the same database handle.
 * DatabaseSync is synchronous, so each method runs to completion without interleaving in this
 * process; BEGIN IMMEDIATE / single statements make them atomic against other processes.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { KeyvStoreAdapter } from 'keyv';

export interface SqliteAdapterOptions {
  /** File path, or `:memory:`. The parent directory is created. */
  path: string;
  /** How long a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  /** Minimum interval between sweeps of expired rows. */
  sweepIntervalMs?: number;
  now?: () => number;
}

const LIVE = '(expires IS NULL OR expires > ?)';

export class SqliteKeyvAdapter extends EventEmitter implements KeyvStoreAdapter {
  readonly opts: { dialect: 'node:sqlite'; path: string };
  /** Set by Keyv; only `clear()` uses it, to clear just this namespace's keys. */
  namespace?: string | undefined;

  private readonly db: DatabaseSync;
  private readonly now: () => number;
  private readonly sweepIntervalMs: number;
  private lastSweep = 0;
  private readonly sql: Record<'get' | 'getLive' | 'upsert' | 'insertIfAbsent' | 'delete' | 'keys' | 'sweep', StatementSync>;

  constructor(options: SqliteAdapterOptions) {
    super();
    const { path } = options;
    this.opts = { dialect: 'node:sqlite', path };
    this.now = options.now ?? Date.now;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    try {
      // busy_timeout first: switching to WAL itself may need to wait for another process.
      this.db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      if (path !== ':memory:') this.db.exec('PRAGMA journal_mode = WAL');
      // Under WAL, NORMAL still survives a process crash (kill -9): only a power loss can drop the
      // last commits. FULL fsyncs every commit on the event loop, which stalls Slack acks.
      this.db.exec('PRAGMA synchronous = NORMAL');
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS keyv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER);
        CREATE INDEX IF NOT EXISTS keyv_expires ON keyv (expires) WHERE expires IS NOT NULL;
      `);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.sql = {
      get: this.db.prepare(`SELECT value FROM keyv WHERE key = ? AND ${LIVE}`),
      getLive: this.db.prepare(`SELECT value, expires FROM keyv WHERE key = ? AND ${LIVE}`),
      upsert: this.db.prepare(
        'INSERT INTO keyv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires',
      ),
      // Inserts, or takes over a row that has expired; `changes` tells whether this call won.
      insertIfAbsent: this.db.prepare(
        `INSERT INTO keyv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires
         WHERE keyv.expires IS NOT NULL AND keyv.expires <= ?`,
      ),
      delete: this.db.prepare('DELETE FROM keyv WHERE key = ? RETURNING expires'),
      keys: this.db.prepare(`SELECT key FROM keyv WHERE substr(key, 1, length(?)) = ? AND ${LIVE} ORDER BY key`),
      sweep: this.db.prepare('DELETE FROM keyv WHERE expires IS NOT NULL AND expires <= ?'),
    };
  }

  // --- Keyv adapter -------------------------------------------------------------------------

  async get<Value>(key: string): Promise<Value | undefined> {
    return this.getRaw(key) as Value | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    return keys.map((key) => this.getRaw(key) as Value | undefined);
  }

  async has(key: string): Promise<boolean> {
    return this.getRaw(key) !== undefined;
  }

  async set(key: string, value: string, ttl?: number): Promise<boolean> {
    this.sql.upsert.run(key, value, this.expiresAt(ttl));
    this.maybeSweep();
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return this.deleteRaw(key);
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    return this.transaction(() => keys.map((key) => this.deleteRaw(key)).some(Boolean));
  }

  async clear(): Promise<void> {
    if (this.namespace === undefined) {
      this.db.exec('DELETE FROM keyv');
    } else {
      const prefix = `${this.namespace}:`;
      this.db.prepare('DELETE FROM keyv WHERE substr(key, 1, length(?)) = ?').run(prefix, prefix);
    }
  }

  async disconnect(): Promise<void> {
    this.close();
  }

  // --- Native atomic operations (same handle) -------------------------------------------------

  /** Stores `value` only if the key is absent or expired; true when this call stored it. */
  insertIfAbsent(key: string, value: string, ttlMs?: number): boolean {
    const now = this.now();
    const { changes } = this.sql.insertIfAbsent.run(key, value, this.expiresAt(ttlMs, now), now);
    return Number(changes) > 0;
  }

  /**
   * Under a write lock: if the live value satisfies `matches`, replace it with `next` (or delete it
   * when `next` is undefined). True when it matched.
   */
  replaceIf(key: string, matches: (current: string) => boolean, next: string | undefined, ttlMs?: number): boolean {
    return this.transaction(() => {
      const current = this.getRaw(key);
      if (current === undefined || !matches(current)) return false;
      if (next === undefined) this.deleteRaw(key);
      else this.sql.upsert.run(key, next, this.expiresAt(ttlMs));
      return true;
    });
  }

  /** Adds `by` to the integer at `key` (absent or expired = 0); `ttlMs` only when it has no expiry. */
  increment(key: string, by: number, ttlMs?: number): number {
    return this.transaction(() => {
      const now = this.now();
      const row = this.sql.getLive.get(key, now) as { value: string; expires: number | null } | undefined;
      const current = row === undefined ? 0 : (JSON.parse(row.value) as unknown);
      if (typeof current !== 'number' || !Number.isSafeInteger(current)) throw new TypeError(`The value at ${key} is not an integer`);
      const next = current + by;
      const expires = row?.expires ?? this.expiresAt(ttlMs, now);
      this.sql.upsert.run(key, JSON.stringify(next), expires);
      return next;
    });
  }

  keysWithPrefix(prefix: string): string[] {
    const rows = this.sql.keys.all(prefix, prefix, this.now()) as Array<{ key: string }>;
    return rows.map((row) => row.key);
  }

  ping(): void {
    this.db.prepare('SELECT 1').get();
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  // --- internals ------------------------------------------------------------------------------

  private getRaw(key: string): string | undefined {
    const row = this.sql.get.get(key, this.now()) as { value: string } | undefined;
    return row?.value;
  }

  /** Deletes the row whatever its state; reports true only if it was live. */
  private deleteRaw(key: string): boolean {
    const row = this.sql.delete.get(key) as { expires: number | null } | undefined;
    return row !== undefined && (row.expires === null || row.expires > this.now());
  }

  private expiresAt(ttlMs: number | undefined, now = this.now()): number | null {
    return typeof ttlMs === 'number' && ttlMs > 0 ? now + Math.ceil(ttlMs) : null;
  }

  private maybeSweep(): void {
    const now = this.now();
    if (now - this.lastSweep < this.sweepIntervalMs) return;
    this.lastSweep = now;
    this.sql.sweep.run(now);
  }

  private transaction<T>(work: () => T): T {
    // IMMEDIATE takes the write lock up front, so a read-then-write cannot race another process.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
