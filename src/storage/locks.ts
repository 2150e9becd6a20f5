/**
 * Lease-based locks on a KeyValueStore. The value is a random token per acquisition; renew and
 * release are compare-and-swaps on that token, so a holder whose lease expired and was taken over
 * can never extend or free the new holder's lock.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { KeyValueStore, Lock, LockService } from './types.ts';

export interface LockServiceOptions {
  /** Who holds the lock, for operators reading the store (default `<hostname>/<pid>`). */
  owner?: string;
  logger?: Logger;
}

const lockKey = (name: string) => `lock:${name}`;

export function createLockService(store: KeyValueStore, options: LockServiceOptions = {}): LockService {
  const owner = options.owner ?? `${hostname()}/${process.pid}`;
  const { logger } = options;

  async function tryAcquire(name: string, ttlMs: number): Promise<Lock | undefined> {
    const key = lockKey(name);
    const token = `${owner}/${randomUUID()}`;
    if (!(await store.setIfAbsent(key, token, ttlMs))) return undefined;
    return {
      name,
      renew: () => store.compareAndSwap(key, token, token, ttlMs),
      release: async () => {
        await store.compareAndSwap(key, token, undefined);
      },
    };
  }

  async function withLock<T>(name: string, ttlMs: number, work: () => Promise<T>) {
    const lock = await tryAcquire(name, ttlMs);
    if (lock === undefined) return { acquired: false } as const;

    let renewing: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      renewing = lock.renew().then(
        (held) => {
          if (!held) logger?.warn({ lock: name }, 'Lock lease lost while work was running');
        },
        (error: unknown) => logger?.warn({ lock: name, err: error }, 'Could not renew lock lease; will retry'),
      );
    }, Math.max(1, Math.floor(ttlMs / 3)));
    timer.unref();

    try {
      return { acquired: true, value: await work() } as const;
    } finally {
      clearInterval(timer);
      await renewing; // a renew in flight must not re-extend the lease after release
      try {
        await lock.release();
      } catch (error) {
        // The lease expires by itself; failing the finished work for this would be worse.
        logger?.warn({ lock: name, err: error }, 'Could not release lock; it will expire');
      }
    }
  }

  return { tryAcquire, withLock };
}
