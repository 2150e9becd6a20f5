/**
 * `/oauth/start` and `/oauth/callback` as browsers meet them: the real routes, link flow, store and
 * authorization server, with each browser's cookies kept apart (`TestBrowser`). The sign-in is bound
 * to the browser that opened the Slack link: anyone else finishing it links nothing; and the account
 * signed in must have the Slack user's email, so a link opened by someone else links nothing either.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { oauthCallbackRoute } from '../../src/http/oauth-callback-route.ts';
import { oauthStartRoute } from '../../src/http/oauth-start-route.ts';
import { toBoltRoutes } from '../../src/http/routes.ts';
import type { CompletedLink } from '../../src/oauth/link-flow.ts';
import { createLinkFlow } from '../../src/oauth/link-flow.ts';
import { createAtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import { createSignInCookie } from '../../src/oauth/sign-in-cookie.ts';
import { TestBrowser, completeBrowserLeg, signInThroughLink } from '../support/auth-server/browser.ts';
import { ada, captureLogs, emailMatch, mcpSiteLookup, memoryStores, startOAuthWorld } from '../oauth/helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * The bot's two OAuth routes on loopback, configured for `publicUrl` (links and the callback are
 * built for it, as behind an ingress); `local` maps such a URL onto the loopback server.
 */
async function startBot(publicUrl = 'http://127.0.0.1') {
  const world = await startOAuthWorld();
  world.auth.addAccount('grace', { password: 'password', name: 'Grace Hopper', email: 'grace@example.com' });
  const { store, tokens } = await memoryStores();
  const logs = captureLogs();
  const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store, logger: logs.logger });
  // Ada (U1) has the email of the `ada` account on the auth server.
  const identityCheck = emailMatch({ U1: 'ada@example.com' }).check;
  const linkFlow = createLinkFlow({ store, tokens, oauth, siteLookup: mcpSiteLookup(world.auth), identityCheck, logger: logs.logger });
  const cookie = createSignInCookie(publicUrl);
  const linked: CompletedLink[] = [];
  const routes = toBoltRoutes(
    [
      oauthStartRoute({ linkFlow, cookie, logger: logs.logger }),
      oauthCallbackRoute({
        linkFlow,
        cookie,
        logger: logs.logger,
        onLinked: async (result) => {
          linked.push(result);
        },
      }),
    ],
    logs.logger,
  );
  const server: Server = createServer((req, res) => {
    const route = routes.find((r) => r.path === new URL(req.url ?? '/', 'http://x').pathname);
    if (route) route.handler(req as never, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    await world.close();
  });
  const local = (url: string | URL) => {
    const parsed = new URL(url, origin);
    return new URL(`${parsed.pathname}${parsed.search}`, origin);
  };
  /** What Ada's click on Connect puts in Slack: a sign-in link, on this server. */
  const clickConnect = async () => local((await linkFlow.startLink(ada, { resumePublish: 'p1' })).signInUrl);
  return { world, tokens, logs, linked, local, clickConnect };
}

const cookieAttributes = (line: string) =>
  line
    .split(';')
    .slice(1)
    .map((part) => part.trim().toLowerCase());

describe('the sign-in link and the callback, bound to one browser', () => {
  it('one browser: the link sets an HttpOnly, SameSite=Lax cookie for /oauth only, goes to Atlassian, and the callback with it links; the cookie is then cleared', async () => {
    const bot = await startBot();
    const browser = new TestBrowser();
    const link = await bot.clickConnect();
    const opened = await browser.open(link);
    expect(opened.status).toBe(302);
    expect(new URL(opened.headers.get('location')!).origin).toBe(bot.world.auth.url);
    expect(opened.headers.get('cache-control')).toBe('no-store');
    expect(opened.setCookies).toHaveLength(1);
    const [setCookie] = opened.setCookies as [string];
    expect(setCookie).toMatch(/^vteam_sign_in=[\w-]{43};/);
    expect(cookieAttributes(setCookie)).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/oauth', 'max-age=600']));
    expect(cookieAttributes(setCookie)).not.toContain('secure'); // PUBLIC_URL is plain http here

    const callback = await completeBrowserLeg(opened.headers.get('location')!, { login: 'ada' });
    const page = await browser.open(bot.local(callback));
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/Your Atlassian account is connected/);
    expect(bot.linked.map((done) => [done.user, done.context])).toEqual([[ada, { resumePublish: 'p1' }]]);
    expect((await bot.tokens.get(ada))?.accessToken).toBe(bot.linked[0]!.link.accessToken);
    expect(page.setCookies).toEqual([expect.stringMatching(/^vteam_sign_in=;/)]);
    expect(cookieAttributes(page.setCookies[0]!)).toEqual(expect.arrayContaining(['max-age=0', 'path=/oauth']));
    expect(browser.cookieHeader(link.origin)).toBe('');
  });

  it('under https the cookie is Secure; a PUBLIC_URL with a path prefix scopes it to that prefix', async () => {
    const bot = await startBot('https://bot.example');
    const opened = await new TestBrowser().open(await bot.clickConnect());
    expect(opened.status).toBe(302);
    expect(cookieAttributes(opened.setCookies[0]!)).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/oauth', 'secure']));
    expect(new URL(opened.headers.get('location')!).searchParams.get('redirect_uri')).toBe('https://bot.example/oauth/callback');

    const prefixed = createSignInCookie('https://example.com/vteam/');
    expect(cookieAttributes(prefixed.set('s3cret', 60_000))).toEqual(expect.arrayContaining(['path=/vteam/oauth', 'secure', 'max-age=60']));
    expect(prefixed.read('other=1; vteam_sign_in=s3cret; more=2')).toBe('s3cret');
    expect(prefixed.read('vteam_sign_in=')).toBeUndefined();
    expect(prefixed.read(undefined)).toBeUndefined();
  });

  it('the attack: Ada opens her link and gets Grace to finish the Atlassian leg in her own browser; nothing is linked, the state is burned, the page says what to do, the log says why', async () => {
    const bot = await startBot();
    const adasBrowser = new TestBrowser();
    const opened = await adasBrowser.open(await bot.clickConnect());
    const forwarded = opened.headers.get('location')!; // what Ada sends Grace

    const gracesBrowser = new TestBrowser();
    const callback = await completeBrowserLeg(forwarded, { login: 'grace' });
    const page = await gracesBrowser.open(bot.local(callback));
    expect(page.status).toBe(400);
    expect(page.text).toContain(
      'This sign-in was not started in this browser, so nothing was connected: go back to Slack, press Connect Atlassian account again and finish the sign-in in the same browser.',
    );
    expect(bot.linked).toEqual([]);
    expect(await bot.tokens.get(ada)).toBeUndefined();
    expect(bot.world.auth.counters.tokenRequests).toBe(0);
    expect(bot.logs.text()).toMatch(/"cookie":"missing".*did not start this sign-in/);

    // Burned: even Ada's own browser, holding the right cookie, cannot use Grace's code now.
    const replay = await adasBrowser.open(bot.local(callback));
    expect(replay.status).toBe(400);
    expect(replay.text).toMatch(/already used/);
    expect(await bot.tokens.get(ada)).toBeUndefined();
    expect(bot.world.auth.counters.tokenRequests).toBe(0);
  });

  it("the attack the cookie cannot stop: Ada's Connect link, unopened, opened in Grace's browser where she signs in as herself; nothing is linked, the page says so with her email masked", async () => {
    const bot = await startBot();
    const gracesBrowser = new TestBrowser();
    const callback = await signInThroughLink(await bot.clickConnect(), { login: 'grace', browser: gracesBrowser });
    const page = await gracesBrowser.open(bot.local(callback));
    expect(page.status).toBe(400);
    expect(page.text).toContain(
      'The Atlassian account you signed in with (g***@example.com) is not the one of the Slack user who asked to connect, so nothing was connected: go back to Slack, press Connect Atlassian account again and sign in with your own Atlassian account, the one with the email of your Slack profile.',
    );
    expect(page.text).not.toContain('grace@example.com');
    expect(page.setCookies).toEqual([expect.stringMatching(/^vteam_sign_in=;/)]);
    expect(bot.linked).toEqual([]);
    expect(await bot.tokens.get(ada)).toBeUndefined();
    expect(bot.logs.text()).toMatch(/"signedInAs":"g\*\*\*@example.com".*not the Slack user's own/);
    expect(bot.logs.text()).not.toMatch(/grace@example\.com|ada@example\.com/);

    // Burned: the same callback again is a replay, whoever brings it.
    expect((await gracesBrowser.open(bot.local(callback))).text).toMatch(/already used/);
    expect(await bot.tokens.get(ada)).toBeUndefined();
  });

  it('a browser holding the cookie of another sign-in is refused the same way', async () => {
    const bot = await startBot();
    const gracesBrowser = new TestBrowser();
    await gracesBrowser.open(await bot.clickConnect()); // a sign-in of her own, never finished
    const adasLink = await new TestBrowser().open(await bot.clickConnect());
    const callback = await completeBrowserLeg(adasLink.headers.get('location')!, { login: 'grace' });
    const page = await gracesBrowser.open(bot.local(callback));
    expect(page.status).toBe(400);
    expect(page.text).toMatch(/not started in this browser/);
    expect(await bot.tokens.get(ada)).toBeUndefined();
    expect(bot.logs.text()).toMatch(/"cookie":"mismatched".*did not start this sign-in/);
  });

  it('the sign-in link opened twice: the second browser gets a page and no cookie; the first still finishes', async () => {
    const bot = await startBot();
    const link = await bot.clickConnect();
    const first = new TestBrowser();
    const callback = await signInThroughLink(link, { login: 'ada', browser: first });

    const second = await new TestBrowser().open(link);
    expect(second.status).toBe(400);
    expect(second.setCookies).toEqual([]);
    expect(second.headers.get('location')).toBeNull();
    expect(second.text).toMatch(/This sign-in link was already used\. Go back to Slack and press Connect Atlassian account again/);

    expect((await first.open(bot.local(callback))).status).toBe(200);
    expect(await bot.tokens.get(ada)).toBeDefined();
  });

  it('an unknown or missing link id gets a page, no cookie and no trip to Atlassian', async () => {
    const bot = await startBot();
    for (const path of ['/oauth/start?flow=forged', '/oauth/start']) {
      const page = await new TestBrowser().open(bot.local(path));
      expect(page.status).toBe(400);
      expect(page.setCookies).toEqual([]);
      expect(page.text).toMatch(/This sign-in link is not valid/);
    }
    expect(bot.world.auth.counters.registrations).toBe(0);
  });

  it('logs hold no link id, cookie value, state, code or token', async () => {
    const bot = await startBot();
    const link = await bot.clickConnect();
    const browser = new TestBrowser();
    const callback = await signInThroughLink(link, { login: 'ada', browser });
    const cookie = browser.cookieHeader(link.origin).split('=')[1]!;
    await browser.open(bot.local(callback));
    await new TestBrowser().open(link); // opened again
    await new TestBrowser().open(bot.local(callback)); // replayed elsewhere
    const forwardedLink = await new TestBrowser().open(await bot.clickConnect());
    const forwarded = await completeBrowserLeg(forwardedLink.headers.get('location')!, { login: 'grace' });
    await new TestBrowser().open(bot.local(forwarded));

    const link1 = (await bot.tokens.get(ada))!;
    const text = bot.logs.text();
    expect(text).toContain('Atlassian account linked');
    const secrets = [
      link.searchParams.get('flow')!,
      cookie,
      forwardedLink.setCookies[0]!.split(';')[0]!.split('=')[1]!,
      callback.searchParams.get('state')!,
      callback.searchParams.get('code')!,
      forwarded.searchParams.get('code')!,
      link1.accessToken,
      link1.refreshToken!,
    ];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(text).not.toContain(secret);
    }
  });
});
