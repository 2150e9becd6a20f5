/**
 * How the rate limiter's dispatcher learns that a slot is free: at once when a local call ends, and
 * through the store's notifications when a call ends on another replica. Every test sets the poll
 * to a minute, so a call that starts within seconds was woken, not found by the poll.
 */
import { createClient } from '@keyv/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter, type RateLimiterOptions } from '../../src/atlassian/rate-limiter.ts';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore, StoreNotifications } from '../../src/storage/types.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';

const SITE = 'acme.atlassian.net';
const POLL_MS = 60_000;
/** Far below the poll: a call starting within this was woken. */
const PROMPTLY_MS = 2_000;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  expect(unhandled).toEqual([]);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function limiter(store: KeyValueStore, options: Partial<RateLimiterOptions> = {}): RateLimiter {
  const created = new RateLimiter({ store, concurrency: 1, hourlyBudget: 1000, maxWaitMs: 120_000, pollMs: POLL_MS, ...options });
  cleanup.push(() => created.close());
  return created;
}

/** Starts a call that holds its slot until `finish` is called. */
async function holdSlot(on: RateLimiter, lane = 'holder') {
  const started = deferred();
  const finished = deferred();
  const done = on.run(SITE, lane, async () => {
    started.resolve();
    await finished.promise;
  });
  await started.promise;
  return {
    /** Ends the call; resolves once its caller has the result (the slot is free by then). */
    finish: async () => {
      finished.resolve();
      await done;
    },
  };
}

/**
 * Queues calls that record the order they start in. `queued`: the dispatcher has found no slot free
 * and is about to wait (it tells callers their position then).
 */
function queueCalls(on: RateLimiter, calls: [lane: string, label: string][], started: string[]) {
  const queued = deferred();
  const done = calls.map(([lane, label]) =>
    on.run(
      SITE,
      lane,
      async () => void started.push(label),
      () => queued.resolve(),
    ),
  );
  return { queued: queued.promise, done: Promise.all(done) };
}

describe('rate limiter, one process', () => {
  async function memoryStore(): Promise<KeyValueStore> {
    const store = await createStore('sqlite::memory:');
    cleanup.push(() => store.close());
    return store;
  }

  it('does not lose a wake-up that comes while the dispatcher is between two store calls', async () => {
    const inner = await memoryStore();
    // The next slot attempt stops after the store answered "all held", until the test lets it go on.
    let pause: { reached: () => void; resume: Promise<void> } | undefined;
    const store: KeyValueStore = {
      ...inner,
      notifications: undefined, // only the local wake-up can start the waiting call
      setIfAbsent: async <T>(key: string, value: T, ttlMs?: number) => {
        const won = await inner.setIfAbsent(key, value, ttlMs);
        const held = pause;
        if (held !== undefined && key.includes(':slot:')) {
          pause = undefined;
          held.reached();
          await held.resume;
        }
        return won;
      },
    };
    const limits = limiter(store);
    const holder = await holdSlot(limits);
    const reached = deferred();
    const resume = deferred();
    pause = { reached: reached.resolve, resume: resume.promise };

    const waiting = limits.run(SITE, 'waiter', async () => 'ran');
    await reached.promise; // the dispatcher has seen the slot held and not yet started to wait
    await holder.finish(); // the slot is freed and the dispatcher told, between its two steps
    resume.resolve();

    await expect(within(PROMPTLY_MS, waiting)).resolves.toBe('ran');
  });

  it('hands a freed slot to the next local waiter at once, round-robin across lanes', async () => {
    const limits = limiter(await memoryStore());
    const holder = await holdSlot(limits);
    const started: string[] = [];
    const calls = queueCalls(
      limits,
      [
        ['alice', 'a1'],
        ['alice', 'a2'],
        ['alice', 'a3'],
        ['bob', 'b1'],
        ['carol', 'c1'],
      ],
      started,
    );
    await calls.queued;
    await holder.finish();
    await within(PROMPTLY_MS, calls.done);
    expect(started).toEqual(['a1', 'b1', 'c1', 'a2', 'a3']);
  });

  it('polls quickly when the store cannot notify, and survives notifications that fail', async () => {
    const inner = await memoryStore();
    const failing: StoreNotifications = {
      publish: () => Promise.reject(new Error('publish failed')),
      subscribe: () => Promise.reject(new Error('subscribe failed')),
    };
    // Two limiters as two replicas: the second only finds the freed slot by polling.
    const a = limiter({ ...inner, notifications: failing }, { pollMs: undefined });
    const b = limiter({ ...inner, notifications: failing }, { pollMs: undefined });
    const holder = await holdSlot(a);
    const started: string[] = [];
    const calls = queueCalls(b, [['bob', 'b1']], started);
    await calls.queued;
    await holder.finish();
    await within(PROMPTLY_MS, calls.done);
    expect(started).toEqual(['b1']);
  });
});

describe('rate limiter, two replicas on one Redis', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  let namespaces = 0;

  interface Replica {
    limits: RateLimiter;
    /** Resolves once the replica's subscription is active. */
    subscribed: Promise<void>;
  }

  /** Two "replicas": each its own store connection and limiter, on one namespace. */
  async function replicas(): Promise<[Replica, Replica, string]> {
    const namespace = `limiter-${++namespaces}`;
    const one = async (): Promise<Replica> => {
      const store = await createStore(redis.url, { namespace });
      cleanup.push(() => store.close());
      const notifications = store.notifications!;
      const subscribed = deferred();
      const observed: KeyValueStore = {
        ...store,
        notifications: {
          publish: (channel, message) => notifications.publish(channel, message),
          subscribe: async (channel, listener) => {
            const unsubscribe = await notifications.subscribe(channel, listener);
            subscribed.resolve();
            return unsubscribe;
          },
        },
      };
      return { limits: limiter(observed), subscribed: subscribed.promise };
    };
    return [await one(), await one(), namespace];
  }

  it('starts a call queued on one replica as soon as the other frees the slot', async () => {
    const [a, b] = await replicas();
    const holder = await holdSlot(a.limits);
    const started: string[] = [];
    const calls = queueCalls(b.limits, [['bob', 'b1']], started);
    await Promise.all([calls.queued, b.subscribed]);
    await holder.finish();
    await within(PROMPTLY_MS, calls.done);
    expect(started).toEqual(['b1']);
  });

  it('keeps each replica’s round-robin order while the slot moves between them', async () => {
    const [a, b] = await replicas();
    const holder = await holdSlot(a.limits);
    const onA: string[] = [];
    const onB: string[] = [];
    const queuedA = queueCalls(
      a.limits,
      [
        ['alice', 'a1'],
        ['alice', 'a2'],
        ['alice', 'a3'],
        ['anna', 'n1'],
      ],
      onA,
    );
    const queuedB = queueCalls(
      b.limits,
      [
        ['bob', 'b1'],
        ['bob', 'b2'],
        ['bob', 'b3'],
        ['carol', 'c1'],
        ['dave', 'd1'],
      ],
      onB,
    );
    await Promise.all([queuedA.queued, queuedB.queued, a.subscribed, b.subscribed]);
    await holder.finish();
    await within(PROMPTLY_MS, Promise.all([queuedA.done, queuedB.done]));
    expect(onA).toEqual(['a1', 'n1', 'a2', 'a3']);
    expect(onB).toEqual(['b1', 'c1', 'd1', 'b2', 'b3']);
  });

  it('ends its subscription on close()', async () => {
    const [a, b, namespace] = await replicas();
    const channel = `${namespace}:ratelimit:${SITE}:freed`;
    const admin = createClient({ url: redis.url });
    await admin.connect();
    cleanup.push(() => admin.close());
    const subscribers = async () => ((await admin.sendCommand(['PUBSUB', 'NUMSUB', channel])) as [string, number])[1];

    await a.limits.run(SITE, 'alice', async () => 1);
    await b.limits.run(SITE, 'bob', async () => 2);
    await Promise.all([a.subscribed, b.subscribed]);
    expect(await subscribers()).toBe(2);
    await b.limits.close();
    expect(await subscribers()).toBe(1);
    await a.limits.close();
    expect(await subscribers()).toBe(0);
  });
});
