import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClientRegistry, registrationKey } from '../../src/oauth/client-registration.ts';
import { discoverFromMcp } from '../../src/oauth/discovery.ts';
import { createLinkFlow } from '../../src/oauth/link-flow.ts';
import { createAtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import { createTokenRefresher } from '../../src/oauth/token-refresher.ts';
import { createLockService } from '../../src/storage/locks.ts';
import type { TokenStore } from '../../src/storage/tokens.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { ada, linkInOneBrowser, memoryStores, publicUrl, startOAuthWorld, NO_IDENTITY_CHECK } from './helpers.ts';

describe('dynamic client registration', () => {
  let world: Awaited<ReturnType<typeof startOAuthWorld>>;
  let store: KeyValueStore;
  let tokens: TokenStore;
  beforeEach(async () => {
    world = await startOAuthWorld();
    ({ store, tokens } = await memoryStores());
  });
  afterEach(async () => {
    await world.close();
    await store.close();
  });

  it('registers a public client once; every replica sharing the store reuses it', async () => {
    const server = await discoverFromMcp(world.mcp.url);
    const redirectUri = `${publicUrl}/oauth/callback`;
    const replicaA = createClientRegistry({ store, redirectUri });
    const replicaB = createClientRegistry({ store, redirectUri });
    const [a1, a2] = await Promise.all([replicaA.clientFor(server), replicaA.clientFor(server)]);
    const b = await replicaB.clientFor(server);
    expect(a1.clientId).toBe(a2.clientId);
    expect(b.clientId).toBe(a1.clientId);
    expect(a1).toMatchObject({ issuer: world.auth.issuer, redirectUri, source: 'dynamic' });
    expect(a1.clientSecret).toBeUndefined();
    expect(world.auth.counters.registrations).toBe(1);
    expect(await store.get(registrationKey(world.auth.issuer))).toMatchObject({ clientId: a1.clientId });
  });

  it('registers again for a new callback URL', async () => {
    const server = await discoverFromMcp(world.mcp.url);
    const first = await createClientRegistry({ store, redirectUri: `${publicUrl}/oauth/callback` }).clientFor(server);
    const moved = await createClientRegistry({ store, redirectUri: 'https://bot.example/oauth/callback' }).clientFor(server);
    expect(moved.clientId).not.toBe(first.clientId);
    expect(world.auth.counters.registrations).toBe(2);
  });

  it('a configured client id is used as is, without registering', async () => {
    const server = await discoverFromMcp(world.mcp.url);
    const client = await createClientRegistry({
      store,
      redirectUri: `${publicUrl}/oauth/callback`,
      configured: { clientId: 'preregistered' },
    }).clientFor(server);
    expect(client).toMatchObject({ clientId: 'preregistered', source: 'configured' });
    expect(world.auth.counters.registrations).toBe(0);
  });

  it('when the server forgets the client (invalid_client), the link breaks and the next link registers again', async () => {
    const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store });
    const flow = createLinkFlow({ store, tokens, oauth, identityCheck: NO_IDENTITY_CHECK });
    const broken: unknown[] = [];
    const refresher = createTokenRefresher({ tokens, locks: createLockService(store), oauth, onBroken: (user) => void broken.push(user) });
    const first = await linkInOneBrowser(flow, ada);
    const firstClient = world.auth.registeredClientIds()[0];

    expect(await world.auth.forgetRegisteredClients()).toBe(1);
    expect(await refresher.afterRejection(ada, first.link.accessToken)).toBeUndefined();
    expect(world.auth.counters.tokenLog.at(-1)).toMatchObject({ grantType: 'refresh_token', ok: false, error: 'invalid_client' });
    expect(broken).toEqual([ada]);
    expect(await store.get(registrationKey(world.auth.issuer))).toBeUndefined();

    const second = await linkInOneBrowser(flow, ada);
    expect(world.auth.counters.registrations).toBe(2);
    expect(world.auth.registeredClientIds()).not.toContain(firstClient);
    expect(await world.auth.verifyAccessToken(second.link.accessToken)).toMatchObject({ sub: 'ada', aud: world.mcp.url });
    expect((await tokens.get(ada))?.broken).toBeUndefined();
  });
});
