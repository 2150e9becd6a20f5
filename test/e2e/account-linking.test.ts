import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeBrowserLeg } from '../support/auth-server/index.ts';
import { messageText } from '../support/fake-slack.ts';
import { eventBody, postToSlackEvents } from '../support/slack-requests.ts';
import { SPEC, WORKFLOW, startEnvironment, type Environment } from '../support/environment.ts';

/**
 * The whole OAuth 2.1 leg against a real authorization server (oidc-provider: dynamic client
 * registration, PKCE, resource indicators, rotating refresh tokens), discovered from the MCP
 * endpoint's 401, with the browser driven by plain HTTP.
 */
let env: Environment;
const BOB = { userId: 'U0010', dm: 'DU0010' };
const secretsSeen: string[] = [];
let usedCallback: URL | undefined;

beforeAll(async () => { env = await startEnvironment({ oauth: true }); });
afterAll(async () => { await env?.close(); });

const dmCalls = () => env.slack.calls.filter((c) => c.args.channel === BOB.dm);

/** Clicks the Connect button of a DM message and returns the fresh sign-in URL it was replaced with. */
async function clickConnect(messageTs: string): Promise<string> {
  const before = env.slack.callsTo('chat.update').length;
  await env.click('connect_atlassian', 'connect', { userId: BOB.userId, channelId: BOB.dm, messageTs });
  const update = await env.slack.waitFor(() => env.slack.callsTo('chat.update').slice(before).find((c) => c.args.channel === BOB.dm));
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
  const callback = await completeBrowserLeg(url!, { login: 'ada' });
  expect((await openCallback(callback)).status).toBe(200);
}

async function openCallback(callback: URL): Promise<{ status: number; text: string }> {
  const response = await fetch(callback);
  return { status: response.status, text: await response.text() };
}

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

  it('each click mints a different single-use sign-in URL with PKCE S256 and the resource', async () => {
    const first = new URL(await clickConnect(promptTs));
    const second = new URL(await clickConnect(promptTs));
    expect(first.searchParams.get('state')).not.toBe(second.searchParams.get('state'));
    for (const url of [first, second]) {
      expect(url.origin).toBe(new URL(env.auth!.issuer).origin);
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      expect(url.searchParams.get('resource')).toBe(env.mcp.url);
      expect(url.searchParams.get('redirect_uri')).toBe(`${env.app.url}/oauth/callback`);
    }
    expect(env.auth!.counters.registrations).toBe(1); // dynamic client registration, once
    secretsSeen.push(first.searchParams.get('state')!, second.searchParams.get('state')!);
  });

  it('denied consent shows a friendly page and links nothing', async () => {
    const callback = await completeBrowserLeg(await clickConnect(promptTs), { login: 'ada', deny: true });
    const page = await openCallback(callback);
    expect(page.status).toBe(400);
    expect(page.text).toMatch(/Access was not granted/);
    expect(env.mcp.issues()).toHaveLength(0);
  });

  it('completing the sign-in connects the account, says so in a DM, and finishes the waiting publish by itself', async () => {
    const callback = await completeBrowserLeg(await clickConnect(promptTs), { login: 'ada' });
    usedCallback = callback;
    secretsSeen.push(callback.searchParams.get('code')!, callback.searchParams.get('state')!);
    const page = await openCallback(callback);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/connected\. You can close this tab and return to Slack/);

    await env.slack.waitFor(() => dmCalls().find((c) => /Connected as .* to acme\.atlassian\.net/.test(messageText(c.args))));
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === SPEC));
    const [issue] = env.mcp.issues();
    expect(issue!.summary).toBe('[RFE] Dark mode - specify');
    // Created with the token this user's OAuth flow produced, audience-bound to the MCP endpoint.
    const token = env.mcp.toolCalls('createJiraIssue')[0]!.token!;
    secretsSeen.push(token);
    expect(await env.auth!.verifyAccessToken(token)).toMatchObject({ aud: env.mcp.url });
    const reply = await env.slack.waitFor(() => env.slack.callsTo('chat.postMessage').find((c) => c.args.thread_ts && messageText(c.args).includes(issue!.key)));
    expect(messageText(reply.args)).toContain(`<@${BOB.userId}>`);
  });

  it('a replayed callback is refused with a page that says how to start again, changing nothing', async () => {
    const page = await openCallback(usedCallback!);
    expect(page.status).toBe(400);
    expect(page.text).toMatch(/already used\. Go back to Slack and press Connect Atlassian account again/);
    const forged = await openCallback(new URL(`${env.app.url}/oauth/callback?code=x&state=forged`));
    expect(forged.text).toMatch(/not valid/);
    const missing = await openCallback(new URL(`${env.app.url}/oauth/callback`));
    expect(missing.status).toBe(400);
  });

  it('App Home shows the link and recent publishes', async () => {
    const before = env.slack.callsTo('views.publish').length;
    const result = await postToSlackEvents(env.app.url, env.signingSecret, eventBody({ type: 'app_home_opened', user: BOB.userId, channel: BOB.dm, tab: 'home' }), { json: true });
    expect(result.status).toBe(200);
    const view = await env.slack.waitFor(() => env.slack.callsTo('views.publish').slice(before)[0]);
    const text = JSON.stringify(view.args.view);
    expect(text).toContain('Atlassian account connected');
    expect(text).toContain('disconnect_atlassian');
    expect(text).toContain(env.mcp.issues()[0]!.key);
  });

  /** Runs the sign-in from the latest Connect prompt DMed to Bob. */
  async function connectFromLatestPrompt(): Promise<void> {
    const prompt = await env.slack.waitFor(() => env.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === BOB.dm && JSON.stringify(c.args.blocks ?? '').includes('connect_atlassian')).at(-1));
    const ts = (prompt as unknown as { args: Record<string, unknown> }).args.ts as string | undefined;
    const callback = await completeBrowserLeg(await clickConnect(ts ?? promptTs), { login: 'ada' });
    expect((await openCallback(callback)).status).toBe(200);
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
    await env.auth!.revokeGrant('ada');
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

  it('never writes a token, code or state to its logs', () => {
    const output = env.app.output.join('\n');
    expect(secretsSeen.length).toBeGreaterThanOrEqual(3);
    for (const secret of secretsSeen) expect(output).not.toContain(secret);
  });
});
