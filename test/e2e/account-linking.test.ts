import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKeyRing } from '../../src/storage/crypto.ts';
import { createStore } from '../../src/storage/store.ts';
import { createTokenStore } from '../../src/storage/tokens.ts';
import { TestBrowser, completeBrowserLeg, signInThroughLink } from '../support/auth-server/browser.ts';
import { messageText } from '../support/fake-slack.ts';
import { eventBody, postToSlackEvents } from '../support/slack-requests.ts';
import { SPEC, WORKFLOW, startEnvironment, type Environment } from '../support/environment.ts';

/**
 * The whole OAuth 2.1 leg against a real authorization server (oidc-provider: dynamic client
 * registration, PKCE, resource indicators, rotating refresh tokens), discovered from the MCP
 * endpoint's 401, with the browser driven by plain HTTP. Slack holds only the bot's sign-in link;
 * the browser that opens it gets the cookie the callback requires, and the Atlassian account signed
 * in must have the email of the Slack user who clicked Connect (the fake Slack answers users.info
 * with `<user id lowercased>@example.com`; the MCP server's atlassianUserInfo, the account's email).
 */
let env: Environment;
const BOB = { userId: 'U0010', dm: 'DU0010' };
const secretsSeen: string[] = [];
let usedCallback: URL | undefined;

beforeAll(async () => {
  env = await startEnvironment({ oauth: true });
  // Bob's own Atlassian account has his Slack email; Grace's is hers.
  env.auth!.addAccount('bob', { password: 'password', name: 'Bob Builder', email: 'u0010@example.com' });
  env.auth!.addAccount('grace', { password: 'password', name: 'Grace Hopper', email: 'grace@example.com' });
});
afterAll(async () => {
  await env?.close();
});

const dmCalls = () => env.slack.calls.filter((c) => c.args.channel === BOB.dm);

/** Clicks the Connect button of a DM message and returns the fresh sign-in link it was replaced with. */
async function clickConnect(messageTs: string): Promise<string> {
  const before = env.slack.callsTo('chat.update').length;
  await env.click('connect_atlassian', 'connect', { userId: BOB.userId, channelId: BOB.dm, messageTs });
  const update = await env.slack.waitFor(() =>
    env.slack
      .callsTo('chat.update')
      .slice(before)
      .find((c) => c.args.channel === BOB.dm),
  );
  const url = /"url":"([^"]+)"/.exec(JSON.stringify(update.args.blocks))?.[1];
  if (!url) throw new Error('no sign-in URL in the updated DM');
  return url;
}

/** `/vteam connect` answers with an ephemeral Connect button; its click replaces it via response_url. */
async function connectFromLatestPromptOrEphemeral(_ackBody: string): Promise<void> {
  const before = env.slack.responses.length;
  const click = await env.click('connect_atlassian', 'connect', { userId: BOB.userId, channelId: 'C0001', ephemeral: true });
  const replaced = await env.slack.waitFor(() => env.slack.responses.slice(before).find((r) => r.id === click.responseId));
  const url = /"url":"([^"]+)"/.exec(JSON.stringify(replaced.body.blocks))?.[1];
  const browser = new TestBrowser();
  const callback = await signInThroughLink(url!, { login: 'bob', browser });
  expect((await browser.open(callback)).status).toBe(200);
}

/** The value of the sign-in cookie the sign-in link gave this browser. */
const signInCookieOf = (browser: TestBrowser) => /vteam_sign_in=([^;]+)/.exec(browser.cookieHeader(env.app.url))?.[1];

describe('linking an Atlassian account from Slack', () => {
  let promptTs = '';

  it('a publish by an unlinked user DMs a Connect button and waits', async () => {
    const answer = await env.command(`publish ${WORKFLOW} ${SPEC}`, { userId: BOB.userId });
    const note = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    expect(messageText(note.body)).toMatch(/not linked yet: I sent you a direct message/);
    const dm = await env.slack.waitFor(() => env.slack.callsTo('chat.postMessage').find((c) => c.args.channel === BOB.dm));
    expect(JSON.stringify(dm.args.blocks)).toContain('connect_atlassian');
    expect(JSON.stringify(dm.args.blocks)).not.toMatch(/https?:\/\//); // a button, not a URL
    expect(env.mcp.issues()).toHaveLength(0);
    promptTs = '1760000000.000001';
  });

  it('each click mints a different single-use sign-in link to the bot, which sends the browser on with PKCE S256 and the resource', async () => {
    const first = new URL(await clickConnect(promptTs));
    const second = new URL(await clickConnect(promptTs));
    expect(first.searchParams.get('flow')).not.toBe(second.searchParams.get('flow'));
    const states: string[] = [];
    for (const link of [first, second]) {
      expect(`${link.origin}${link.pathname}`).toBe(`${env.app.url}/oauth/start`);
      const browser = new TestBrowser();
      const opened = await browser.open(link);
      expect(opened.status).toBe(302);
      expect(opened.setCookies[0]).toMatch(/^vteam_sign_in=[^;]+; Max-Age=600; Path=\/oauth; HttpOnly; SameSite=Lax$/);
      const url = new URL(opened.headers.get('location')!);
      expect(url.origin).toBe(new URL(env.auth!.issuer).origin);
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      expect(url.searchParams.get('resource')).toBe(env.mcp.url);
      expect(url.searchParams.get('redirect_uri')).toBe(`${env.app.url}/oauth/callback`);
      states.push(url.searchParams.get('state')!);
      secretsSeen.push(link.searchParams.get('flow')!, url.searchParams.get('state')!, signInCookieOf(browser)!);
    }
    expect(states[0]).not.toBe(states[1]);
    expect(env.auth!.counters.registrations).toBe(1); // dynamic client registration, once
  });

  it('denied consent shows a friendly page and links nothing', async () => {
    const browser = new TestBrowser();
    const callback = await signInThroughLink(await clickConnect(promptTs), { login: 'bob', deny: true, browser });
    const page = await browser.open(callback);
    expect(page.status).toBe(400);
    expect(page.text).toMatch(/Access was not granted/);
    expect(env.mcp.issues()).toHaveLength(0);
  });

  it('a sign-in finished in another browser (Bob forwards his link to a colleague) links nothing and says to start again in the same browser', async () => {
    const grantsBefore = env.auth!.counters.authorizationCodeGrants;
    const link = await clickConnect(promptTs);

    // Forwarded before opening: the link works once, so whoever opens it second gets nothing.
    const bobsBrowser = new TestBrowser();
    const opened = await bobsBrowser.open(link);
    secretsSeen.push(new URL(link).searchParams.get('flow')!, signInCookieOf(bobsBrowser)!);
    const openedAgain = await new TestBrowser().open(link);
    expect(openedAgain.status).toBe(400);
    expect(openedAgain.setCookies).toEqual([]);
    expect(openedAgain.text).toMatch(/This sign-in link was already used/);

    // Forwarded after opening: Grace signs in to Atlassian and lands on the callback in her browser.
    const gracesBrowser = new TestBrowser();
    const callback = await completeBrowserLeg(opened.headers.get('location')!, { login: 'grace' });
    secretsSeen.push(callback.searchParams.get('code')!, callback.searchParams.get('state')!);
    const page = await gracesBrowser.open(callback);
    expect(page.status).toBe(400);
    expect(page.text).toContain(
      'This sign-in was not started in this browser, so nothing was connected: go back to Slack, press Connect Atlassian account again and finish the sign-in in the same browser.',
    );
    // And the state is spent: Bob's own browser cannot use Grace's code either.
    expect((await bobsBrowser.open(callback)).text).toMatch(/already used/);

    expect(env.auth!.counters.authorizationCodeGrants).toBe(grantsBefore);
    expect(dmCalls().some((c) => /Connected/.test(messageText(c.args)))).toBe(false);
    expect(env.mcp.issues()).toHaveLength(0);
    expect(env.app.output.join('\n')).toMatch(/"cookie":"missing".*did not start this sign-in/);
  });

  it("Bob's Connect link, copied unopened and opened by Grace, who signs in as herself: refused, nothing stored, nothing published as Grace", async () => {
    const grantsBefore = env.auth!.counters.authorizationCodeGrants;
    const link = await clickConnect(promptTs); // Bob copies it without opening it

    // Grace opens it: her browser gets the cookie, and she signs in to Atlassian as herself.
    const gracesBrowser = new TestBrowser();
    const callback = await signInThroughLink(link, { login: 'grace', browser: gracesBrowser });
    secretsSeen.push(
      new URL(link).searchParams.get('flow')!,
      callback.searchParams.get('code')!,
      callback.searchParams.get('state')!,
      signInCookieOf(gracesBrowser)!,
    );
    const page = await gracesBrowser.open(callback);
    expect(page.status).toBe(400);
    expect(page.text).toContain(
      'The Atlassian account you signed in with (g***@example.com) is not the one of the Slack user who asked to connect, so nothing was connected: go back to Slack, press Connect Atlassian account again and sign in with your own Atlassian account, the one with the email of your Slack profile.',
    );
    expect(page.text).not.toContain('grace@example.com');
    expect(env.auth!.counters.authorizationCodeGrants).toBe(grantsBefore + 1); // exchanged, checked, refused

    // Nothing stored for Bob, no Connected DM, and the publish waiting for his link did not run as Grace.
    const store = await createStore(env.appEnv().STORE_URL!);
    try {
      expect(
        await createTokenStore(store, parseKeyRing(env.appEnv().TOKEN_ENCRYPTION_KEY!)).get({ teamId: 'T0001', userId: BOB.userId }),
      ).toBeUndefined();
    } finally {
      await store.close();
    }
    expect(dmCalls().some((c) => /Connected/.test(messageText(c.args)))).toBe(false);
    expect(env.mcp.toolCalls('createJiraIssue')).toEqual([]);
    expect(env.mcp.issues()).toHaveLength(0);
    // Burned: Bob cannot bring Grace's callback back himself.
    expect((await new TestBrowser().open(callback)).text).toMatch(/already used/);

    const output = env.app.output.join('\n');
    expect(output).toMatch(/"signedInAs":"g\*\*\*@example.com","slackEmail":"u\*\*\*@example.com".*not the Slack user's own/);
    expect(output).not.toMatch(/grace@example\.com|u0010@example\.com/);
  });

  it('completing the sign-in connects the account, says so in a DM, and finishes the waiting publish by itself', async () => {
    const browser = new TestBrowser();
    const callback = await signInThroughLink(await clickConnect(promptTs), { login: 'bob', browser });
    usedCallback = callback;
    secretsSeen.push(callback.searchParams.get('code')!, callback.searchParams.get('state')!, signInCookieOf(browser)!);
    const page = await browser.open(callback);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/connected\. You can close this tab and return to Slack/);
    expect(page.setCookies).toEqual([expect.stringMatching(/^vteam_sign_in=; Max-Age=0; Path=\/oauth;/)]);

    await env.slack.waitFor(() => dmCalls().find((c) => /Connected as .* to acme\.atlassian\.net/.test(messageText(c.args))));
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === SPEC));
    const [issue] = env.mcp.issues();
    expect(issue!.summary).toBe('[RFE] Dark mode - specify');
    // Created with the token this user's OAuth flow produced, audience-bound to the MCP endpoint.
    const token = env.mcp.toolCalls('createJiraIssue')[0]!.token!;
    secretsSeen.push(token);
    expect(await env.auth!.verifyAccessToken(token)).toMatchObject({ aud: env.mcp.url, sub: 'bob' });
    const reply = await env.slack.waitFor(() =>
      env.slack.callsTo('chat.postMessage').find((c) => c.args.thread_ts && messageText(c.args).includes(issue!.key)),
    );
    expect(messageText(reply.args)).toContain(`<@${BOB.userId}>`);
  });

  it('a replayed callback is refused with a page that says how to start again, changing nothing', async () => {
    const page = await new TestBrowser().open(usedCallback!);
    expect(page.status).toBe(400);
    expect(page.text).toMatch(/already used\. Go back to Slack and press Connect Atlassian account again/);
    const forged = await new TestBrowser().open(`${env.app.url}/oauth/callback?code=x&state=forged`);
    expect(forged.text).toMatch(/not valid/);
    const missing = await new TestBrowser().open(`${env.app.url}/oauth/callback`);
    expect(missing.status).toBe(400);
  });

  it('App Home shows the link and recent publishes', async () => {
    const before = env.slack.callsTo('views.publish').length;
    const result = await postToSlackEvents(
      env.app.url,
      env.signingSecret,
      eventBody({ type: 'app_home_opened', user: BOB.userId, channel: BOB.dm, tab: 'home' }),
      { json: true },
    );
    expect(result.status).toBe(200);
    const view = await env.slack.waitFor(() => env.slack.callsTo('views.publish').slice(before)[0]);
    const text = JSON.stringify(view.args.view);
    expect(text).toContain('Atlassian account connected');
    expect(text).toContain('disconnect_atlassian');
    expect(text).toContain(env.mcp.issues()[0]!.key);
  });

  /** Runs the sign-in from the latest Connect prompt DMed to Bob. */
  async function connectFromLatestPrompt(): Promise<void> {
    const prompt = await env.slack.waitFor(() =>
      env.slack
        .callsTo('chat.postMessage')
        .filter((c) => c.args.channel === BOB.dm && JSON.stringify(c.args.blocks ?? '').includes('connect_atlassian'))
        .at(-1),
    );
    const ts = (prompt as unknown as { args: Record<string, unknown> }).args.ts as string | undefined;
    const browser = new TestBrowser();
    const callback = await signInThroughLink(await clickConnect(ts ?? promptTs), { login: 'bob', browser });
    expect((await browser.open(callback)).status).toBe(200);
  }

  it('refreshes an access token before it expires, with the rotated refresh token saved', async () => {
    env.auth!.setAccessTokenTtl(5);
    const answer = await env.command('connect', { userId: BOB.userId });
    expect(JSON.parse(answer.body).blocks).toBeDefined();
    await connectFromLatestPromptOrEphemeral(answer.body);
    const refreshesBefore = env.auth!.counters.refreshes;
    await env.command(`publish ${WORKFLOW} specs/001-dark-mode/plan.md`, { userId: BOB.userId });
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === 'specs/001-dark-mode/plan.md'));
    expect(env.auth!.counters.refreshes).toBeGreaterThan(refreshesBefore);
    expect(env.auth!.counters.failedRefreshes).toBe(0);
    env.auth!.setAccessTokenTtl(3600);
  });

  it('a revoked grant marks the link broken, asks to reconnect, and the publish resumes after reconnecting', async () => {
    await env.auth!.revokeGrant('bob');
    const answer = await env.command(`publish ${WORKFLOW} specs/001-dark-mode/tasks.md`, { userId: BOB.userId });
    const note = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    expect(messageText(note.body)).toMatch(/Jira authentication expired\. Please re-authenticate/);
    await env.slack.waitFor(() => dmCalls().find((c) => JSON.stringify(c.args.blocks ?? '').includes('Reconnect Atlassian account')));
    await connectFromLatestPrompt();
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === 'specs/001-dark-mode/tasks.md'));
    expect(env.mcp.issues().filter((i) => i.summary.endsWith('- tasks'))).toHaveLength(1);
  });

  it('/vteam disconnect removes the link; the next publish asks to connect again', async () => {
    const answer = await env.command('disconnect', { userId: BOB.userId });
    const note = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    expect(messageText(note.body)).toMatch(/Your Atlassian account is disconnected/);
    const again = await env.command(`publish ${WORKFLOW} specs/001-dark-mode/research.md`, { userId: BOB.userId });
    const prompt = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === again.responseId));
    expect(messageText(prompt.body)).toMatch(/not linked yet/);
  });

  it('never writes a token, code, state, sign-in link id, cookie value or email to its logs', () => {
    const output = env.app.output.join('\n');
    expect(output).not.toMatch(/(u0010|grace)@example\.com/);
    expect(secretsSeen.length).toBeGreaterThanOrEqual(12);
    for (const secret of secretsSeen) expect(output).not.toContain(secret);
  });
});
