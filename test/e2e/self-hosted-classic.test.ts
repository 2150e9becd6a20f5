import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser, signInThroughLink } from '../support/auth-server/browser.ts';
import { messageText } from '../support/fake-slack.ts';
import { overflowChoiceBody, postToSlackEvents } from '../support/slack-requests.ts';
import {
  CHANNEL,
  PLAN,
  PROJECT,
  SITE,
  SPEC,
  TASKS,
  WORKFLOW,
  buttonValue,
  startEnvironment,
  type Environment,
} from '../support/environment.ts';

/**
 * The self-hosted setup end to end: a classic 3LO app linked through a real authorization server,
 * the user's sites read from Atlassian's API gateway at ATLASSIAN_API_URL, and an MCP server that
 * answers exactly like mcp-atlassian 0.23.1 in its Cloud mode (FastMCP-wrapped results, no
 * browse_url on create, `total: -1`, bare-array issue types), reached with X-Atlassian-Cloud-Id.
 */
let env: Environment;
const BOB = { userId: 'U0020', dm: 'DU0020' };
beforeAll(async () => {
  env = await startEnvironment({ dialect: 'self-hosted', classic: true });
  // Bob's Atlassian account has his Slack email (users.info: `u0020@example.com`); /me says so.
  env.auth!.addAccount('bob', { password: 'password', name: 'Bob Builder', email: 'u0020@example.com' });
  env.atlassianApi!.answerMe(async (token) => {
    const account = await env.auth!.verifyAccessToken(token);
    return account && { account_id: account.sub, email: account.email, name: account.name };
  });
});
afterAll(async () => {
  await env?.close();
});

const threadReplies = () => env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts !== undefined);
const dms = () => env.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === BOB.dm);
const acmeId = () => env.mcp.jira.siteFor(SITE)!.id;

/** Opens the DM's sign-in link in a fresh browser and signs in; the callback is for that browser to open. */
async function signInFromDm(): Promise<{ callback: URL; browser: TestBrowser }> {
  await env.slack.waitFor(() => dms().find((c) => JSON.stringify(c.args.blocks).includes('connect_atlassian')));
  const prompt = env.slack.messages.find((m) => m.channel === BOB.dm)!;
  const before = env.slack.callsTo('chat.update').length;
  await env.click('connect_atlassian', 'connect', { userId: BOB.userId, channelId: BOB.dm, messageTs: prompt.ts });
  const update = await env.slack.waitFor(() =>
    env.slack
      .callsTo('chat.update')
      .slice(before)
      .find((c) => c.args.channel === BOB.dm),
  );
  const url = /"url":"([^"]+)"/.exec(JSON.stringify(update.args.blocks))?.[1];
  if (url === undefined) throw new Error('no sign-in URL in the DM');
  const browser = new TestBrowser();
  return { callback: await signInThroughLink(url, { login: 'bob', browser }), browser };
}

describe('publishing through a self-hosted mcp-atlassian with a classic 3LO app', () => {
  it('links through the classic client even when the site lookup fails, and the publish resumes by itself', async () => {
    await env.command(`publish ${WORKFLOW} ${SPEC}`, { userId: BOB.userId });
    const { callback, browser } = await signInFromDm();
    const authorize = env.auth!.counters.tokenLog.find((entry) => entry.grantType === 'authorization_code');
    expect(authorize).toBeUndefined(); // not yet: the browser only came back
    env.atlassianApi!.failNext(1, 503); // the lookup at link time fails

    const page = await browser.open(callback);
    expect(page.status).toBe(200);
    expect(env.auth!.counters.tokenLog.find((entry) => entry.grantType === 'authorization_code')).toMatchObject({
      clientId: 'classic-3lo-app',
      ok: true,
    });

    const connected = await env.slack.waitFor(() => dms().find((c) => /Connected/.test(messageText(c.args))));
    expect(messageText(connected.args)).not.toMatch(/no Jira site/);

    // The resumed publish reads the sites again and sends the project's site, not the first granted one.
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === SPEC), 15_000);
    expect(env.atlassianApi!.lookups.map((l) => l.status)).toEqual([503, 200]);
    // Who signed in was read once, at link time, from /me (read:me is among the default scopes).
    expect(env.atlassianApi!.meLookups.map((l) => l.status)).toEqual([200]);
    const [create] = env.mcp.toolCalls('jira_create_issue');
    expect(create?.cloudId).toBe(acmeId());
    const reply = await env.slack.waitFor(() => threadReplies().find((c) => /PROJ-\d+/.test(messageText(c.args))));
    expect(messageText(reply.args)).toContain(`${SITE}/browse/`);
  });

  it('finds by label the issue a lost answer hid, instead of creating a second one', async () => {
    env.mcp.failNextRequests(1, { status: 502, match: { tool: 'jira_create_issue' }, afterEffect: true });
    const before = env.mcp.issues().length;
    const first = await env.command(`publish ${WORKFLOW} ${PLAN}`, { userId: BOB.userId });
    await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === first.responseId && /try again/i.test(messageText(r.body))));
    expect(env.mcp.issues()).toHaveLength(before + 1); // Jira did create it

    await env.command(`publish ${WORKFLOW} ${PLAN}`, { userId: BOB.userId });
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === PLAN), 15_000);
    const plan = env.mcp.issues().filter((issue) => issue.summary.endsWith('- plan'));
    expect(plan).toHaveLength(1);
    expect(env.workflowLinks().find((l) => l.path === PLAN)?.jiraKey).toBe(plan[0]!.key);
    expect(env.mcp.toolCalls('jira_search').every((call) => call.cloudId === acmeId())).toBe(true);
    // The thread reply follows the CR write: wait for it, so the next test counts only its own.
    await env.slack.waitFor(() => threadReplies().find((c) => messageText(c.args).includes(plan[0]!.key)));
  });

  it('updates an issue from the current document', async () => {
    env.github.setFile('org', 'spec-repo', 'ambient-dark-mode', SPEC, '# Dark mode spec v2\n\nRevised.');
    const before = threadReplies().length;
    const key = env.workflowLinks().find((l) => l.path === SPEC)!.jiraKey;
    await env.click('update_jira_issue', buttonValue(SPEC), { userId: BOB.userId });
    const reply = await env.slack.waitFor(() =>
      threadReplies()
        .slice(before)
        .find((c) => /updated/.test(messageText(c.args))),
    );
    expect(messageText(reply.args)).toContain(key);
    expect(env.mcp.issue(key)?.description).toContain('Revised.');
  });

  it('lists the Jira project\'s real issue types for "Publish as…"', async () => {
    const opens = env.slack.callsTo('views.update').length;
    const body = overflowChoiceBody({
      actionId: 'publish_as',
      value: `d1|${PROJECT}|${WORKFLOW}|${TASKS}`,
      responseUrl: env.slack.responseUrl('publish-as'),
      channelId: CHANNEL,
      userId: BOB.userId,
    });
    expect((await postToSlackEvents(env.app.url, env.signingSecret, body)).status).toBe(200);
    const view = await env.slack.waitFor(() => env.slack.callsTo('views.update')[opens]);
    const options = JSON.stringify(view.args.view);
    for (const type of ['Epic', 'Story', 'Task', 'Bug']) expect(options).toContain(`"value":"${type}"`);
    expect(options).not.toContain('"value":"Sub-task"');
  });
});

describe('the jira-config modal through the self-hosted server', () => {
  it("offers the Jira project's real issue types to a project admin", async () => {
    env.kube.setAccessRules([
      { user: `${BOB.userId.toLowerCase()}@example.com`, namespace: PROJECT, verb: 'patch', resource: 'projectsettings', allowed: true },
    ]);
    const updates = env.slack.callsTo('views.update').length;
    await env.command(`jira-config ${PROJECT}`, { userId: BOB.userId });
    const view = await env.slack.waitFor(
      () =>
        env.slack
          .callsTo('views.update')
          .slice(updates)
          .find((c) => JSON.stringify(c.args.view).includes('"value":"Story"')),
      10_000,
    );
    const modal = JSON.stringify(view.args.view);
    for (const type of ['Epic', 'Task', 'Bug']) expect(modal).toContain(`"value":"${type}"`);
    expect(modal).not.toContain('"value":"Sub-task"');
  });
});
