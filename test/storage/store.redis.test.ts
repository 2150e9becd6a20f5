import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/storage/store.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';
import { describeKeyValueStoreContract } from './contract.ts';

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

let n = 0;
describeKeyValueStoreContract('Redis, two clients', async () => {
  const namespace = `contract-${++n}`; // one server for the file; a namespace per test
  return {
    a: await createStore(redis.url, { namespace }),
    b: await createStore(redis.url, { namespace }),
    otherApp: await createStore(redis.url, { namespace: `${namespace}-other` }),
  };
});

describe('Redis store', () => {
  it('fails fast at start when Redis is unreachable', async () => {
    await expect(createStore('redis://127.0.0.1:1')).rejects.toThrow(/Could not connect to Redis/);
  });
});
