/**
 * `/vteam disconnect` (or a relink) while a refresh is under way wins over the refresh: the refresh
 * saves only over the record it read, so it never brings a deleted link back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDisconnect } from '../../src/oauth/disconnect.ts';
import { parseKeyRing } from '../../src/storage/crypto.ts';
import { createTokenStore, tokenKey } from '../../src/storage/tokens.ts';
import type { SlackUserRef } from '../../src/publishing/model.ts';
import { ada } from './helpers.ts';
import { refreshWorld, sleep, until } from './refresh-world.ts';

/** A point the refresh reaches (`reached`) and waits at until `release()`. */
function gate() {
  let release!: () => void;
  let reach!: () => void;
  const open = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return {
    reached,
    release,
    wait: async () => {
      reach();
      await open;
    },
  };
}

describe('token refresher: disconnect and relink win over a refresh', () => {
  let w: Awaited<ReturnType<typeof refreshWorld>>;
  let broken: SlackUserRef[];
  afterEach(async () => {
    await w.close();
  });
  const world = async (options: Parameters<typeof refreshWorld>[0] = {}) => {
    broken = [];
    w = await refreshWorld({ onBroken: (user) => void broken.push(user), ...options });
    return createDisconnect({ tokens: w.tokens, oauth: w.oauth, refresher: w.refresher, logger: w.logs.logger });
  };

  it("disconnect while the server's refresh answer is delayed: the link stays deleted", async () => {
    const disconnect = await world();
    const answer = gate();
    w.hooks.afterServer = answer.wait;
    const refreshing = w.refresher.current(ada);
    await answer.reached;
    expect(await disconnect(ada)).toMatchObject({ removed: true });
    answer.release();

    expect(await refreshing).toBeUndefined();
    expect(await w.store.get(tokenKey(ada))).toBeUndefined();
    expect(await w.refresher.current(ada)).toBeUndefined();
    expect(w.world.auth.counters.refreshes).toBe(1);
    expect(w.logs.text()).toContain('disconnected during a token refresh');
    for (const secret of w.secrets()) expect(w.logs.text()).not.toContain(secret);
  });

  it('disconnect before a delayed refresh reaches the server: no broken link is left behind', async () => {
    const disconnect = await world();
    const request = gate();
    w.hooks.beforeServer = request.wait;
    const refreshing = w.refresher.current(ada);
    await request.reached;
    await disconnect(ada); // revokes the refresh token the refresh is about to send
    request.release();

    expect(await refreshing).toBeUndefined();
    expect(w.world.auth.counters.tokenLog.at(-1)).toMatchObject({ grantType: 'refresh_token', error: 'invalid_grant' });
    expect(await w.store.get(tokenKey(ada))).toBeUndefined();
    expect(broken).toEqual([]);
  });

  it("a relink while a refresh is in flight wins: the refresh's pair is dropped", async () => {
    await world();
    const answer = gate();
    w.hooks.afterServer = answer.wait;
    const refreshing = w.refresher.current(ada);
    await answer.reached;
    const relinked = {
      accessToken: 'relinked-access',
      refreshToken: 'relinked-refresh',
      expiresAt: Date.now() + 3_600_000,
      linkedAt: Date.now(),
    };
    await w.tokens.put(ada, relinked);
    answer.release();

    expect((await refreshing)?.accessToken).toBe('relinked-access');
    expect(await w.tokens.get(ada)).toMatchObject(relinked);
    expect(w.logs.text()).toContain('rewritten (relinked) during a token refresh');
  });

  it('disconnect here while a new pair waits to be saved: it is revoked and never saved', async () => {
    const disconnect = await world({ saveRetryMinMs: 300, saveRetryMaxMs: 300 });
    w.hooks.afterServer = async () => {
      w.flaky.down = true;
    };
    const fresh = await w.refresher.current(ada);
    w.flaky.down = false; // the store is back before the retry is due
    expect(await disconnect(ada)).toEqual({ removed: true, revoked: true });
    await sleep(400); // past the retry that would have saved it

    expect(await w.store.get(tokenKey(ada))).toBeUndefined();
    expect(await w.refresher.current(ada)).toBeUndefined();
    expect(await w.world.auth.verifyAccessToken(fresh!.accessToken)).toBeUndefined();
  });

  it('disconnect in another process while a new pair waits to be saved: the retry finds the link gone and drops it', async () => {
    await world({ saveRetryMinMs: 100, saveRetryMaxMs: 200 });
    w.hooks.afterServer = async () => {
      w.flaky.down = true;
    };
    await w.refresher.current(ada);
    // Another replica: its own store client works, and it has no unsaved pair of ours.
    const elsewhere = createDisconnect({ tokens: createTokenStore(w.store, parseKeyRing(w.key)), oauth: w.oauth });
    expect(await elsewhere(ada)).toMatchObject({ removed: true });
    w.flaky.down = false;

    await until(() => w.logs.text().includes('disconnected during a token refresh'));
    expect(await w.store.get(tokenKey(ada))).toBeUndefined();
    expect(await w.refresher.current(ada)).toBeUndefined();
  });
});
