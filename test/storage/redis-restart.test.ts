import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createStore } from '../../src/storage/store.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('Redis restart', () => {
  it('rejects operations during the outage, logs it, and works again after reconnecting', async () => {
    const { logger, lines } = capturingLogger();
    const store = await createStore(redis.url, { namespace: 'restart', logger });
    await store.set('before', 1);

    await redis.stop();
    await expect(store.get('before')).rejects.toThrow();
    await expect(store.set('during', 1)).rejects.toThrow();
    await expect(store.delete('before')).rejects.toThrow();
    await expect(store.setIfAbsent('during', 1)).rejects.toThrow();
    await expect(store.compareAndSwap('before', 1, 2)).rejects.toThrow();
    await expect(store.keys('')).rejects.toThrow();
    await expect(store.ping()).rejects.toThrow();
    expect(lines.some((line) => line.msg === 'Redis connection lost; reconnecting')).toBe(true);

    await redis.restart();
    await vi.waitFor(() => store.ping(), { timeout: 10_000, interval: 50 });
    await store.set('after', 'ok');
    expect(await store.get('after')).toBe('ok');
    expect(await store.setIfAbsent('nx', 1)).toBe(true);
    expect(lines.some((line) => line.msg === 'Redis connection restored')).toBe(true);
    await store.close();
  });

  it('closes cleanly while Redis is down', async () => {
    const store = await createStore(redis.url, { namespace: 'restart-close' });
    await redis.stop();
    await expect(store.close()).resolves.toBeUndefined();
    await redis.restart();
  });
});
