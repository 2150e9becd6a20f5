/**
 * A counting semaphore on the KeyValueStore, shared by every replica using the same store: `size`
 * slot keys, each taken with setIfAbsent under a lease that is renewed while the call runs. A
 * replica that dies stops renewing, so its slots come back when their leases run out.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { KeyValueStore } from '../storage/types.ts';

export interface SlotPermit {
  release(): Promise<void>;
}

export interface SlotsOptions {
  store: KeyValueStore;
  /** Store key prefix of this semaphore's slots. */
  prefix: string;
  size: number;
  /** How long a slot outlives a holder that stopped renewing it. */
  leaseMs: number;
  owner: string;
  logger?: Logger | undefined;
}

export class Slots {
  private readonly options: SlotsOptions;

  constructor(options: SlotsOptions) {
    this.options = options;
  }

  /** A free slot, or undefined when all `size` are held. Starts at a random slot to spread contention. */
  async tryAcquire(): Promise<SlotPermit | undefined> {
    const { store, size, leaseMs } = this.options;
    const token = `${this.options.owner}/${randomUUID()}`;
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i += 1) {
      const key = this.key((start + i) % size);
      if (await store.setIfAbsent(key, token, leaseMs)) return this.permit(key, token);
    }
    return undefined;
  }

  /** Slots held now, by any replica. */
  async held(): Promise<number> {
    const keys = Array.from({ length: this.options.size }, (_, i) => this.key(i));
    const values = await Promise.all(keys.map((key) => this.options.store.get<string>(key)));
    return values.filter((value) => value !== undefined).length;
  }

  private permit(key: string, token: string): SlotPermit {
    const { store, leaseMs, logger } = this.options;
    let renewing: Promise<unknown> = Promise.resolve();
    const timer = setInterval(
      () => {
        renewing = store.compareAndSwap(key, token, token, leaseMs).then(
          (held) => {
            if (!held) logger?.warn({ slot: key }, 'rate-limit slot lease lost while a call was running');
          },
          (error: unknown) => logger?.warn({ slot: key, err: error }, 'could not renew a rate-limit slot lease'),
        );
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
    timer.unref();
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        clearInterval(timer);
        await renewing;
        // If this fails the lease still expires by itself.
        await store
          .compareAndSwap(key, token, undefined)
          .catch((error: unknown) => logger?.warn({ slot: key, err: error }, 'could not release a rate-limit slot'));
      },
    };
  }

  private key(index: number): string {
    return `${this.options.prefix}${index}`;
  }
}
