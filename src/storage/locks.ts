/**
 * Lease-based locks on a KeyValueStore. The value is a random token per acquisition; renew, confirm
 * and release are compare-and-swaps on that token, so a holder whose lease expired and was taken over
 * can never extend, confirm or free the new holder's lock.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { HeldLease, KeyValueStore, Lock, LockService } from './types.ts';

export interface LockServiceOptions {
  /** Who holds the lock, for operators reading the store (default `<hostname>/<pid>`). */
  owner?: string;
  logger?: Logger;
}

/** The lease behind a `withLock` was lost, or could not be proven held; the work must stop acting. */
export class LeaseLostError extends Error {
  readonly code = 'LEASE_LOST';
  readonly lock: string;
  constructor(lock: string, options?: { cause?: unknown }) {
    super(`The lease ${lock} is no longer held`, options);
    this.name = 'LeaseLostError';
    this.lock = lock;
  }
}

export function isLeaseLost(error: unknown): error is LeaseLostError {
  return error instanceof LeaseLostError;
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
      token,
      renew: () => store.compareAndSwap(key, token, token, ttlMs),
      release: async () => {
        await store.compareAndSwap(key, token, undefined);
      },
    };
  }

  async function withLock<T>(name: string, ttlMs: number, work: (lease: HeldLease) => Promise<T>) {
    const lock = await tryAcquire(name, ttlMs);
    if (lock === undefined) return { acquired: false } as const;

    // Once lost, lost for good: a later successful CAS is impossible (the token is unique), but a
    // failed renew must not be forgotten by a confirm that races it.
    let lost = false;
    const held: HeldLease = {
      name,
      token: lock.token,
      async confirm() {
        if (lost) throw new LeaseLostError(name);
        let stillHeld: boolean;
        try {
          stillHeld = await lock.renew();
        } catch (error) {
          throw new LeaseLostError(name, { cause: error });
        }
        if (!stillHeld) {
          lost = true;
          throw new LeaseLostError(name);
        }
      },
    };

    let renewing: Promise<unknown> = Promise.resolve();
    const timer = setInterval(
      () => {
        renewing = lock.renew().then(
          (stillHeld) => {
            if (!stillHeld && !lost) {
              lost = true;
              logger?.warn({ lock: name }, 'Lock lease lost while work was running');
            }
          },
          (error: unknown) => logger?.warn({ lock: name, err: error }, 'Could not renew lock lease; will retry'),
        );
      },
      Math.max(1, Math.floor(ttlMs / 3)),
    );
    timer.unref();

    try {
      return { acquired: true, value: await work(held) } as const;
    } finally {
      clearInterval(timer);
      await renewing; // a renew in flight must not re-extend the lease after release
      try {
        if (!lost) await lock.release();
      } catch (error) {
        // The lease expires by itself; failing the finished work for this would be worse.
        logger?.warn({ lock: name, err: error }, 'Could not release lock; it will expire');
      }
    }
  }

  return { tryAcquire, withLock };
}
