/** The KeyValueStore contract, run against every backend (see store.*.test.ts). */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KeyValueStore, StoreNotifications } from '../../src/storage/types.ts';

export interface StorePair {
  /** Two independent store instances (separate connections) on the same data. */
  a: KeyValueStore;
  b: KeyValueStore;
  /** A third instance on the same backend, under another namespace (another app sharing it). */
  otherApp: KeyValueStore;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function notificationsOf(store: KeyValueStore): StoreNotifications {
  expect(store.notifications).toBeDefined();
  return store.notifications!;
}

/** Subscribes and collects what arrives. */
async function listen(store: KeyValueStore, channel: string) {
  const received: string[] = [];
  const unsubscribe = await notificationsOf(store).subscribe(channel, (message) => received.push(message));
  return { received, unsubscribe };
}

/** Waits until `received` holds exactly `expected`. */
async function hears(received: string[], expected: string[]): Promise<void> {
  await vi.waitFor(() => expect(received).toEqual(expected), { timeout: 2000, interval: 5 });
}

export function describeKeyValueStoreContract(name: string, open: () => Promise<StorePair>): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let a: KeyValueStore;
    let b: KeyValueStore;
    let otherApp: KeyValueStore;
    beforeEach(async () => {
      ({ a, b, otherApp } = await open());
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      await otherApp.close();
    });

    it('gets what was set, across instances, and deletes it', async () => {
      const value = { path: 'specs/001/spec.md', n: 1, nested: { list: [1, 'two', null] } };
      await a.set('doc', value);
      expect(await b.get('doc')).toEqual(value);
      expect(await a.get('missing')).toBeUndefined();
      expect(await b.delete('doc')).toBe(true);
      expect(await a.get('doc')).toBeUndefined();
      expect(await a.delete('doc')).toBe(false);
    });

    it('stores strings that look special verbatim', async () => {
      for (const value of [':colon', ':base64:AAAA', '', 'a:b', '{"x":1}']) {
        await a.set('s', value);
        expect(await b.get('s')).toBe(value);
      }
    });

    it('rejects undefined values and non-positive TTLs', async () => {
      await expect(a.set('u', undefined)).rejects.toThrow(/delete/);
      await expect(a.set('t', 1, 0)).rejects.toThrow(RangeError);
      await expect(a.setIfAbsent('t', 1, -5)).rejects.toThrow(RangeError);
    });

    it('forgets values after their TTL, for every operation', async () => {
      await a.set('short', 'x', 40);
      await a.setIfAbsent('short-nx', 'y', 40);
      await a.set('long', 'z', 60_000);
      expect(await b.get('short')).toBe('x');
      await sleep(150);
      expect(await b.get('short')).toBeUndefined();
      expect(await b.get('short-nx')).toBeUndefined();
      expect(await b.keys('short')).toEqual([]);
      expect(await b.compareAndSwap('short', 'x', 'w')).toBe(false);
      expect(await b.delete('short-nx')).toBe(false);
      expect(await b.get('long')).toBe('z');
    });

    it('setIfAbsent: exactly one of many concurrent callers on two instances wins', async () => {
      const callers = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).setIfAbsent('race', { winner: i }, 10_000));
      const results = await Promise.all(callers);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await a.get('race')).toEqual({ winner });
    });

    it('setIfAbsent takes over an expired key but not a live one', async () => {
      expect(await a.setIfAbsent('lease', 'first', 40)).toBe(true);
      expect(await b.setIfAbsent('lease', 'second', 40)).toBe(false);
      await sleep(150);
      expect(await b.setIfAbsent('lease', 'second')).toBe(true);
      expect(await a.get('lease')).toBe('second');
    });

    it('setIfAbsent sees values written by set, and set overwrites', async () => {
      await a.set('k', 1);
      expect(await b.setIfAbsent('k', 2)).toBe(false);
      await b.set('k', 3);
      expect(await a.get('k')).toBe(3);
    });

    it('compareAndSwap replaces only on a deep-equal match', async () => {
      await a.set('cas', { b: [1, 2], a: 'x' });
      expect(await b.compareAndSwap<unknown>('cas', { a: 'x', b: [1, 3] }, 'nope')).toBe(false);
      expect(await b.compareAndSwap<unknown>('cas', { a: 'x' }, 'nope')).toBe(false);
      expect(await b.compareAndSwap('cas', { a: 'x', b: [1, 2] }, { a: 'y' })).toBe(true); // key order is irrelevant
      expect(await a.get('cas')).toEqual({ a: 'y' });
      expect(await a.compareAndSwap('absent', 'x', 'y')).toBe(false);
      expect(await a.get('absent')).toBeUndefined();
    });

    it('compareAndSwap with undefined deletes, and can set a TTL', async () => {
      await a.set('token', 'mine');
      expect(await b.compareAndSwap('token', 'theirs', undefined)).toBe(false);
      expect(await b.compareAndSwap('token', 'mine', undefined)).toBe(true);
      expect(await a.get('token')).toBeUndefined();

      await a.set('ttl', 'v1');
      expect(await a.compareAndSwap('ttl', 'v1', 'v2', 40)).toBe(true);
      expect(await b.get('ttl')).toBe('v2');
      await sleep(150);
      expect(await b.get('ttl')).toBeUndefined();
    });

    it('compareAndSwap lets exactly one of concurrent swappers win', async () => {
      await a.set('counter', 0);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).compareAndSwap('counter', 0, i + 1)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('increment: concurrent adds on two instances are all counted', async () => {
      const adds = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).increment('counter', 1, 60_000));
      const results = await Promise.all(adds);
      expect(new Set(results).size).toBe(40); // every caller saw a distinct total
      expect(Math.max(...results)).toBe(40);
      expect(await b.get('counter')).toBe(40);
      expect(await a.increment('counter', -15)).toBe(25);
    });

    it('increment starts absent keys at 0 and keeps the first expiry', async () => {
      expect(await a.increment('window', 3, 80)).toBe(3);
      expect(await b.increment('window', 2, 60_000)).toBe(5); // a later TTL does not extend the window
      await sleep(200);
      expect(await a.get('window')).toBeUndefined();
      expect(await b.increment('window', 1, 60_000)).toBe(1);
      expect(await a.increment('no-ttl', 1)).toBe(1);
    });

    it('increment refuses non-integers', async () => {
      await expect(a.increment('n', 1.5)).rejects.toThrow(RangeError);
      await a.set('text', 'hello');
      await expect(a.increment('text', 1)).rejects.toThrow();
    });

    it('lists keys by prefix, without other prefixes or glob surprises', async () => {
      await a.set('publish:ns/wf:spec.md', 1);
      await a.set('publish:ns/wf:plan.md', 2);
      await a.set('publish:other', 3);
      await a.set('card:x', 4);
      await a.set('weird*[key]?', 5);
      expect((await b.keys('publish:ns/wf:')).sort()).toEqual(['publish:ns/wf:plan.md', 'publish:ns/wf:spec.md']);
      expect((await b.keys('publish:')).length).toBe(3);
      expect(await b.keys('weird*[')).toEqual(['weird*[key]?']);
      expect(await b.keys('nothing:')).toEqual([]);
    });

    it('answers ping', async () => {
      await expect(a.ping()).resolves.toBeUndefined();
    });

    it('notifications: every subscriber hears each message, in order, the publisher included', async () => {
      const onB = await listen(b, 'news');
      const onA = await listen(a, 'news');
      const elsewhere = await listen(b, 'other-channel');
      for (const message of ['one', 'two', 'three']) await notificationsOf(a).publish('news', message);
      await hears(onB.received, ['one', 'two', 'three']);
      await hears(onA.received, ['one', 'two', 'three']);
      expect(elsewhere.received).toEqual([]);
    });

    it('notifications: unsubscribing silences that listener only', async () => {
      const first = await listen(b, 'news');
      const second = await listen(b, 'news');
      await first.unsubscribe();
      await notificationsOf(a).publish('news', 'after');
      await hears(second.received, ['after']); // delivered to the same connection: the first had its chance
      expect(first.received).toEqual([]);
      await second.unsubscribe();
      await first.unsubscribe(); // twice is harmless
    });

    it('notifications: stores under another namespace do not hear each other', async () => {
      const mine = await listen(b, 'news');
      const theirs = await listen(otherApp, 'news');
      await notificationsOf(a).publish('news', 'ours');
      await notificationsOf(otherApp).publish('news', 'theirs'); // sent after ours: when it is heard, ours would have been
      await hears(theirs.received, ['theirs']);
      await hears(mine.received, ['ours']);
    });

    it('notifications: close ends the subscriptions of that instance', async () => {
      const closing = await listen(b, 'news');
      const staying = await listen(a, 'news');
      await b.close();
      await notificationsOf(a).publish('news', 'after close');
      await hears(staying.received, ['after close']);
      await sleep(20);
      expect(closing.received).toEqual([]);
      await expect(closing.unsubscribe()).resolves.toBeUndefined();
    });

    it('notifications: a listener that throws neither breaks delivery nor the publisher', async () => {
      await notificationsOf(b).subscribe('news', () => {
        throw new Error('listener bug');
      });
      const after = await listen(b, 'news');
      await notificationsOf(a).publish('news', 'one');
      await notificationsOf(a).publish('news', 'two');
      await hears(after.received, ['one', 'two']);
    });
  });
}
