/** The refresher's outcome hook (token refreshes by outcome, for /metrics). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLinkFlow } from '../../src/oauth/link-flow.ts';
import { createAtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import { createTokenRefresher, type RefreshOutcome } from '../../src/oauth/token-refresher.ts';
import { createLockService } from '../../src/storage/locks.ts';
import type { TokenStore } from '../../src/storage/tokens.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { ada, linkInOneBrowser, memoryStores, publicUrl, startOAuthWorld, NO_IDENTITY_CHECK } from './helpers.ts';

describe('token refresher outcomes', () => {
  let world: Awaited<ReturnType<typeof startOAuthWorld>>;
  let store: KeyValueStore;
  let tokens: TokenStore;
  let outcomes: RefreshOutcome[];
  let refresher: ReturnType<typeof createTokenRefresher>;

  beforeEach(async () => {
    world = await startOAuthWorld();
    ({ store, tokens } = await memoryStores());
    const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store });
    outcomes = [];
    refresher = createTokenRefresher({ tokens, locks: createLockService(store), oauth, onRefresh: (outcome) => outcomes.push(outcome) });
    const flow = createLinkFlow({ store, tokens, oauth, identityCheck: NO_IDENTITY_CHECK });
    await linkInOneBrowser(flow, ada);
  });
  afterEach(async () => {
    await world.close();
    await store.close();
  });

  const expireSoon = async () => tokens.put(ada, { ...(await tokens.get(ada))!, expiresAt: Date.now() + 1000 });

  it('no refresh, no report; one refresh shared by many callers reports once', async () => {
    await refresher.current(ada);
    expect(outcomes).toEqual([]);
    await expireSoon();
    await Promise.all(Array.from({ length: 5 }, () => refresher.current(ada)));
    expect(outcomes).toEqual(['ok']);
  });

  it('a revoked grant reports broken; a broken link is not refreshed again', async () => {
    await world.auth.revokeGrant('ada');
    await expireSoon();
    await refresher.current(ada).catch(() => undefined);
    await refresher.current(ada).catch(() => undefined);
    expect(outcomes).toEqual(['broken']);
  });

  it('an authorization server that is down reports failed', async () => {
    await expireSoon();
    await world.auth.close();
    await refresher.current(ada);
    expect(outcomes).toEqual(['failed']);
  });

  it('a throwing hook does not break the refresh', async () => {
    const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store });
    const noisy = createTokenRefresher({
      tokens,
      locks: createLockService(store),
      oauth,
      onRefresh: () => {
        throw new Error('metrics down');
      },
    });
    await expireSoon();
    expect((await noisy.current(ada))?.accessToken).toBeDefined();
  });
});
