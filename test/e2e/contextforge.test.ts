import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser, completeBrowserLeg } from '../support/auth-server/browser.ts';
import { messageText } from '../support/fake-slack.ts';
import { postToSlackEvents, viewSubmissionBody } from '../support/slack-requests.ts';
import {
  ALICE_EMAIL,
  CONTEXTFORGE,
  PLAN,
  PROJECT,
  SITE,
  SPEC,
  TASKS,
  buttonValue,
  startEnvironment,
  type Environment,
} from '../support/environment.ts';

/**
 * MCP_GATEWAY=contextforge: the bot talks to IBM MCP Context Forge (the loopback MCF of test/support),
 * which holds each user's Atlassian tokens and relays to the Rovo test server. The bot signs a
 * short-lived JWT per user; it never sees an Atlassian token. Alice is linked in MCF already; Bob
 * (U0002) is an MCF user in the team who never authorized; Carol (U0003) is an MCF user in no team.
 */
let env: Environment;
const BOB = { userId: 'U0002', dm: 'DU0002', email: 'u0002@example.com' };
const CAROL = { userId: 'U0003', dm: 'DU0003' };

const DAVE = { userId: 'U0004', dm: 'DU0004', email: 'u0004@example.com' };

beforeAll(async () => {
  env = await startEnvironment({ contextforge: true });
  // Atlassian accounts with the users' Slack emails, and Grace's own.
  env.auth!.addAccount('bob', { password: 'password', name: 'Bob Builder', email: BOB.email });
  env.auth!.addAccount('dave', { password: 'password', name: 'Dave', email: DAVE.email });
  env.auth!.addAccount('grace', { password: 'password', name: 'Grace Hopper', email: 'grace@example.com' });
  env.contextForge!.addUser(DAVE.email, { teams: [CONTEXTFORGE.team] });
});
afterAll(async () => {
  await env?.close();
});

const mcf = () => env.contextForge!;

/** Clicks Connect in the user's DM; returns the message it was replaced with and the sign-in link in it. */
async function clickConnect(user: { userId: string; dm: string }): Promise<{ text: string; url: string }> {
  const before = env.slack.callsTo('chat.update').length;
  await env.click('connect_atlassian', 'connect', { userId: user.userId, channelId: user.dm, messageTs: '1760000000.000001' });
  const update = await env.slack.waitFor(() =>
    env.slack
      .callsTo('chat.update')
      .slice(before)
      .find((c) => c.args.channel === user.dm),
  );
  return { text: messageText(update.args), url: /"url":"([^"]+)"/.exec(JSON.stringify(update.args.blocks))?.[1] ?? '' };
}
const threadReplies = () => env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts !== undefined);
const dmTexts = (dm: string) => env.slack.calls.filter((c) => c.args.channel === dm).map((c) => messageText(c.args));

describe('publishing through MCP Context Forge', () => {
  it('a linked user publishes as themselves: prefixed tools, a fresh server-scoped JWT per call, four upstream requests per call', async () => {
    const upstreamBefore = { initializes: env.mcp.counters.initializes, posts: env.mcp.counters.httpPosts };
    await env.click('publish_to_jira', buttonValue(SPEC));
    const reply = await env.slack.waitFor(() => threadReplies().find((c) => messageText(c.args).includes('PROJ-1')));
    expect(messageText(reply.args)).toContain(`<${SITE}/browse/PROJ-1|PROJ-1>`);
    expect(env.workflowLinks()).toContainEqual({ path: SPEC, jiraKey: 'PROJ-1' });
    expect(env.mcp.issues()).toHaveLength(1);

    // Called by their listed names, as Alice, with the token MCF holds for her.
    const calls = mcf().counters.toolCalls.filter((c) => c.outcome === 'relayed');
    expect(calls.map((c) => c.listedName)).toEqual(['rovo-getaccessibleatlassianresources', 'rovo-createjiraissue']);
    expect(calls.every((c) => c.email === ALICE_EMAIL)).toBe(true);
    // MCF opens an upstream session per call: initialize, initialized, the call, tools/list.
    expect(env.mcp.counters.initializes - upstreamBefore.initializes).toBe(2);
    expect(env.mcp.counters.httpPosts - upstreamBefore.posts).toBe(2 * 4);

    const claims = mcf().jwtClaimsSeen;
    expect(claims.length).toBeGreaterThanOrEqual(3);
    for (const claim of claims) {
      expect(claim).toMatchObject({
        sub: ALICE_EMAIL,
        iss: 'mcpgateway',
        aud: 'mcpgateway-api',
        teams: [CONTEXTFORGE.team],
        scopes: { server_id: mcf().serverId, permissions: ['tools.read', 'tools.execute'] },
      });
      expect(claim.exp! - claim.iat!).toBeLessThanOrEqual(300);
    }
    // One token for the whole publish (its requests), minted for it.
    expect(new Set(claims.map((c) => c.jti)).size).toBe(1);
    // The JWT secret never reaches a log line.
    expect(env.app.output.join('\n')).not.toContain(CONTEXTFORGE.secret);
  });

  it('updates an issue it published, through MCF, with a token of its own', async () => {
    const tokensBefore = new Set(mcf().jwtClaimsSeen.map((c) => c.jti));
    await env.click('update_jira_issue', buttonValue(SPEC));
    await env.slack.waitFor(() =>
      threadReplies().find((c) => /updated/i.test(messageText(c.args)) && messageText(c.args).includes('PROJ-1')),
    );
    expect(mcf().counters.toolCalls.filter((c) => c.listedName === 'rovo-editjiraissue' && c.outcome === 'relayed')).toHaveLength(1);
    expect(env.mcp.issues()).toHaveLength(1);
    const fresh = mcf().jwtClaimsSeen.filter((c) => !tokensBefore.has(c.jti));
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.every((c) => c.sub === ALICE_EMAIL)).toBe(true);
  });

  it('charges the hourly budget four requests per call, as jira-status shows', async () => {
    const answer = await env.command('jira-status');
    const status = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    const text = JSON.stringify(status.body);
    expect(text).toMatch(/authorized in MCP Context Forge/);
    // Two operations admitted (the publish and the update), four upstream requests each.
    expect(text).toMatch(/8 of 1,000 requests used this hour/);
  });
});

describe('linking through MCP Context Forge', () => {
  let signInUrl = '';

  it('a user who never authorized in MCF is asked to connect, and the publish waits', async () => {
    await env.click('publish_to_jira', buttonValue(PLAN), { userId: BOB.userId });
    const dm = await env.slack.waitFor(() => env.slack.callsTo('chat.postMessage').find((c) => c.args.channel === BOB.dm));
    expect(JSON.stringify(dm.args.blocks)).toContain('connect_atlassian');
    expect(
      mcf()
        .counters.toolCalls.filter((c) => c.email === BOB.email)
        .map((c) => c.outcome),
    ).toEqual(['not-authorized']);
    expect(env.mcp.issues()).toHaveLength(1);
    // MCF's answer is not shown as Jira rejecting the issue.
    expect(dmTexts(BOB.dm).join('\n')).not.toMatch(/Jira rejected/);
  });

  it('Connect mints a sign-in link; opening it sends the browser to the authorization URL MCF minted for Bob at that moment', async () => {
    const replaced = await clickConnect(BOB);
    expect(replaced.text).toMatch(/OAuth Authorization Successful/);
    signInUrl = replaced.url;
    expect(signInUrl.startsWith(`${env.app.url}/oauth/start?flow=`)).toBe(true);
    expect(mcf().counters.authorizeRequests).toHaveLength(0); // nothing minted before the browser opens the link
  });

  it('after Bob authorizes at MCF, the bot notices by itself, tells him and finishes the waiting publish', async () => {
    const browser = new TestBrowser();
    const opened = await browser.open(signInUrl);
    expect(opened.status).toBe(302);
    const authorize = new URL(opened.headers.get('location')!);
    expect(authorize.origin).toBe(new URL(env.auth!.issuer).origin);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${mcf().url}/oauth/callback`);
    expect(mcf().counters.authorizeRequests).toEqual([expect.objectContaining({ email: BOB.email, gatewayId: mcf().gatewayId })]);
    // The link works once.
    expect((await new TestBrowser().open(signInUrl)).status).toBe(400);

    const callback = await completeBrowserLeg(authorize, { login: 'bob' });
    expect(callback.origin).toBe(new URL(mcf().url).origin);
    const page = await fetch(callback);
    expect(await page.text()).toMatch(/OAuth Authorization Successful/);
    expect(mcf().hasToken(BOB.email)).toBe(true);

    await env.slack.waitFor(
      () => dmTexts(BOB.dm).find((t) => /Connected: MCP Context Forge now holds your Atlassian authorization/.test(t)),
      20_000,
    );
    const reply = await env.slack.waitFor(() => threadReplies().find((c) => messageText(c.args).includes('PROJ-2')), 20_000);
    expect(messageText(reply.args)).toContain('<@U0002>');
    expect(env.workflowLinks()).toContainEqual({ path: PLAN, jiraKey: 'PROJ-2' });
  });

  it('/vteam disconnect says plainly that the link lives in MCF and what can be done', async () => {
    const answer = await env.command('disconnect', { userId: BOB.userId });
    expect(answer.body).toMatch(/held by MCP Context Forge/);
    expect(answer.body).toMatch(/Connected apps/);
    expect(answer.body).toContain(CONTEXTFORGE.team);
    expect(mcf().hasToken(BOB.email)).toBe(true);
  });
});

describe('an Atlassian token MCF holds stops working', () => {
  it("the upstream's 401 relayed by MCF asks the user to authorize again, with the same Connect flow", async () => {
    mcf().linkUser(BOB.email, 'atl-revoked-token-0123456789');
    const dmsBefore = dmTexts(BOB.dm).length;
    await env.click('publish_to_jira', buttonValue(TASKS), { userId: BOB.userId });
    const prompt = await env.slack.waitFor(() =>
      dmTexts(BOB.dm)
        .slice(dmsBefore)
        .find((t) => /authentication expired/i.test(t)),
    );
    expect(prompt).toMatch(/continues by itself once you are connected/);
    expect(mcf().counters.toolCalls.at(-1)).toMatchObject({ email: BOB.email, outcome: 'upstream-unauthorized' });
    expect(env.workflowLinks().find((l) => l.path === TASKS)).toBeUndefined();
  });
});

describe("MCF's own refusals", () => {
  it('an MCF user outside the team gets the admin action, never "authentication expired"', async () => {
    await env.click('publish_to_jira', buttonValue(TASKS), { userId: CAROL.userId });
    const response = await env.slack.waitFor(() =>
      env.slack.responses.map((r) => messageText(r.body)).find((t) => /MCP Context Forge does not let your account/.test(t)),
    );
    expect(response).toContain(`add you to the team \`${CONTEXTFORGE.team}\``);
    expect(response).not.toMatch(/authentication expired/i);
    expect(env.mcp.issues()).toHaveLength(2);
  });

  it('without CONTEXTFORGE_TEAM_ID the tokens carry no team, and MCF answers "Access denied": users learn what the admins must set', async () => {
    const main = env.app; // startApp makes the new process the default one
    const app = await env.startApp({ CONTEXTFORGE_TEAM_ID: '' });
    const click = await env.click('publish_to_jira', buttonValue(TASKS), { app });
    const failure = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === click.responseId));
    expect(messageText(failure.body)).toMatch(/ask your vTeam admin to set `CONTEXTFORGE_TEAM_ID` to the MCF team that owns the server/);
    expect(mcf().counters.toolCalls.at(-1)).toMatchObject({ email: ALICE_EMAIL, outcome: 'access-denied' });
    await app.kill();
    env.app = main;
  });

  it('a wrong JWT secret shows up in jira-status for the admin, and users get one sentence', async () => {
    const main = env.app; // startApp makes the new process the default one
    const app = await env.startApp({ CONTEXTFORGE_JWT_SECRET: 'not-the-mcf-secret-0123456789abcdef' });
    const answer = await env.command('jira-status', { app });
    const status = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    const text = messageText(status.body);
    expect(text).toMatch(/MCP Context Forge refused the bot's token for you \(HTTP 401: `Invalid authentication credentials`\)/);
    expect(text).toContain('CONTEXTFORGE_JWT_SECRET');

    const click = await env.click('publish_to_jira', buttonValue(TASKS), { app });
    const failure = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === click.responseId));
    expect(messageText(failure.body)).toMatch(
      /MCP Context Forge refused the bot's credentials, a setup problem only your vTeam admin can fix/,
    );
    expect(messageText(failure.body)).not.toMatch(/authentication expired/i);
    expect(app.output.join('\n')).not.toContain('not-the-mcf-secret');
    await app.kill();
    env.app = main;
  });
});

describe('a Connect link opened by someone else (ATLASSIAN_LINK_EMAIL_MATCH=required)', () => {
  const signInLinkFor = async (user: { userId: string; dm: string }) => (await clickConnect(user)).url;

  async function authorizeThrough(link: string, login: string): Promise<void> {
    const opened = await new TestBrowser().open(link);
    const callback = await completeBrowserLeg(opened.headers.get('location')!, { login });
    expect((await fetch(callback)).status).toBe(200);
  }

  it("an account that is not the user's own is never published with, and the user is told why", async () => {
    // Dave forwards his link unopened; Grace opens it and signs in as herself.
    await authorizeThrough(await signInLinkFor(DAVE), 'grace');
    expect(mcf().hasToken(DAVE.email)).toBe(true); // MCF took it, and cannot be told to drop it
    const refusal = await env.slack.waitFor(() => dmTexts(DAVE.dm).find((t) => /is not the one with your Slack email/.test(t)), 20_000);
    expect(refusal).toContain('g***@example.com');

    const dmsBefore = dmTexts(DAVE.dm).length;
    const createsBefore = mcf().counters.toolCalls.filter((c) => c.listedName === 'rovo-createjiraissue').length;
    await env.click('publish_to_jira', buttonValue(TASKS), { userId: DAVE.userId });
    await env.slack.waitFor(() =>
      dmTexts(DAVE.dm)
        .slice(dmsBefore)
        .find((t) => /connect your Atlassian account again/i.test(t)),
    );
    expect(mcf().counters.toolCalls.filter((c) => c.listedName === 'rovo-createjiraissue')).toHaveLength(createsBefore);
  });

  it('signing in with his own account clears it, and the waiting publish goes through as Dave', async () => {
    await authorizeThrough(await signInLinkFor(DAVE), 'dave');
    await env.slack.waitFor(() => dmTexts(DAVE.dm).find((t) => /Connected: MCP Context Forge/.test(t)), 20_000);
    const reply = await env.slack.waitFor(() => threadReplies().find((c) => /<@U0004>/.test(messageText(c.args))), 20_000);
    expect(messageText(reply.args)).toMatch(/PROJ-\d+/);
    expect(env.workflowLinks().find((l) => l.path === TASKS)).toBeDefined();
  });
});

describe('a whole workflow and its tasks through MCP Context Forge', () => {
  it('Publish all and Create issues from tasks create as the user, through the prefixed create tool', async () => {
    const name = 'rfe-mcf-batch';
    const branch = `b-${name}`;
    env.kube.addRfeWorkflow(PROJECT, name, {
      title: 'MCF batch',
      description: 'Everything at once',
      branchName: branch,
      umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
    });
    env.github.setFiles('org', 'spec-repo', branch, {
      [SPEC]: '# Spec',
      [PLAN]: '# Plan',
      [TASKS]:
        '# Tasks\n\n## Phase 1: Setup\n- [ ] T001 Create the project\n- [x] T002 Pick a name\n- [ ] T003 [P] [US1] Add the theme toggle\n',
    });
    const createsBefore = mcf().counters.toolCalls.filter((c) => c.listedName === 'rovo-createjiraissue').length;

    await env.command(`publish ${name} --all`);
    await env.slack.waitFor(() => ([SPEC, PLAN, TASKS].every((p) => env.workflowLinks(name).some((l) => l.path === p)) ? true : undefined));
    const keyOf = (path: string) => env.workflowLinks(name).find((l) => l.path === path)!.jiraKey;
    const epic = env.mcp.issue(keyOf(SPEC))!;
    expect(epic.issueType).toBe('Epic');
    for (const path of [PLAN, TASKS]) expect(env.mcp.issue(keyOf(path))!.parent).toBe(epic.key);

    // --tasks opens the confirmation on the command's trigger; submitting it creates the two open tasks.
    const updates = env.slack.callsTo('views.update').length;
    await env.command(`publish ${name} ${TASKS} --tasks`);
    const confirm = (await env.slack.waitFor(() => env.slack.callsTo('views.update')[updates])).args.view as {
      callback_id: string;
      private_metadata: string;
      blocks: unknown[];
    };
    expect(messageText({ blocks: confirm.blocks })).toContain('Create *2 issues*');
    // Behind MCF each create costs four upstream requests, and the form says so.
    expect(messageText({ blocks: confirm.blocks })).toMatch(/use 8 of the [\d,]+ Jira requests left this hour/);
    const body = viewSubmissionBody({ callbackId: confirm.callback_id, privateMetadata: confirm.private_metadata, values: {} });
    expect((await postToSlackEvents(env.app.url, env.signingSecret, body)).status).toBe(200);
    await env.slack.waitFor(() => (env.workflowLinks(name).filter((l) => l.path.startsWith(`${TASKS}#`)).length === 2 ? true : undefined));

    for (const id of ['T001', 'T003']) {
      const issue = env.mcp.issue(keyOf(`${TASKS}#${id}`))!;
      expect(issue.summary.startsWith(`${id} `)).toBe(true);
      expect(issue.parent).toBe(epic.key);
    }
    const creates = mcf()
      .counters.toolCalls.filter((c) => c.listedName === 'rovo-createjiraissue')
      .slice(createsBefore);
    expect(creates).toHaveLength(5);
    expect(creates.every((c) => c.email === ALICE_EMAIL && c.outcome === 'relayed')).toBe(true);
  });
});
