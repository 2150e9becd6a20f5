import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLASSIC_DEFAULT_SCOPES, createAtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import { createLinkFlow } from '../../src/oauth/link-flow.ts';
import type { LinkFlow, SiteLookup } from '../../src/oauth/link-flow.ts';
import { LinkError, describeLinkFailure } from '../../src/oauth/errors.ts';
import { createAccountEmailLookup } from '../../src/atlassian/site-lookup.ts';
import type { TokenStore } from '../../src/storage/tokens.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { completeBrowserLeg, startAuthServer } from '../support/auth-server/index.ts';
import { startFakeAtlassianApi } from '../support/fake-atlassian-api.ts';
import {
  ada,
  captureLogs,
  emailMatch,
  flowIdOf,
  linkInOneBrowser,
  mcpSiteLookup,
  memoryStores,
  publicUrl,
  signInOneBrowser,
  startOAuthWorld,
} from './helpers.ts';

const sites: SiteLookup = async () => ({
  sites: [{ id: 'cloud-1', url: 'https://acme.atlassian.net', name: 'acme' }],
  accountName: 'Ada Lovelace',
});

async function failure(promise: Promise<unknown>): Promise<LinkError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
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
  let oauth: ReturnType<typeof createAtlassianOAuth>;
  /** Ada (Slack U1) has the email of her Atlassian account, `ada` on the auth server; Grace is U2. */
  let identity: ReturnType<typeof emailMatch>;

  beforeEach(async () => {
    world = await startOAuthWorld();
    world.auth.addAccount('grace', { password: 'password', name: 'Grace Hopper', email: 'grace@example.com' });
    ({ store, tokens } = await memoryStores());
    clock = Date.now();
    logs = captureLogs();
    oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store, logger: logs.logger });
    identity = emailMatch({ U1: ' Ada@Example.COM', U2: 'grace@example.com' });
    flow = createLinkFlow({
      store,
      tokens,
      oauth,
      siteLookup: mcpSiteLookup(world.auth),
      identityCheck: identity.check,
      logger: logs.logger,
      now: () => clock,
    });
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
    expect(authorize.searchParams.get('scope')?.split(' ')).toEqual(
      expect.arrayContaining(['read:jira-work', 'write:jira-work', 'offline_access']),
    );
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
    expect(world.auth.counters.tokenLog).toEqual([
      expect.objectContaining({ grantType: 'authorization_code', resource: world.mcp.url, ok: true }),
    ]);
    const accepted = await fetch(world.mcp.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${done.link.accessToken}` },
      body: '{}',
    });
    expect(accepted.status).toBe(200);
  });

  it("a link sent to a colleague links nothing: a callback from a browser without the cookie, or with another flow's, is refused and burns the state", async () => {
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
    const mismatched = await failure(
      flow.completeLink(await completeBrowserLeg(second.authorizationUrl, { login: 'grace' }), other.browserSecret),
    );
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
    await expect(
      flow.completeLink(await completeBrowserLeg(first.authorizationUrl, { login: 'ada' }), first.browserSecret),
    ).resolves.toMatchObject({ user: ada });

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
    await expect(
      flow.completeLink(await completeBrowserLeg(opened.authorizationUrl, { login: 'ada' }), opened.browserSecret),
    ).resolves.toMatchObject({ user: ada });
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

  it("the attack: Ada's Connect link, unopened, opened by Grace's browser where she signs in as herself, links nothing and names the account only masked", async () => {
    // Ada copies her sign-in link without opening it; Grace opens it, so Grace's browser holds the cookie.
    const started = await flow.startLink(ada, { resumePublish: 'p1' });
    const gracesBrowser = await flow.openSignIn(flowIdOf(started.signInUrl));
    const callback = await completeBrowserLeg(gracesBrowser.authorizationUrl, { login: 'grace' });

    const refused = await failure(flow.completeLink(callback, gracesBrowser.browserSecret));
    expect(refused).toMatchObject({ kind: 'other_account', user: ada, context: { resumePublish: 'p1' }, signedInAs: 'g***@example.com' });
    expect(identity.asked).toEqual(['U1']); // the email of the Slack user who clicked Connect, not of whoever signed in
    expect(await tokens.get(ada)).toBeUndefined();
    expect(await tokens.get({ teamId: 'T1', userId: 'U2' })).toBeUndefined();
    // Burned: a second try with the same callback is a replay.
    expect((await failure(flow.completeLink(callback, gracesBrowser.browserSecret))).kind).toBe('used_state');

    const page = describeLinkFailure(refused.kind, { signedInAs: refused.signedInAs, format: 'plain' });
    expect(page).toBe(
      'The Atlassian account you signed in with (g***@example.com) is not the one of the Slack user who asked to connect, so nothing was connected: go back to Slack, press Connect Atlassian account again and sign in with your own Atlassian account, the one with the email of your Slack profile.',
    );
    expect(describeLinkFailure(refused.kind, { signedInAs: refused.signedInAs })).toContain('(`g***@example.com`)'); // no stray mrkdwn bold in Slack
    const text = logs.text();
    expect(text).toMatch(/"signedInAs":"g\*\*\*@example.com","slackEmail":"a\*\*\*@example.com".*not the Slack user's own/);
    expect(text).not.toMatch(/grace@example\.com|ada@example\.com/i);
  });

  it('the same person links whatever the case and spacing of either email', async () => {
    const done = await linkInOneBrowser(flow, ada, 'ada');
    expect(done.link.accountName).toBe('Ada Lovelace');
    expect(await tokens.get(ada)).toEqual(done.link);
    expect(logs.text()).toMatch(/"emailMatch":"checked".*Linked an Atlassian account/);
  });

  it('an email that cannot be read on either side refuses the link (fail closed) and says how to fix it', async () => {
    // No Slack email (users:read.email not granted, or none on the profile).
    identity.slackEmails.U1 = undefined;
    const noSlackEmail = await failure(linkInOneBrowser(flow, ada));
    expect(noSlackEmail).toMatchObject({ kind: 'unverified_account', user: ada });
    expect(await tokens.get(ada)).toBeUndefined();
    expect(logs.text()).toMatch(
      /"slackEmail":"unknown","atlassianEmail":"known","reasons":\["Slack shows no profile email \(is users:read.email granted\?\)"\]/,
    );
    identity.slackEmails.U1 = 'ada@example.com';

    // MCP: the site lookup (with atlassianUserInfo) failed, or its answer has no email.
    const down = createLinkFlow({
      store,
      tokens,
      oauth,
      siteLookup: async () => {
        throw new Error('MCP down');
      },
      identityCheck: identity.check,
      logger: logs.logger,
    });
    expect((await failure(linkInOneBrowser(down, ada))).kind).toBe('unverified_account');
    const noEmail = createLinkFlow({
      store,
      tokens,
      oauth,
      siteLookup: async () => ({ sites: [] }),
      identityCheck: identity.check,
      logger: logs.logger,
    });
    expect((await failure(linkInOneBrowser(noEmail, ada))).kind).toBe('unverified_account');
    expect(await tokens.get(ada)).toBeUndefined();

    // Slack itself failing is as unknown as no email.
    const slackFails = createLinkFlow({
      store,
      tokens,
      oauth,
      siteLookup: mcpSiteLookup(world.auth),
      logger: logs.logger,
      identityCheck: {
        policy: 'required',
        slackEmailOf: async () => {
          throw new Error('users.info timed out');
        },
      },
    });
    expect((await failure(linkInOneBrowser(slackFails, ada))).kind).toBe('unverified_account');
    expect(logs.text()).toContain('the Slack profile email could not be read: users.info timed out');

    expect(describeLinkFailure('unverified_account', { format: 'plain' })).toBe(
      'We could not verify that this Atlassian account belongs to the Slack user who asked to connect, so nothing was connected: press Connect Atlassian account in Slack to try again, and if it keeps failing ask your administrator to check that the bot may read email addresses (Slack scope users:read.email, Atlassian scope read:me) or to set ATLASSIAN_LINK_EMAIL_MATCH=off.',
    );
    expect(logs.text()).not.toMatch(/ada@example\.com/i);
  });

  it("ATLASSIAN_LINK_EMAIL_MATCH=off skips the check: the same unopened link then links Ada to Grace's account (why off weakens the protection)", async () => {
    const off = createLinkFlow({
      store,
      tokens,
      oauth,
      siteLookup: mcpSiteLookup(world.auth),
      identityCheck: { policy: 'off' },
      logger: logs.logger,
    });
    const done = await linkInOneBrowser(off, ada, 'grace');
    expect(done.link.accountName).toBe('Grace Hopper');
    expect(await world.auth.verifyAccessToken((await tokens.get(ada))!.accessToken)).toMatchObject({ sub: 'grace' });
    expect(identity.asked).toEqual([]);
    expect(logs.text()).toMatch(/"emailMatch":"off".*Linked an Atlassian account/);
  });

  it('keeps the link when the site lookup fails but the account email is known (classic: from /me)', async () => {
    const lookupDown = createLinkFlow({
      store,
      tokens,
      oauth,
      siteLookup: async () => {
        throw new Error('MCP down');
      },
      identityCheck: emailMatch({ U1: 'ada@example.com' }, async (token) => (await world.auth.verifyAccessToken(token))?.email).check,
    });
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
    const otherAccount = await signInOneBrowser(flow, ada, { login: 'grace' });
    await failure(flow.completeLink(otherAccount.callback, otherAccount.browserSecret));

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
      otherAccount.callback.searchParams.get('code') as string,
      otherAccount.browserSecret,
      'grace@example.com',
      'ada@example.com',
    ];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(text).not.toContain(secret);
    }
  });
});

describe('account linking (classic 3LO app: configured confidential client)', () => {
  const classicClient = {
    client_id: 'classic-app',
    client_secret: 'classic-secret-value-0123456789',
    redirect_uris: [`${publicUrl}/oauth/callback`],
    token_endpoint_auth_method: 'client_secret_post' as const,
    grant_types: ['authorization_code', 'refresh_token'],
  };
  const resource = 'https://api.atlassian.example/';

  /** The classic world: auth server, Atlassian's API gateway answering /me for its tokens, a link flow as app.ts builds it. */
  async function classicWorld() {
    const auth = await startAuthServer({ defaultResource: resource, clients: [classicClient] });
    auth.addAccount('grace', { password: 'password', name: 'Grace Hopper', email: 'grace@example.com' });
    const api = await startFakeAtlassianApi({
      sitesFor: async (token) =>
        (await auth.verifyAccessToken(token)) === undefined
          ? undefined
          : [{ id: 'cloud-1', url: 'https://acme.atlassian.net', name: 'acme' }],
      accountFor: async (token) => {
        const account = await auth.verifyAccessToken(token);
        return account && { account_id: account.sub, email: account.email, name: account.name };
      },
    });
    const { store, tokens } = await memoryStores();
    const logs = captureLogs();
    const oauth = createAtlassianOAuth({
      mode: {
        kind: 'classic',
        issuer: auth.issuer,
        clientId: 'classic-app',
        clientSecret: 'classic-secret-value-0123456789',
        scopes: CLASSIC_DEFAULT_SCOPES,
      },
      publicUrl,
      store,
      logger: logs.logger,
    });
    const identity = emailMatch({ U1: 'ada@example.com' }, createAccountEmailLookup({ apiUrl: api.url }));
    const flow = createLinkFlow({ store, tokens, oauth, siteLookup: sites, identityCheck: identity.check, logger: logs.logger });
    return {
      auth,
      api,
      store,
      tokens,
      logs,
      flow,
      async close() {
        await api.close();
        await auth.close();
        await store.close();
      },
    };
  }

  it('uses the configured client and secret, the audience parameter and configured scopes (read:me among them), and checks the account with /me', async () => {
    const world = await classicWorld();
    try {
      const { flow, auth, api, tokens, logs } = world;
      const opened = await flow.openSignIn(flowIdOf((await flow.startLink(ada)).signInUrl));
      const authorize = new URL(opened.authorizationUrl);
      expect(authorize.searchParams.get('audience')).toBe('api.atlassian.com');
      expect(authorize.searchParams.get('client_id')).toBe('classic-app');
      expect(authorize.searchParams.has('resource')).toBe(false);
      expect(authorize.searchParams.get('prompt')).toBe('consent');
      expect(authorize.searchParams.get('scope')?.split(' ')).toEqual(
        expect.arrayContaining(['read:jira-work', 'write:jira-work', 'read:me', 'offline_access']),
      );

      const done = await flow.completeLink(await completeBrowserLeg(opened.authorizationUrl, { login: 'ada' }), opened.browserSecret);
      // The cloud id is chosen per publish from the project's site, never fixed to the first grant.
      expect(done.link.cloudId).toBeUndefined();
      expect(done.link.sites?.map((site) => site.id)).toEqual(['cloud-1']);
      expect(done.link.refreshToken).toBeDefined();
      expect(await auth.verifyAccessToken(done.link.accessToken)).toMatchObject({ sub: 'ada', clientId: 'classic-app' });
      expect(await tokens.get(ada)).toEqual(done.link);
      expect(api.meLookups).toEqual([{ token: done.link.accessToken, status: 200 }]);
      expect(auth.counters.registrations).toBe(0);
      expect(logs.text()).not.toContain('classic-secret-value-0123456789');
    } finally {
      await world.close();
    }
  });

  it("the attack, classic: /me says the account signed in is Grace's, so Ada's link stays empty", async () => {
    const world = await classicWorld();
    try {
      const opened = await world.flow.openSignIn(flowIdOf((await world.flow.startLink(ada)).signInUrl));
      const callback = await completeBrowserLeg(opened.authorizationUrl, { login: 'grace' });
      const refused = await failure(world.flow.completeLink(callback, opened.browserSecret));
      expect(refused).toMatchObject({ kind: 'other_account', signedInAs: 'g***@example.com', user: ada });
      expect(await world.tokens.get(ada)).toBeUndefined();
      expect(world.api.meLookups.map((lookup) => lookup.status)).toEqual([200]);
    } finally {
      await world.close();
    }
  });

  it('a /me that cannot be read (read:me not granted, Atlassian down) refuses the link; the next try links', async () => {
    const world = await classicWorld();
    try {
      world.api.answerMe(() => undefined); // 403, as for a token without read:me
      expect((await failure(linkInOneBrowser(world.flow, ada))).kind).toBe('unverified_account');
      expect(world.logs.text()).toContain('the Atlassian account email (/me) could not be read: /me answered 403');
      world.api.answerMe(async (token) => {
        const account = await world.auth.verifyAccessToken(token);
        return account && { account_id: account.sub, email: account.email };
      });
      world.api.failNextMe(1, 503);
      expect((await failure(linkInOneBrowser(world.flow, ada))).kind).toBe('unverified_account');
      expect(await world.tokens.get(ada)).toBeUndefined();

      await expect(linkInOneBrowser(world.flow, ada)).resolves.toMatchObject({ user: ada });
      expect(world.api.meLookups.map((lookup) => lookup.status)).toEqual([403, 503, 200]);
      expect(world.logs.text()).not.toContain('ada@example.com');
    } finally {
      await world.close();
    }
  });
});
