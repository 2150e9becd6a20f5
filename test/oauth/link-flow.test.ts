import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import { createLinkFlow } from '../../src/oauth/link-flow.ts';
import type { LinkFlow, SiteLookup } from '../../src/oauth/link-flow.ts';
import { LinkError } from '../../src/oauth/errors.ts';
import type { TokenStore } from '../../src/storage/tokens.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { completeBrowserLeg, startAuthServer } from '../support/auth-server/index.ts';
import { ada, captureLogs, flowIdOf, linkInOneBrowser, memoryStores, publicUrl, signInOneBrowser, startOAuthWorld } from './helpers.ts';

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

  it('links an account: Slack gets a bot sign-in link; opening it starts PKCE + resource; the token is bound to the MCP resource', async () => {
    const started = await flow.startLink(ada, { resumePublish: { doc: 'spec.md' } });
    const signIn = new URL(started.signInUrl);
    expect(`${signIn.origin}${signIn.pathname}`).toBe(`${publicUrl}/oauth/start`);
    expect(flowIdOf(started.signInUrl)?.length).toBeGreaterThanOrEqual(43);
    expect(started.expiresAt).toBe(clock + 10 * 60 * 1000);
    expect(world.auth.counters.registrations).toBe(0); // nothing is asked of Atlassian until a browser opens the link

    const opened = await flow.openSignIn(flowIdOf(started.signInUrl));
    const authorize = new URL(opened.authorizationUrl);
    expect(authorize.origin).toBe(world.auth.url);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('resource')).toBe(world.mcp.url);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${publicUrl}/oauth/callback`);
    expect(authorize.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['read:jira-work', 'write:jira-work', 'offline_access']));
    expect(authorize.searchParams.get('state')?.length).toBeGreaterThanOrEqual(22);
    expect(opened.browserSecret.length).toBeGreaterThanOrEqual(43);
    expect(opened.validForMs).toBe(10 * 60 * 1000);

    const callback = await completeBrowserLeg(opened.authorizationUrl, { login: 'ada' });
    expect(callback.pathname).toBe('/oauth/callback');
    const done = await flow.completeLink(callback, opened.browserSecret);

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

  it('a link sent to a colleague links nothing: a callback from a browser without the cookie, or with another flow\'s, is refused and burns the state', async () => {
    world.auth.addAccount('grace', { password: 'password', name: 'Grace Hopper' });
    // Ada opens her link (her browser gets the secret) and forwards the Atlassian URL; Grace signs in and comes back.
    const opened = await flow.openSignIn(flowIdOf((await flow.startLink(ada, { resumePublish: 'p1' })).signInUrl));
    const gracesCallback = await completeBrowserLeg(opened.authorizationUrl, { login: 'grace' });
    const refused = await failure(flow.completeLink(gracesCallback, undefined));
    expect(refused.kind).toBe('other_browser');
    expect(refused.user).toEqual(ada);
    expect(refused.context).toEqual({ resumePublish: 'p1' });
    expect(await tokens.get(ada)).toBeUndefined();
    expect(world.auth.counters.tokenRequests).toBe(0); // Grace's code was never exchanged
    // Burned: not even Ada's own browser can finish it now.
    expect((await failure(flow.completeLink(gracesCallback, opened.browserSecret))).kind).toBe('used_state');

    // Grace's browser holding a cookie of its own (another flow) is no better.
    const other = await flow.openSignIn(flowIdOf((await flow.startLink({ teamId: 'T1', userId: 'U2' })).signInUrl));
    const second = await flow.openSignIn(flowIdOf((await flow.startLink(ada)).signInUrl));
    const mismatched = await failure(flow.completeLink(await completeBrowserLeg(second.authorizationUrl, { login: 'grace' }), other.browserSecret));
    expect(mismatched.kind).toBe('other_browser');
    expect(await tokens.get(ada)).toBeUndefined();
    expect(world.auth.counters.tokenRequests).toBe(0);
  });

  it('a sign-in link opens once: a second open (another browser, a forwarded copy) gets no flow, even racing', async () => {
    const flowId = flowIdOf((await flow.startLink(ada)).signInUrl);
    const first = await flow.openSignIn(flowId);
    const again = await failure(flow.openSignIn(flowId));
    expect(again.kind).toBe('used_state');
    expect(again.user).toEqual(ada);
    // The first browser is unaffected.
    await expect(flow.completeLink(await completeBrowserLeg(first.authorizationUrl, { login: 'ada' }), first.browserSecret)).resolves.toMatchObject({ user: ada });

    const racing = flowIdOf((await flow.startLink(ada)).signInUrl);
    const results = await Promise.allSettled([flow.openSignIn(racing), flow.openSignIn(racing), flow.openSignIn(racing)]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as LinkError).kind).toBe('used_state');
    }
  });

  it('a sign-in link that is unknown, missing or expired opens nothing', async () => {
    expect((await failure(flow.openSignIn('A'.repeat(43)))).kind).toBe('unknown_state');
    expect((await failure(flow.openSignIn(null))).kind).toBe('unknown_state');
    const started = await flow.startLink(ada, { resumePublish: 'p1' });
    clock += 10 * 60 * 1000 + 1;
    const expired = await failure(flow.openSignIn(flowIdOf(started.signInUrl)));
    expect(expired).toMatchObject({ kind: 'expired_state', user: ada, context: { resumePublish: 'p1' } });
    expect(world.auth.counters.registrations).toBe(0);
  });

  it('an authorization server that cannot be reached when the link is opened leaves the link usable', async () => {
    world.mcp.metadataDown = true;
    const flowId = flowIdOf((await flow.startLink(ada)).signInUrl);
    expect((await failure(flow.openSignIn(flowId))).kind).toBe('unavailable');
    world.mcp.metadataDown = false;
    const opened = await flow.openSignIn(flowId);
    await expect(flow.completeLink(await completeBrowserLeg(opened.authorizationUrl, { login: 'ada' }), opened.browserSecret)).resolves.toMatchObject({ user: ada });
  });

  it('a replayed callback fails and changes nothing', async () => {
    const { callback, browserSecret } = await signInOneBrowser(flow, ada);
    const first = await flow.completeLink(callback, browserSecret);
    const replay = await failure(flow.completeLink(callback, browserSecret));
    expect(replay.kind).toBe('used_state');
    expect(replay.user).toEqual(ada);
    expect((await tokens.get(ada))?.accessToken).toBe(first.link.accessToken);
    expect(world.auth.counters.authorizationCodeGrants).toBe(1);
  });

  it('two racing callbacks with one state: exactly one wins', async () => {
    const { callback, browserSecret } = await signInOneBrowser(flow, ada);
    const results = await Promise.allSettled([1, 2, 3].map(() => flow.completeLink(callback, browserSecret)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as LinkError).kind).toBe('used_state');
    }
    expect(world.auth.counters.authorizationCodeGrants).toBe(1);
  });

  it('an expired state is refused with its user and context, before any exchange', async () => {
    const { callback, browserSecret } = await signInOneBrowser(flow, ada, { context: { resumePublish: 'p1' } });
    clock += 10 * 60 * 1000 + 1;
    const expired = await failure(flow.completeLink(callback, browserSecret));
    expect(expired.kind).toBe('expired_state');
    expect(expired.user).toEqual(ada);
    expect(expired.context).toEqual({ resumePublish: 'p1' });
    expect(await tokens.get(ada)).toBeUndefined();
    expect(world.auth.counters.tokenRequests).toBe(0);
  });

  it('a forged or missing state is unknown', async () => {
    const { callback, browserSecret } = await signInOneBrowser(flow, ada);
    const forged = new URL(callback);
    forged.searchParams.set('state', 'A'.repeat(43));
    expect((await failure(flow.completeLink(forged, browserSecret))).kind).toBe('unknown_state');
    const none = new URL(callback);
    none.searchParams.delete('state');
    expect((await failure(flow.completeLink(none, browserSecret))).kind).toBe('unknown_state');
    expect(await tokens.get(ada)).toBeUndefined();
    // The genuine callback still works: forged attempts did not burn the state.
    await expect(flow.completeLink(callback, browserSecret)).resolves.toMatchObject({ user: ada });
  });

  it('a callback naming another authorization server is refused (mix-up)', async () => {
    const { callback, browserSecret } = await signInOneBrowser(flow, ada);
    callback.searchParams.set('iss', 'https://evil.example');
    expect((await failure(flow.completeLink(callback, browserSecret))).kind).toBe('mismatched_issuer');
    expect(await tokens.get(ada)).toBeUndefined();
    expect(world.auth.counters.tokenRequests).toBe(0);
  });

  it('denied consent is reported as denied and stores nothing', async () => {
    const { callback, browserSecret } = await signInOneBrowser(flow, ada, { deny: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const denied = await failure(flow.completeLink(callback, browserSecret));
    expect(denied.kind).toBe('denied');
    expect(denied.user).toEqual(ada);
    expect(await tokens.get(ada)).toBeUndefined();
  });

  it('a callback without a code is missing_code', async () => {
    const { callback, browserSecret } = await signInOneBrowser(flow, ada);
    callback.searchParams.delete('code');
    expect((await failure(flow.completeLink(callback, browserSecret))).kind).toBe('missing_code');
  });

  it('a code the server refuses is exchange_failed', async () => {
    const { callback, browserSecret } = await signInOneBrowser(flow, ada);
    callback.searchParams.set('code', 'not-a-real-code');
    const failed = await failure(flow.completeLink(callback, browserSecret));
    expect(failed.kind).toBe('exchange_failed');
    expect(world.auth.counters.tokenLog.at(-1)).toMatchObject({ ok: false, error: 'invalid_grant' });
  });

  it('reconnecting overwrites the old link', async () => {
    const first = await linkInOneBrowser(flow, ada);
    await tokens.put(ada, { ...first.link, broken: true });
    const second = await linkInOneBrowser(flow, ada);
    const stored = await tokens.get(ada);
    expect(stored?.accessToken).toBe(second.link.accessToken);
    expect(stored?.accessToken).not.toBe(first.link.accessToken);
    expect(stored?.broken).toBeUndefined();
    expect(world.auth.counters.registrations).toBe(1);
  });

  it('keeps the link when the site lookup fails', async () => {
    const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store });
    const lookupDown = createLinkFlow({ store, tokens, oauth, siteLookup: async () => { throw new Error('MCP down'); } });
    const done = await linkInOneBrowser(lookupDown, ada);
    expect(done.link.sites).toBeUndefined();
    expect((await tokens.get(ada))?.accessToken).toBe(done.link.accessToken);
  });

  it('logs of complete flows hold no token, code, verifier, state, sign-in link id or browser secret', async () => {
    const { started, opened, callback, browserSecret } = await signInOneBrowser(flow, ada);
    const done = await flow.completeLink(callback, browserSecret);
    await failure(flow.completeLink(callback, browserSecret)); // replay
    await failure(flow.openSignIn(flowIdOf(started.signInUrl))); // the link opened again
    const denied = await signInOneBrowser(flow, ada, { deny: true });
    await failure(flow.completeLink(denied.callback, denied.browserSecret));
    const forwarded = await signInOneBrowser(flow, ada);
    await failure(flow.completeLink(forwarded.callback, 'a-cookie-from-another-browser-0123456789abcdef'));

    const text = logs.text();
    expect(text).toContain('Linked an Atlassian account');
    expect(text).toMatch(/did not start this sign-in.*"cookie":"mismatched"|"cookie":"mismatched".*did not start this sign-in/);
    const secrets = [
      done.link.accessToken,
      done.link.refreshToken as string,
      callback.searchParams.get('code') as string,
      callback.searchParams.get('state') as string,
      denied.callback.searchParams.get('state') as string,
      forwarded.callback.searchParams.get('code') as string,
      new URL(opened.authorizationUrl).searchParams.get('code_challenge') as string,
      flowIdOf(started.signInUrl) as string,
      browserSecret,
      forwarded.browserSecret,
      'a-cookie-from-another-browser-0123456789abcdef',
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
      const opened = await flow.openSignIn(flowIdOf((await flow.startLink(ada)).signInUrl));
      const authorize = new URL(opened.authorizationUrl);
      expect(authorize.searchParams.get('audience')).toBe('api.atlassian.com');
      expect(authorize.searchParams.get('client_id')).toBe('classic-app');
      expect(authorize.searchParams.has('resource')).toBe(false);
      expect(authorize.searchParams.get('prompt')).toBe('consent');

      const done = await flow.completeLink(await completeBrowserLeg(opened.authorizationUrl, { login: 'ada' }), opened.browserSecret);
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
