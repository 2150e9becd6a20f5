/**
 * The shared state every replica sees. Backed by keyv: an embedded SQLite file (one replica) or
 * Redis (several). Atomic primitives are needed for locks and idempotency, so they are part of the
 * contract, implemented natively by each backend.
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Atomically sets the key only if absent (or expired). True when this call set it. */
  setIfAbsent<T>(key: string, value: T, ttlMs?: number): Promise<boolean>;
  /**
   * Atomically replaces the value only while it still equals `expected` (deep JSON equality).
   * `next === undefined` deletes. True when it matched.
   */
  compareAndSwap<T>(key: string, expected: T, next: T | undefined, ttlMs?: number): Promise<boolean>;
  /**
   * Atomically adds `by` (an integer, may be negative) to the integer stored at `key`, an absent or
   * expired key counting as 0, and returns the new value. `ttlMs` applies only when the key has no
   * expiry yet, so a windowed counter keeps the expiry its first increment gave it.
   */
  increment(key: string, by: number, ttlMs?: number): Promise<number>;
  /** Keys (not expired) starting with a prefix, for recovery scans. */
  keys(prefix: string): Promise<string[]>;
  /** Round trip to the backend; throws when unreachable. */
  ping(): Promise<void>;
  /** Also ends this instance's subscriptions. */
  close(): Promise<void>;
  /**
   * Messages to the other processes using the store, when the backend has them (Redis: every
   * process; SQLite: this process only). Channels are namespaced like keys.
   */
  readonly notifications?: StoreNotifications | undefined;
}

/**
 * Publish/subscribe, at most once: a message sent while a subscriber is disconnected is lost, and
 * nothing is stored. Use it to hurry a poll along, never to replace one.
 */
export interface StoreNotifications {
  /** Delivers `message` to whoever is subscribed to `channel` now, this instance's own listeners included. */
  publish(channel: string, message: string): Promise<void>;
  /** Calls `listener` with every message published once this resolves; resolves to the unsubscribe. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
}

export interface Lock {
  readonly name: string;
  readonly token: string;
  /** Extends the lease; false if it was lost (expired and taken by someone else). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * What `work` holds while it runs under `withLock`. The token is unique to this acquisition, so a lease
 * that expired and was taken by another worker can never be confirmed again by this one.
 */
export interface HeldLease {
  readonly name: string;
  readonly token: string;
  /**
   * Proves the lease is still held (extending it) right before a side effect; throws LeaseLostError
   * when it was lost or cannot be proven (store unreachable). Fencing: never act without it.
   */
  confirm(): Promise<void>;
}

export interface LockService {
  /** Try once; undefined when someone else holds it. */
  tryAcquire(name: string, ttlMs: number): Promise<Lock | undefined>;
  /** Hold the lock for the duration of `work`, renewing it in the background. */
  withLock<T>(
    name: string,
    ttlMs: number,
    work: (lease: HeldLease) => Promise<T>,
  ): Promise<{ acquired: true; value: T } | { acquired: false }>;
}

/** A user's Atlassian link as stored (encrypted at rest by TokenStore). */
export interface AtlassianLink {
  accessToken: string;
  refreshToken?: string | undefined;
  /** Epoch ms when the access token expires, if known. */
  expiresAt?: number | undefined;
  scope?: string | undefined;
  /** Cloud id for the classic 3LO mode (X-Atlassian-Cloud-Id). */
  cloudId?: string | undefined;
  /** Sites the user granted, as read from the server. */
  sites?: { id: string; url: string; name: string }[] | undefined;
  accountName?: string | undefined;
  linkedAt: number;
  /** Set when a refresh failed for good; the user must reconnect. */
  broken?: boolean | undefined;
}
