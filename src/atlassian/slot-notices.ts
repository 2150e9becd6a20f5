/**
 * "A slot was freed", between the rate limiters sharing a store: a dispatcher waiting on one replica
 * hears at once of a call that ended on another, instead of at its next poll. Best effort only (store
 * notifications are at most once, and absent on some stores), so the dispatcher still polls.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { KeyValueStore } from '../storage/types.ts';

export interface SlotNoticesOptions {
  store: KeyValueStore;
  channel: string;
  /** Another limiter freed a slot. */
  onFreed: () => void;
  logger?: Logger | undefined;
}

export class SlotNotices {
  private readonly options: SlotNoticesOptions;
  /** Tells this limiter's own notices apart: it has woken its dispatcher directly already. */
  private readonly id = randomUUID();
  private subscription: Promise<(() => Promise<void>) | undefined> | undefined;
  private subscribed = false;
  private closed = false;

  constructor(options: SlotNoticesOptions) {
    this.options = options;
  }

  /** True while other limiters' notices reach `onFreed`. */
  get listening(): boolean {
    return this.subscribed;
  }

  /** Subscribes, once; after a failure the next call tries again. */
  listen(): void {
    const { store, channel, logger } = this.options;
    if (store.notifications === undefined || this.subscription !== undefined || this.closed) return;
    const onMessage = (sender: string) => {
      if (sender !== this.id) this.options.onFreed();
    };
    this.subscription = store.notifications.subscribe(channel, onMessage).then(
      (unsubscribe) => {
        this.subscribed = !this.closed;
        return unsubscribe;
      },
      (error: unknown) => {
        logger?.warn({ err: error, channel }, 'could not subscribe to freed rate-limit slots; polling only');
        this.subscription = undefined;
        return undefined;
      },
    );
  }

  /** Tells the other limiters; a notice lost costs them one poll period. */
  announce(): void {
    const { store, channel, logger } = this.options;
    if (store.notifications === undefined || this.closed) return;
    store.notifications
      .publish(channel, this.id)
      .catch((error: unknown) => logger?.warn({ err: error, channel }, 'could not announce a freed rate-limit slot'));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribed = false;
    const unsubscribe = await this.subscription;
    this.subscription = undefined;
    await unsubscribe?.().catch((error: unknown) =>
      this.options.logger?.warn({ err: error, channel: this.options.channel }, 'could not unsubscribe from freed rate-limit slots'),
    );
  }
}
