import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyv } from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteKeyvAdapter } from '../../src/storage/sqlite-adapter.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vteam-sqlite-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SqliteKeyvAdapter as a plain Keyv store', () => {
  it('works with Keyv defaults: namespaces, TTL, many-ops, clear', async () => {
    const path = join(dir, 'keyv.sqlite');
    const users = new Keyv({ store: new SqliteKeyvAdapter({ path }), namespace: 'users' });
    const cards = new Keyv({ store: new SqliteKeyvAdapter({ path }), namespace: 'cards' });

    await users.set('u1', { name: 'Ada' });
    await users.set('u2', Buffer.from('bytes'));
    await cards.set('c1', 'card', 60_000);
    expect(await users.get('u1')).toEqual({ name: 'Ada' });
    expect(await users.get('u2')).toEqual(Buffer.from('bytes'));
    expect(await users.has('u1')).toBe(true);
    expect(await users.get(['u1', 'missing'])).toEqual([{ name: 'Ada' }, undefined]);
    expect(await users.delete(['u1', 'u2'])).toBe(true);
    expect(await users.get('u1')).toBeUndefined();

    await users.set('u3', 1);
    await users.clear();
    expect(await users.get('u3')).toBeUndefined();
    expect(await cards.get('c1')).toBe('card'); // clear stays inside its namespace
    await users.disconnect();
    await cards.disconnect();
  });

  it('hides expired rows and sweeps them on a later write', async () => {
    let now = 1_000_000;
    const adapter = new SqliteKeyvAdapter({ path: ':memory:', now: () => now, sweepIntervalMs: 0 });
    await adapter.set('old', '"x"', 1000);
    expect(await adapter.get('old')).toBe('"x"');
    now += 1001;
    expect(await adapter.get('old')).toBeUndefined();
    expect(await adapter.has('old')).toBe(false);
    expect(adapter.keysWithPrefix('')).toEqual([]);
    expect(adapter.insertIfAbsent('old', '"new"')).toBe(true);
    expect(await adapter.get('old')).toBe('"new"');

    await adapter.set('gone', '1', 10);
    now += 11;
    await adapter.set('trigger', '1'); // sweeps
    now -= 11; // had the row survived, it would be visible again
    expect(await adapter.get('gone')).toBeUndefined();
    adapter.close();
  });

  it('creates the parent directory of the file', async () => {
    const adapter = new SqliteKeyvAdapter({ path: join(dir, 'a/b/c/store.sqlite') });
    await adapter.set('k', '1');
    expect(await adapter.get('k')).toBe('1');
    await adapter.disconnect();
  });
});
