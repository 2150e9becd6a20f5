import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/storage/store.ts';
import { describeKeyValueStoreContract } from './contract.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vteam-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
describeKeyValueStoreContract('SQLite file, two connections', async () => {
  const url = `sqlite://${join(dir, `nested/dir/store-${++n}.sqlite`)}`;
  return { a: await createStore(url), b: await createStore(url), otherApp: await createStore(url, { namespace: 'other-app' }) };
});

describe('SQLite store', () => {
  it('keeps data in the file across reopen, and namespaces keys', async () => {
    const url = `sqlite://${join(dir, 'persist.sqlite')}`;
    const first = await createStore(url);
    await first.set('k', 'v');
    await first.close();
    const again = await createStore(url);
    const otherApp = await createStore(url, { namespace: 'other' });
    expect(await again.get('k')).toBe('v');
    expect(await otherApp.get('k')).toBeUndefined();
    expect(await otherApp.keys('')).toEqual([]);
    await again.close();
    await otherApp.close();
  });

  it('supports an in-memory database', async () => {
    const store = await createStore('sqlite::memory:');
    await store.set('k', 1);
    expect(await store.get('k')).toBe(1);
    await store.close();
  });

  it('accepts a path relative to the working directory', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const store = await createStore('sqlite://./relative/x.sqlite');
      await store.set('k', 1);
      await store.close();
    } finally {
      process.chdir(cwd);
    }
    const absolute = await createStore(`sqlite://${join(dir, 'relative/x.sqlite')}`);
    expect(await absolute.get('k')).toBe(1);
    await absolute.close();
  });
});
