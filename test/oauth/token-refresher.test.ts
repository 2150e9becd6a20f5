import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import { createDisconnect } from '../../src/oauth/disconnect.ts';
import { createLinkFlow } from '../../src/oauth/link-flow.ts';
import { createAtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import type { AtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import { createTokenRefresher } from '../../src/oauth/token-refresher.ts';
import type { TokenRefresher } from '../../src/oauth/token-refresher.ts';
import { createLockService } from '../../src/storage/locks.ts';
import type { TokenStore } from '../../src/storage/tokens.ts';
import type { AtlassianLink, KeyValueStore } from '../../src/storage/types.ts';
import type { SlackUserRef } from '../../src/publishing/model.ts';
import { ada, linkInOneBrowser, captureLogs, memoryStores, publicUrl, startOAuthWorld, NO_IDENTITY_CHECK } from './helpers.ts';

describe('token refresher', () => {
  let world: Awaited<ReturnType<typeof startOAuthWorld>>;
  let store: KeyValueStore;
  let tokens: TokenStore;
  let oauth: AtlassianOAuth;
  let refresher: TokenRefresher;
  let broken: SlackUserRef[];
  let logs: ReturnType<typeof captureLogs>;
  let linked: AtlassianLink;

  beforeEach(async () => {
    world = await startOAuthWorld();
    ({ store, tokens } = await memoryStores());
    logs = captureLogs();
    oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store, logger: logs.logger });
    broken = [];
    refresher = createTokenRefresher({
      tokens,
      locks: createLockService(store),
      oauth,
      logger: logs.logger,
      onBroken: (user) => {
        broken.push(user);
      },
    });
    const flow = createLinkFlow({ store, tokens, oauth, logger: logs.logger, identityCheck: NO_IDENTITY_CHECK });
    linked = (await linkInOneBrowser(flow, ada)).link;
  });
  afterEach(async () => {
    await world.close();
    await store.close();
  });

  const expireSoon = async () => tokens.put(ada, { ...(await tokens.get(ada))!, expiresAt: Date.now() + 1000 });

  it('returns the stored token while it is fresh, without asking the server', async () => {
    expect(await refresher.current(ada)).toEqual({ accessToken: linked.accessToken, cloudId: undefined });
    expect(world.auth.counters.refreshes).toBe(0);
  });

  it('keeps a freshly read site list with the link as it is now, never an older token', async () => {
    await expireSoon();
    const fresh = await refresher.current(ada); // rotates the pair
    await refresher.rememberSites(ada, [{ id: 'cloud-1', url: 'https://acme.atlassian.net', name: 'acme' }]);
    const stored = await tokens.get(ada);
    expect(stored?.accessToken).toBe(fresh?.accessToken);
    expect(stored?.accessToken).not.toBe(linked.accessToken);
    expect((await refresher.current(ada))?.sites).toEqual([{ id: 'cloud-1', url: 'https://acme.atlassian.net', name: 'acme' }]);
  });

  it('answers undefined for a user who never linked', async () => {
    expect(await refresher.current({ teamId: 'T1', userId: 'nobody' })).toBeUndefined();
  });

  it('refreshes ahead of expiry, saves the rotated pair, and the new token is accepted', async () => {
    await expireSoon();
    const credential = await refresher.current(ada);
    expect(credential?.accessToken).not.toBe(linked.accessToken);
    const stored = await tokens.get(ada);
    expect(stored?.accessToken).toBe(credential?.accessToken);
    expect(stored?.refreshToken).not.toBe(linked.refreshToken);
    expect(stored?.expiresAt).toBeGreaterThan(Date.now() + 60_000);
    expect(world.auth.counters.tokenLog.at(-1)).toMatchObject({ grantType: 'refresh_token', resource: world.mcp.url, ok: true });
    expect(await world.auth.verifyAccessToken(credential!.accessToken)).toMatchObject({ sub: 'ada', aud: world.mcp.url });
  });

  it('many concurrent callers in one process cause one refresh', async () => {
    await expireSoon();
    const results = await Promise.all(Array.from({ length: 8 }, () => refresher.current(ada)));
    expect(new Set(results.map((result) => result?.accessToken)).size).toBe(1);
    expect(world.auth.counters.refreshes).toBe(1);
  });

  it('after the MCP server rejects a token, refreshes once and the retry succeeds', async () => {
    const fresh = await refresher.afterRejection(ada, linked.accessToken);
    expect(fresh?.accessToken).toBeDefined();
    expect(fresh?.accessToken).not.toBe(linked.accessToken);
    const retried = await fetch(world.mcp.url, { method: 'POST', headers: { authorization: `Bearer ${fresh!.accessToken}` }, body: '{}' });
    expect(retried.status).toBe(200);
    // A second rejection of the old token (another request in flight at the time) does not refresh again.
    expect((await refresher.afterRejection(ada, linked.accessToken))?.accessToken).toBe(fresh?.accessToken);
    expect(world.auth.counters.refreshes).toBe(1);
  });

  it('a revoked grant marks the link broken, calls onBroken once, and asks the user to re-authenticate', async () => {
    await world.auth.revokeGrant('ada');
    expect(await refresher.afterRejection(ada, linked.accessToken)).toBeUndefined();
    expect(broken).toEqual([ada]);
    const stored = await tokens.get(ada);
    expect(stored?.broken).toBe(true);
    expect(world.auth.counters.tokenLog.at(-1)).toMatchObject({ grantType: 'refresh_token', ok: false, error: 'invalid_grant' });

    const error = await refresher.current(ada).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isVteamError(error, 'AUTH_EXPIRED')).toBe(true);
    expect(world.auth.counters.refreshes).toBe(1); // a broken link is not retried
    expect(broken).toEqual([ada]);
  });

  it('a refresh token already used elsewhere (rotation) breaks the link instead of looping', async () => {
    // Someone used the refresh token behind our back: the server revokes the grant on reuse.
    const stolen = await oauth.refresh(linked.refreshToken!);
    expect(stolen.accessToken).toBeDefined();
    expect(await refresher.afterRejection(ada, linked.accessToken)).toBeUndefined();
    expect((await tokens.get(ada))?.broken).toBe(true);
    expect(await world.auth.verifyAccessToken(stolen.accessToken)).toBeUndefined();
  });

  it('keeps using a still-valid token when the authorization server is down', async () => {
    await expireSoon();
    await world.auth.close();
    expect((await refresher.current(ada))?.accessToken).toBe(linked.accessToken);
    expect((await tokens.get(ada))?.broken).toBeUndefined();
  });

  it('disconnect revokes at the server and deletes the link', async () => {
    const disconnect = createDisconnect({ tokens, oauth, logger: logs.logger });
    expect(await disconnect(ada)).toEqual({ removed: true, revoked: true });
    expect(await tokens.get(ada)).toBeUndefined();
    expect(world.auth.counters.revocations).toBeGreaterThanOrEqual(1);
    expect(await world.auth.verifyAccessToken(linked.accessToken)).toBeUndefined();
    expect(await refresher.current(ada)).toBeUndefined();
    expect(await disconnect(ada)).toEqual({ removed: false, revoked: false });
  });

  it('logs of refreshes, rejections and breakage hold no token', async () => {
    await expireSoon();
    const refreshed = await refresher.current(ada);
    await world.auth.revokeGrant('ada');
    await refresher.afterRejection(ada, refreshed!.accessToken);
    const text = logs.text();
    expect(text).toContain('Refreshed the Atlassian token');
    expect(text).toContain('no longer valid');
    for (const secret of [linked.accessToken, linked.refreshToken!, refreshed!.accessToken]) expect(text).not.toContain(secret);
  });
});
