import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFailureLog } from '../../src/status/failure-log.ts';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';

/** Recent enough to be inside the log's horizon. */
const T = Date.now();

describe('failure log (embedded store)', () => {
  let store: KeyValueStore;
  beforeEach(async () => {
    store = await createStore('sqlite::memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  it('returns the newest failures first, at most n', async () => {
    const log = createFailureLog(store);
    for (let i = 0; i < 5; i += 1) await log.record({ code: `CODE_${i}`, message: `failure ${i}`, at: T + i, path: `specs/${i}.md` });
    const recent = await log.recent(3);
    expect(recent.map((f) => f.code)).toEqual(['CODE_4', 'CODE_3', 'CODE_2']);
    expect(recent[0]).toEqual({ code: 'CODE_4', message: 'failure 4', at: T + 4, path: 'specs/4.md' });
  });

  it('keeps who asked, and filters before counting so a narrow view still gets its n newest', async () => {
    const log = createFailureLog(store);
    await log.record({ code: 'MINE', message: 'old', at: T, user: 'U0001' });
    for (let i = 1; i <= 5; i += 1) await log.record({ code: 'OTHER', message: `m${i}`, at: T + i, user: 'U0002' });
    const mine = await log.recent(1, (f) => f.user === 'U0001');
    expect(mine).toEqual([{ code: 'MINE', message: 'old', at: T, user: 'U0001' }]);
  });

  it('keeps a capped list and forgets entries older than its horizon', async () => {
    let now = 10_000_000;
    const log = createFailureLog(store, { capacity: 4, maxAgeMs: 60_000, now: () => now });
    for (let i = 0; i < 10; i += 1) await log.record({ code: 'MCP_UNREACHABLE', message: `m${i}`, at: now + i });
    expect((await log.recent(100)).map((f) => f.message)).toEqual(['m9', 'm8', 'm7', 'm6']);
    now += 120_000;
    expect(await log.recent(100)).toEqual([]);
  });

  it('scrubs token-like text and clips long messages before storing', async () => {
    const log = createFailureLog(store);
    await log.record({ code: 'INTERNAL', message: `Authorization: Bearer abc.def.ghi and xoxb-123-456 ${'x'.repeat(1000)}`, at: T });
    const [entry] = await log.recent(1);
    expect(entry!.message).not.toContain('abc.def.ghi');
    expect(entry!.message).not.toContain('xoxb-123-456');
    expect(entry!.message.length).toBeLessThanOrEqual(400);
  });

  it('ignores damaged or hostile stored data instead of failing', async () => {
    await store.set('status:publish-failures', [{ code: 'OK', message: 'fine', at: T + 5 }, { code: 42 }, 'junk', null]);
    const log = createFailureLog(store);
    expect(await log.recent(10)).toEqual([{ code: 'OK', message: 'fine', at: T + 5 }]);
    await store.set('status:publish-failures', { not: 'a list' });
    expect(await log.recent(10)).toEqual([]);
    await log.record({ code: 'NEW', message: 'after damage', at: T + 6 });
    expect((await log.recent(10)).map((f) => f.code)).toEqual(['NEW']);
  });

  it('a burst of failures at once is written in a few batches, every one kept, newest first', async () => {
    const writes: string[] = [];
    const counting: KeyValueStore = {
      ...store,
      setIfAbsent: (...args) => (writes.push('setIfAbsent'), store.setIfAbsent(...args)),
      compareAndSwap: (...args) => (writes.push('compareAndSwap'), store.compareAndSwap(...args)),
    };
    const log = createFailureLog(counting, { capacity: 100 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.record({ code: 'MCP_UNREACHABLE', message: `m${i}`, at: T + i })));
    expect((await log.recent(100)).map((f) => f.message)).toEqual(Array.from({ length: 40 }, (_, i) => `m${39 - i}`));
    // One write for the first failure, one for the 39 that came while it was being written.
    expect(writes.length).toBeLessThanOrEqual(3);
  });

  it('recording never throws, even when the store is gone', async () => {
    const log = createFailureLog(store);
    await store.close();
    await expect(log.record({ code: 'X', message: 'y', at: 1 })).resolves.toBeUndefined();
  });
});

describe('failure log shared through Redis', () => {
  let redis: RedisHandle;
  let a: KeyValueStore;
  let b: KeyValueStore;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    a = await createStore(redis.url, { namespace: `fl-${Math.random().toString(36).slice(2)}` });
  });
  afterEach(async () => {
    await a.close();
    await b?.close();
  });

  it("two replicas see each other's failures, and concurrent records are all kept", async () => {
    const namespace = `fl-shared-${Math.random().toString(36).slice(2)}`;
    await a.close();
    a = await createStore(redis.url, { namespace });
    b = await createStore(redis.url, { namespace });
    const replicaA = createFailureLog(a);
    const replicaB = createFailureLog(b);
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? replicaA : replicaB).record({ code: `C${i}`, message: `m${i}`, at: T + i })),
    );
    const seenByA = await replicaA.recent(50);
    const seenByB = await replicaB.recent(50);
    expect(seenByA).toHaveLength(12);
    expect(seenByB).toEqual(seenByA);
    expect(seenByA[0]!.code).toBe('C11');
  });
});
