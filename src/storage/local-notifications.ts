/**
 * Store notifications within this process, for SQLite: every store opened on the same file in this
 * process hears the others. Other processes sharing the file hear nothing (SQLite has no way to
 * tell them), so whoever relies on notifications must keep polling as well.
 */
import { EventEmitter } from 'node:events';
import type { StoreNotifications } from './types.ts';

/** One hub for the process; events are `<scope>\n<channel>`, so files and channels never mix. */
const hub = new EventEmitter().setMaxListeners(0);

export interface LocalNotifications extends StoreNotifications {
  /** Ends this instance's subscriptions; publishing afterwards fails. */
  close(): void;
}

/** `scope`: what the stores that should hear each other share (the database file's absolute path). */
export function localNotifications(scope: string): LocalNotifications {
  const subscriptions = new Set<() => void>();
  let closed = false;
  const eventOf = (channel: string) => `${scope}\n${channel}`;
  return {
    async publish(channel, message) {
      if (closed) throw new Error('The store is closed');
      hub.emit(eventOf(channel), message);
    },
    async subscribe(channel, listener) {
      if (closed) throw new Error('The store is closed');
      const event = eventOf(channel);
      const onMessage = (message: string) => listener(message);
      const end = () => {
        hub.off(event, onMessage);
        subscriptions.delete(end);
      };
      hub.on(event, onMessage);
      subscriptions.add(end);
      return async () => end();
    },
    close() {
      closed = true;
      for (const end of [...subscriptions]) end();
    },
  };
}
