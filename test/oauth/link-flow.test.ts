import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import { createLinkFlow } from '../../src/oauth/link-flow.ts';
import type { LinkFlow, SiteLookup } from '../../src/oauth/link-flow.ts';
import { LinkError } from '../../src/oauth/errors.ts';
import type { TokenStore } from '../../src/storage/tokens.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { completeBrowserLeg, startAuthServer } from '../support/auth-server/index.ts';
import { ada, captureLogs, memoryStores, publicUrl, startOAuthWorld } from './helpers.ts';

const sites: SiteLookup = async () => ({ sites: [{ id: 'cloud-1', url: 'https://acme.atlassian.net', name: 'acme' }], accountName: 'Ada Lovelace' });

async function failure(promise: Promise<unknown>): Promise<LinkError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(LinkError);
  return error as LinkError;
}

describe('account linking (MCP-native: discovery, dynamic registration, PKCE, resource)', () => {
  let world: Awaited<ReturnType<typeof startOAuthWorld>>;
  let store: KeyValueStore;
  let tokens: TokenStore;
  let clock: number;
  let flow: LinkFlow;
  let logs: ReturnType<typeof captureLogs>;

  beforeEach(async () => {
    world = await startOAuthWorld();
    ({ store, tokens } = await memoryStores());
    clock = Date.now();
    logs = captureLogs();
    const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store, logger: logs.logger });
    flow = createLinkFlow({ store, tokens, oauth, siteLookup: sites, logger: logs.logger, now: () => clock });
  });
  afterEach(async () => {
    await world.close();
    await store.close();
  });

  it('links an account: the token is bound to the MCP resource and accepted by it', async () => {
    const started = await flow.startLink(ada, { resumePublish: { doc: 'spec.md' } });
    const authorize = new URL(started.authorizationUrl);
    expect(authorize.origin).toBe(world.auth.url);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('resource')).toBe(world.mcp.url);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${publicUrl}/oauth/callback`);
    expect(authorize.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['read:jira-work', 'write:jira-work', 'offline_access']));
    expect(authorize.searchParams.get('state')?.length).toBeGreaterThanOrEqual(22);
    expect(started.expiresAt).toBe(clock + 10 * 60 * 1000);

    const callback = await completeBrowserLeg(started.authorizationUrl, { login: 'ada' });
    expect(callback.pathname).toBe('/oauth/callback');
    const done = await flow.completeLink(callback);

    expect(done.user).toEqual(ada);
    expect(done.context).toEqual({ resumePublish: { doc: 'spec.md' } });
    expect(done.link.sites).toEqual([{ id: 'cloud-1', url: 'https://acme.atlassian.net', name: 'acme' }]);
    expect(done.link.accountName).toBe('Ada Lovelace');
    expect(done.link.refreshToken).toBeDefined();
    expect(done.link.expiresAt).toBeGreaterThan(clock);
    expect(await tokens.get(ada)).toEqual(done.link);

    const verified = await world.auth.verifyAccessToken(done.link.accessToken);
    expect(verified).toMatchObject({ sub: 'ada', aud: world.mcp.url });
    expect(world.auth.counters.registrations).toBe(1);
    expect(world.auth.counters.tokenLog).toEqual([expect.objectContaining({ grantType: 'authorization_code', resource: world.mcp.url, ok: true })]);
    const accepted = await fetch(world.mcp.url, { method: 'POST', headers: { authorization: `Bearer ${done.link.accessToken}` }, body: '{}' });
    expect(accepted.status).toBe(200);
  });

  it('a replayed callback fails and changes nothing', async () => {
    const callback = await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada' });
    const first = await flow.completeLink(callback);
    const replay = await failure(flow.completeLink(callback));
    expect(replay.kind).toBe('used_state');
    expect(replay.user).toEqual(ada);
    expect((await tokens.get(ada))?.accessToken).toBe(first.link.accessToken);
    expect(world.auth.counters.authorizationCodeGrants).toBe(1);
  });

  it('two racing callbacks with one state: exactly one wins', async () => {
    const callback = await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada' });
    const results = await Promise.allSettled([flow.completeLink(callback), flow.completeLink(callback), flow.completeLink(callback)]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as LinkError).kind).toBe('used_state');
    }
    expect(world.auth.counters.authorizationCodeGrants).toBe(1);
  });

  it('an expired state is refused with its user and context, before any exchange', async () => {
    const started = await flow.startLink(ada, { resumePublish: 'p1' });
    const callback = await completeBrowserLeg(started.authorizationUrl, { login: 'ada' });
    clock += 10 * 60 * 1000 + 1;
    const expired = await failure(flow.completeLink(callback));
    expect(expired.kind).toBe('expired_state');
    expect(expired.user).toEqual(ada);
    expect(expired.context).toEqual({ resumePublish: 'p1' });
    expect(await tokens.get(ada)).toBeUndefined();
    expect(world.auth.counters.tokenRequests).toBe(0);
  });

  it('a forged or missing state is unknown', async () => {
    const callback = await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada' });
    const forged = new URL(callback);
    forged.searchParams.set('state', 'A'.repeat(43));
    expect((await failure(flow.completeLink(forged))).kind).toBe('unknown_state');
    const none = new URL(callback);
    none.searchParams.delete('state');
    expect((await failure(flow.completeLink(none))).kind).toBe('unknown_state');
    expect(await tokens.get(ada)).toBeUndefined();
    // The genuine callback still works: forged attempts did not burn the state.
    await expect(flow.completeLink(callback)).resolves.toMatchObject({ user: ada });
  });

  it('a callback naming another authorization server is refused (mix-up)', async () => {
    const callback = await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada' });
    callback.searchParams.set('iss', 'https://evil.example');
    expect((await failure(flow.completeLink(callback))).kind).toBe('mismatched_issuer');
    expect(await tokens.get(ada)).toBeUndefined();
    expect(world.auth.counters.tokenRequests).toBe(0);
  });

  it('denied consent is reported as denied and stores nothing', async () => {
    const callback = await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada', deny: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const denied = await failure(flow.completeLink(callback));
    expect(denied.kind).toBe('denied');
    expect(denied.user).toEqual(ada);
    expect(await tokens.get(ada)).toBeUndefined();
  });

  it('a callback without a code is missing_code', async () => {
    const callback = await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada' });
    callback.searchParams.delete('code');
    expect((await failure(flow.completeLink(callback))).kind).toBe('missing_code');
  });

  it('a code the server refuses is exchange_failed', async () => {
    const callback = await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada' });
    callback.searchParams.set('code', 'not-a-real-code');
    const failed = await failure(flow.completeLink(callback));
    expect(failed.kind).toBe('exchange_failed');
    expect(world.auth.counters.tokenLog.at(-1)).toMatchObject({ ok: false, error: 'invalid_grant' });
  });

  it('reconnecting overwrites the old link', async () => {
    const first = await flow.completeLink(await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada' }));
    await tokens.put(ada, { ...first.link, broken: true });
    const second = await flow.completeLink(await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada' }));
    const stored = await tokens.get(ada);
    expect(stored?.accessToken).toBe(second.link.accessToken);
    expect(stored?.accessToken).not.toBe(first.link.accessToken);
    expect(stored?.broken).toBeUndefined();
    expect(world.auth.counters.registrations).toBe(1);
  });

  it('keeps the link when the site lookup fails', async () => {
    const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store });
    const lookupDown = createLinkFlow({ store, tokens, oauth, siteLookup: async () => { throw new Error('MCP down'); } });
    const done = await lookupDown.completeLink(await completeBrowserLeg((await lookupDown.startLink(ada)).authorizationUrl, { login: 'ada' }));
    expect(done.link.sites).toBeUndefined();
    expect((await tokens.get(ada))?.accessToken).toBe(done.link.accessToken);
  });

  it('logs of complete flows hold no token, code, verifier or state', async () => {
    const started = await flow.startLink(ada);
    const callback = await completeBrowserLeg(started.authorizationUrl, { login: 'ada' });
    const done = await flow.completeLink(callback);
    await failure(flow.completeLink(callback)); // replay
    const denied = await completeBrowserLeg((await flow.startLink(ada)).authorizationUrl, { login: 'ada', deny: true });
    await failure(flow.completeLink(denied));

    const text = logs.text();
    expect(text).toContain('Linked an Atlassian account');
    const secrets = [
      done.link.accessToken,
      done.link.refreshToken as string,
      callback.searchParams.get('code') as string,
      callback.searchParams.get('state') as string,
      denied.searchParams.get('state') as string,
      new URL(started.authorizationUrl).searchParams.get('code_challenge') as string,
    ];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(text).not.toContain(secret);
    }
  });
});

describe('account linking (classic 3LO app: configured confidential client)', () => {
  it('uses the configured client and secret, the audience parameter and configured scopes', async () => {
    const resource = 'https://api.atlassian.example/';
    const auth = await startAuthServer({
      defaultResource: resource,
      clients: [
        {
          client_id: 'classic-app',
          client_secret: 'classic-secret-value-0123456789',
          redirect_uris: [`${publicUrl}/oauth/callback`],
          token_endpoint_auth_method: 'client_secret_post',
          grant_types: ['authorization_code', 'refresh_token'],
        },
      ],
    });
    const { store, tokens } = await memoryStores();
    const logs = captureLogs();
    try {
      const oauth = createAtlassianOAuth({
        mode: { kind: 'classic', issuer: auth.issuer, clientId: 'classic-app', clientSecret: 'classic-secret-value-0123456789', scopes: ['read:jira-work', 'write:jira-work', 'offline_access'] },
        publicUrl,
        store,
        logger: logs.logger,
      });
      const flow = createLinkFlow({ store, tokens, oauth, siteLookup: sites, logger: logs.logger });
      const started = await flow.startLink(ada);
      const authorize = new URL(started.authorizationUrl);
      expect(authorize.searchParams.get('audience')).toBe('api.atlassian.com');
      expect(authorize.searchParams.get('client_id')).toBe('classic-app');
      expect(authorize.searchParams.has('resource')).toBe(false);
      expect(authorize.searchParams.get('prompt')).toBe('consent');

      const done = await flow.completeLink(await completeBrowserLeg(started.authorizationUrl, { login: 'ada' }));
      // The cloud id is chosen per publish from the project's site, never fixed to the first grant.
      expect(done.link.cloudId).toBeUndefined();
      expect(done.link.sites?.map((site) => site.id)).toEqual(['cloud-1']);
      expect(done.link.refreshToken).toBeDefined();
      expect(await auth.verifyAccessToken(done.link.accessToken)).toMatchObject({ sub: 'ada', clientId: 'classic-app' });
      expect(auth.counters.registrations).toBe(0);
      expect(logs.text()).not.toContain('classic-secret-value-0123456789');
    } finally {
      await auth.close();
      await store.close();
    }
  });
});
