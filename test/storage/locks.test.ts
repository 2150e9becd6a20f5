import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLockService } from '../../src/storage/locks.ts';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore, LockService } from '../../src/storage/types.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';
import { sleep } from './contract.ts';

let dir: string;
let redis: RedisHandle;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vteam-locks-'));
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const backends: Array<[string, () => Promise<[KeyValueStore, KeyValueStore]>]> = [
  [
    'SQLite',
    async () => {
      const url = `sqlite://${join(dir, `locks-${++n}.sqlite`)}`;
      return [await createStore(url), await createStore(url)];
    },
  ],
  [
    'Redis',
    async () => {
      const namespace = `locks-${++n}`;
      return [await createStore(redis.url, { namespace }), await createStore(redis.url, { namespace })];
    },
  ],
];

describe.each(backends)('LockService on %s', (_name, open) => {
  let stores: [KeyValueStore, KeyValueStore];
  let mine: LockService;
  let theirs: LockService;
  beforeEach(async () => {
    stores = await open();
    mine = createLockService(stores[0], { owner: 'replica-a' });
    theirs = createLockService(stores[1], { owner: 'replica-b' });
  });
  afterEach(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });

  it('is exclusive until released', async () => {
    const lock = await mine.tryAcquire('publish', 10_000);
    expect(lock?.name).toBe('publish');
    expect(await theirs.tryAcquire('publish', 10_000)).toBeUndefined();
    expect(await mine.tryAcquire('publish', 10_000)).toBeUndefined(); // not re-entrant
    expect(await theirs.tryAcquire('other', 10_000)).toBeDefined();
    await lock?.release();
    expect(await theirs.tryAcquire('publish', 10_000)).toBeDefined();
  });

  it('lets another holder in after the lease expires, and the old holder can neither renew nor release it', async () => {
    const stale = await mine.tryAcquire('card', 40);
    await sleep(150);
    const fresh = await theirs.tryAcquire('card', 10_000);
    expect(fresh).toBeDefined();
    expect(await stale?.renew()).toBe(false);
    await stale?.release();
    expect(await mine.tryAcquire('card', 10_000)).toBeUndefined();
  });

  it('renew extends the lease', async () => {
    const lock = await mine.tryAcquire('renewed', 300);
    await sleep(200);
    expect(await lock?.renew()).toBe(true);
    await sleep(200); // past the first lease, inside the renewed one
    expect(await theirs.tryAcquire('renewed', 300)).toBeUndefined();
  });

  it('withLock renews while work runs and releases afterwards', async () => {
    // A lease long enough that a busy machine's scheduling stall (hundreds of ms) does not outlast it.
    const result = await mine.withLock('long', 1000, async () => {
      await sleep(3200); // over three times the TTL: only renewal keeps the lock
      return (await theirs.tryAcquire('long', 1000)) === undefined ? 'still held' : 'lost';
    });
    expect(result).toEqual({ acquired: true, value: 'still held' });
    expect(await theirs.tryAcquire('long', 1000)).toBeDefined();
  });

  it('withLock reports contention without running the work', async () => {
    await theirs.tryAcquire('busy', 10_000);
    let ran = false;
    const result = await mine.withLock('busy', 10_000, async () => {
      ran = true;
    });
    expect(result).toEqual({ acquired: false });
    expect(ran).toBe(false);
  });

  it('withLock releases when the work throws', async () => {
    await expect(
      mine.withLock('throws', 10_000, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await theirs.tryAcquire('throws', 10_000)).toBeDefined();
  });
});
