/**
 * A linked user whose token is due for a refresh, with a store whose writes can be made to fail
 * (Redis down) and an OAuth client the test can pause before the server sees a refresh, or between
 * the server's answer and its arrival.
 */
import { createLinkFlow } from '../../src/oauth/link-flow.ts';
import { createAtlassianOAuth, type TokenSet } from '../../src/oauth/oauth-client.ts';
import { createTokenRefresher, type TokenRefresherOptions } from '../../src/oauth/token-refresher.ts';
import { parseKeyRing } from '../../src/storage/crypto.ts';
import { createLockService } from '../../src/storage/locks.ts';
import { createTokenStore } from '../../src/storage/tokens.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { ada, captureLogs, linkInOneBrowser, memoryStores, NO_IDENTITY_CHECK, publicUrl, startOAuthWorld } from './helpers.ts';

/** The real store, except that every write throws while `down` (reads still work). */
export function failingWrites(store: KeyValueStore): KeyValueStore & { down: boolean } {
  const refuse = () => Promise.reject(new Error('store unavailable (test)'));
  const wrapped = {
    down: false,
    get: <T>(key: string) => store.get<T>(key),
    set: <T>(key: string, value: T, ttlMs?: number) => (wrapped.down ? refuse() : store.set(key, value, ttlMs)),
    delete: (key: string) => (wrapped.down ? refuse() : store.delete(key)),
    setIfAbsent: <T>(key: string, value: T, ttlMs?: number) => (wrapped.down ? refuse() : store.setIfAbsent(key, value, ttlMs)),
    compareAndSwap: <T>(key: string, expected: T, next: T | undefined, ttlMs?: number) =>
      wrapped.down ? refuse() : store.compareAndSwap(key, expected, next, ttlMs),
    increment: (key: string, by: number, ttlMs?: number) => (wrapped.down ? refuse() : store.increment(key, by, ttlMs)),
    keys: (prefix: string) => store.keys(prefix),
    ping: () => store.ping(),
    close: () => store.close(),
  };
  return wrapped as KeyValueStore & { down: boolean };
}

export async function refreshWorld(options: Partial<TokenRefresherOptions> = {}) {
  const world = await startOAuthWorld();
  const { store, key } = await memoryStores();
  const flaky = failingWrites(store);
  const tokens = createTokenStore(flaky, parseKeyRing(key));
  const logs = captureLogs();
  const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store });
  const flow = createLinkFlow({ store, tokens, oauth, identityCheck: NO_IDENTITY_CHECK });
  const linked = (await linkInOneBrowser(flow, ada)).link;
  await tokens.put(ada, { ...linked, expiresAt: Date.now() + 1000 }); // due for a refresh

  /** Refresh tokens sent to the server, pairs it issued, and a hook run before the answer is handed back. */
  const sent: string[] = [];
  const issued: TokenSet[] = [];
  const hooks = { beforeServer: async (): Promise<void> => {}, afterServer: async (): Promise<void> => {} };
  const refresher = createTokenRefresher({
    tokens,
    locks: createLockService(flaky),
    oauth: {
      async refresh(refreshToken) {
        await hooks.beforeServer();
        sent.push(refreshToken);
        const fresh = await oauth.refresh(refreshToken);
        issued.push(fresh);
        await hooks.afterServer();
        return fresh;
      },
    },
    logger: logs.logger,
    pollMs: 10,
    ...options,
  });
  /** Every token this test saw, for "no secret in the logs". */
  const secrets = () => [
    linked.accessToken,
    linked.refreshToken!,
    ...issued.flatMap((pair) => [pair.accessToken, pair.refreshToken ?? linked.accessToken]),
  ];
  return {
    world,
    store,
    key,
    flaky,
    tokens,
    oauth,
    refresher,
    linked,
    logs,
    sent,
    issued,
    hooks,
    secrets,
    async close() {
      await refresher.close();
      await world.close();
      await store.close();
    },
  };
}

export const until = async (condition: () => Promise<boolean> | boolean, timeoutMs = 3000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
