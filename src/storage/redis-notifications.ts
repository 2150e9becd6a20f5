/**
 * Store notifications on Redis: PUBLISH on the main client; SUBSCRIBE on one extra connection per
 * process (a subscribed connection can run nothing else), opened on the first subscribe. It
 * reconnects and resubscribes by itself, like the main client; messages sent meanwhile are lost.
 */
import type { RedisClientType } from '@keyv/redis';
import type { Logger } from 'pino';
import type { StoreNotifications } from './types.ts';

type RedisClient = RedisClientType;

export interface RedisNotifications extends StoreNotifications {
  /** Closes the subscriber connection, ending every subscription. */
  close(): void;
}

export function redisNotifications(client: RedisClient, logger: Logger | undefined): RedisNotifications {
  let subscriber: RedisClient | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;

  async function connection(): Promise<RedisClient> {
    if (closed) throw new Error('The store is closed');
    if (subscriber === undefined) {
      const opened: RedisClient = client.duplicate();
      let healthy = false;
      let connected = false;
      opened.on('error', (error: Error) => {
        if (healthy) logger?.warn({ err: error }, 'Redis subscriber connection lost; reconnecting');
        else logger?.debug({ err: error }, 'Redis subscriber connection attempt failed');
        healthy = false;
      });
      opened.on('ready', () => {
        if (!healthy && connected) logger?.info('Redis subscriber connection restored');
        connected = true;
        healthy = true;
      });
      subscriber = opened;
      connecting = opened.connect().then(
        () => undefined,
        (error: unknown) => {
          if (subscriber === opened) subscriber = undefined; // the next subscribe tries again
          throw error;
        },
      );
    }
    const opened = subscriber;
    await connecting;
    return opened;
  }

  return {
    async publish(channel, message) {
      await client.publish(channel, message);
    },
    async subscribe(channel, listener) {
      const opened = await connection();
      // A listener of its own, so unsubscribing removes this one only (node-redis keeps a set per channel).
      const onMessage = (message: string) => listener(message);
      await opened.subscribe(channel, onMessage);
      return async () => {
        if (opened.isOpen) await opened.unsubscribe(channel, onMessage);
      };
    },
    close() {
      closed = true;
      // Nothing on a subscriber connection is worth waiting for.
      if (subscriber?.isOpen === true) subscriber.destroy();
      subscriber = undefined;
    },
  };
}
