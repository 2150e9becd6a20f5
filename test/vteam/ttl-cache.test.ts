import { describe, expect, it } from 'vitest';
import { createTtlCache } from '../../src/vteam/ttl-cache.ts';

/** A load whose answer the test gives when it wants. */
function controlledLoads() {
  const pending: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  let started = 0;
  const load = () => {
    started += 1;
    return new Promise<string>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return { load, pending, started: () => started };
}

describe('TtlCache', () => {
  it('loads a key once per TTL and shares the load among concurrent readers', async () => {
    let now = 0;
    const cache = createTtlCache<string>(1_000, () => now);
    const loads = controlledLoads();
    const [a, b] = [cache.get('k', loads.load), cache.get('k', loads.load)];
    loads.pending[0]!.resolve('v1');
    expect([await a, await b]).toEqual(['v1', 'v1']);
    now = 400;
    expect(await cache.get('k', loads.load)).toBe('v1');
    expect(loads.started()).toBe(1);
  });

  /** A cache of TTL 1 s holding `v1`, loaded at 0. */
  async function holdingV1() {
    const clock = { now: 0 };
    const cache = createTtlCache<string>(1_000, () => clock.now);
    const loads = controlledLoads();
    const first = cache.get('k', loads.load);
    loads.pending[0]!.resolve('v1');
    await first;
    return { clock, cache, loads };
  }

  it('past half its TTL, serves the value at once and reloads it in the background', async () => {
    const { clock, cache, loads } = await holdingV1();
    clock.now = 600;
    expect(await cache.get('k', loads.load)).toBe('v1'); // not waiting for the reload
    expect(await cache.get('k', loads.load)).toBe('v1'); // one reload at a time
    expect(loads.started()).toBe(2);
    loads.pending[1]!.resolve('v2');
    await Promise.resolve();
    await Promise.resolve();
    expect(await cache.get('k', loads.load)).toBe('v2');
    // The reload started at 600, so v2 lives until 1,600.
    clock.now = 1_500;
    expect(await cache.get('k', loads.load)).toBe('v2');
  });

  it('never serves a value older than its TTL, even when reloads fail', async () => {
    const { clock, cache, loads } = await holdingV1();
    clock.now = 600;
    await cache.get('k', loads.load);
    loads.pending[1]!.reject(new Error('apiserver down'));
    await new Promise((resolve) => setImmediate(resolve));
    clock.now = 1_000;
    const late = cache.get('k', loads.load);
    expect(loads.started()).toBe(3);
    loads.pending[2]!.reject(new Error('apiserver down'));
    await expect(late).rejects.toThrow('apiserver down');
  });

  it('does not keep a failed load, and forgets everything on clear', async () => {
    const cache = createTtlCache<string>(1_000, () => 0);
    await expect(cache.get('k', () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    expect(await cache.get('k', async () => 'v1')).toBe('v1');
    cache.clear();
    expect(await cache.get('k', async () => 'v2')).toBe('v2');
  });
});
