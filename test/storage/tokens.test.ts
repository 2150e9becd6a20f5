import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseKeyRing } from '../../src/storage/crypto.ts';
import { createStore } from '../../src/storage/store.ts';
import { createTokenStore, tokenKey } from '../../src/storage/tokens.ts';
import type { AtlassianLink, KeyValueStore } from '../../src/storage/types.ts';

const newKey = () => randomBytes(32).toString('base64');
const link = (accessToken: string): AtlassianLink => ({
  accessToken,
  refreshToken: `refresh-${accessToken}`,
  expiresAt: 1_900_000_000_000,
  scope: 'read:jira-work write:jira-work offline_access',
  sites: [{ id: 'cloud-1', url: 'https://acme.atlassian.net', name: 'acme' }],
  accountName: 'Ada Lovelace',
  linkedAt: 1_800_000_000_000,
});

describe('TokenStore', () => {
  let store: KeyValueStore;
  beforeEach(async () => {
    store = await createStore('sqlite::memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  it('round-trips a link and stores no token text', async () => {
    const tokens = createTokenStore(store, parseKeyRing(newKey()));
    const user = { teamId: 'T1', userId: 'U1' };
    const secret = 'eyJhbGciOiJSUzI1NiJ9.access-token-secret';
    await tokens.put(user, link(secret));
    expect(await tokens.get(user)).toEqual(link(secret));

    const raw = JSON.stringify(await store.get(tokenKey(user)));
    expect(raw).not.toContain('access-token-secret');
    expect(raw).not.toContain('refresh-');
    expect(raw).not.toContain('Ada');
    expect(await tokens.delete(user)).toBe(true);
    expect(await tokens.get(user)).toBeUndefined();
  });

  it('keys by enterprise when present, so one user across Grid workspaces has one link', async () => {
    const tokens = createTokenStore(store, parseKeyRing(newKey()));
    await tokens.put({ enterpriseId: 'E1', teamId: 'T1', userId: 'U1' }, link('grid'));
    expect((await tokens.get({ enterpriseId: 'E1', teamId: 'T2', userId: 'U1' }))?.accessToken).toBe('grid');
    expect(await tokens.get({ teamId: 'T1', userId: 'U1' })).toBeUndefined();
    expect(await tokens.get({ enterpriseId: 'E1', teamId: 'T1', userId: 'U2' })).toBeUndefined();
  });

  it('reads links written under an older key after rotation', async () => {
    const oldKey = newKey();
    const user = { teamId: 'T1', userId: 'U1' };
    await createTokenStore(store, parseKeyRing(oldKey)).put(user, link('before-rotation'));
    const rotated = createTokenStore(store, parseKeyRing(`${newKey()},${oldKey}`));
    expect((await rotated.get(user))?.accessToken).toBe('before-rotation');
  });

  it('treats an undecryptable or moved value as not linked, with a warning that leaks nothing', async () => {
    const logged: string[] = [];
    const logger = pino(new Writable({ write: (chunk: Buffer, _e, done) => (logged.push(chunk.toString()), done()) }));
    const alice = { teamId: 'T1', userId: 'alice' };
    const bob = { teamId: 'T1', userId: 'bob' };
    await createTokenStore(store, parseKeyRing(newKey())).put(alice, link('lost-key-token'));
    const tokens = createTokenStore(store, parseKeyRing(newKey()), { logger });
    expect(await tokens.get(alice)).toBeUndefined();

    await tokens.put(alice, link('alice-token'));
    await store.set(tokenKey(bob), await store.get(tokenKey(alice))); // copy Alice's record to Bob
    expect(await tokens.get(bob)).toBeUndefined();
    await store.set(tokenKey(bob), { not: 'an envelope' });
    expect(await tokens.get(bob)).toBeUndefined();

    expect(logged).toHaveLength(3);
    expect(logged.join('\n')).toContain('treating the user as not linked');
    expect(logged.join('\n')).not.toMatch(/token/i);
  });

  it('replaceIfUnchanged writes only over the record read; a replay of a write that landed counts as replaced', async () => {
    const tokens = createTokenStore(store, parseKeyRing(newKey()));
    const user = { teamId: 'T1', userId: 'U1' };
    await tokens.put(user, link('first'));
    const read = (await tokens.read(user))!;
    expect(read.link).toEqual(link('first'));
    expect(JSON.stringify(read.record)).not.toContain('first');

    expect(await tokens.replaceIfUnchanged(user, read.record, link('second'))).toEqual({ outcome: 'replaced' });
    expect(await tokens.replaceIfUnchanged(user, read.record, link('second'))).toEqual({ outcome: 'replaced' });
    expect(await tokens.replaceIfUnchanged(user, read.record, link('third'))).toEqual({ outcome: 'changed', current: link('second') });
    expect((await tokens.get(user))?.accessToken).toBe('second');

    await tokens.delete(user);
    expect(await tokens.replaceIfUnchanged(user, read.record, link('fourth'))).toEqual({ outcome: 'deleted' });
    expect(await tokens.get(user)).toBeUndefined();
  });
});
