import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageText } from '../support/fake-slack.ts';
import { PLAN, PROJECT, SITE, SPEC, TASKS, WORKFLOW, buttonValue, startEnvironment, type Environment } from '../support/environment.ts';

let env: Environment;

beforeAll(async () => {
  env = await startEnvironment();
  env.kube.addRfeWorkflow(PROJECT, 'rfe-1760000001', {
    title: 'Dark theme for email',
    description: 'x',
    branchName: 'ambient-dark-email',
    umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
  });
  // A second project, bound to another channel, with no Jira settings at all.
  env.kube.addProject('team-b');
  env.kube.addProjectSettings('team-b', { annotations: { 'vteam.ambient-code/slack-channels': 'C0003' } });
  env.kube.addRfeWorkflow('team-b', 'rfe-1760000100', {
    title: 'Billing export',
    description: 'x',
    branchName: 'ambient-billing',
    umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
  });
  env.github.setFiles('org', 'spec-repo', 'ambient-billing', { 'specs/spec.md': '# Billing' });
  env.mcp.addToken({ token: 'atl-perm-denied', sites: [SITE], denyCreateIn: ['PROJ'] });
  env.mcp.addToken({ token: 'atl-other-site-only', sites: ['https://other.atlassian.net'] });
  await env.link({ teamId: 'T0001', userId: 'U0003' }, 'atl-revoked-or-unknown');
  await env.link({ teamId: 'T0001', userId: 'U0004' }, 'atl-perm-denied');
  await env.link({ teamId: 'T0001', userId: 'U0005' }, 'atl-other-site-only');
});
afterAll(async () => {
  await env?.close();
});

/** Runs a command and returns what the user saw ephemerally in answer to it. */
async function ephemeralAnswer(text: string, options: { userId?: string; channelId?: string } = {}): Promise<string> {
  const answer = await env.command(text, options);
  expect(answer.status).toBe(200);
  const response = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
  return messageText(response.body);
}

async function clickAnswer(value: string, options: { userId?: string; channelId?: string } = {}): Promise<string> {
  const click = await env.click('publish_to_jira', value, options);
  expect(click.status).toBe(200);
  const response = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === click.responseId));
  return messageText(response.body);
}

describe('every failure is one clear sentence with the fix, and creates nothing', () => {
  it.each([
    ['unknown workflow', `publish rfe-999 ${SPEC}`, /No RFE workflow matches `rfe-999` in the projects bound to this channel/],
    [
      'ambiguous title',
      `publish "Dark" ${SPEC}`,
      /`Dark` matches several workflows \(`team-a\/rfe-1760000000`, `team-a\/rfe-1760000001`\)/,
    ],
    [
      'missing document',
      `publish ${WORKFLOW} specs/001-dark-mode/missing.md`,
      /Document `specs\/001-dark-mode\/missing\.md` was not found in workflow/,
    ],
    ['parent traversal', `publish ${WORKFLOW} ../../etc/passwd.md`, /outside the workflow's workspace/],
    ['absolute path', `publish ${WORKFLOW} /etc/passwd.md`, /outside the workflow's workspace/],
    ['encoded traversal', `publish ${WORKFLOW} specs/%2e%2e/%2e%2e/secret.md`, /outside the workflow's workspace/],
    ['not markdown', `publish ${WORKFLOW} specs/001-dark-mode/notes.txt`, /Only markdown documents can be published/],
  ])('%s', async (_name, text, expected) => {
    expect(await ephemeralAnswer(text)).toMatch(expected);
    expect(env.mcp.issues()).toHaveLength(0);
  });

  it('a malformed command is answered in the acknowledgement itself', async () => {
    const answer = await env.command(`publish ${WORKFLOW} ${SPEC} --force`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringMatching(
        /Unknown option '--force'.*usage: `\/vteam publish &lt;workflow&gt; \[&lt;path&gt;\] \[--type &lt;IssueType&gt;\]`/,
      ),
    });
  });

  it('a channel not bound to the project names the kubectl command that binds it', async () => {
    const text = await ephemeralAnswer(`publish ${PROJECT}/${WORKFLOW} ${SPEC}`, { channelId: 'C0999' });
    expect(text).toMatch(
      /This channel is not bound to project `team-a`; a project admin can bind it with `kubectl annotate projectsettings projectsettings -n team-a vteam\.ambient-code\/slack-channels=C0999/,
    );
    expect(await ephemeralAnswer(`publish ${WORKFLOW} ${SPEC}`, { channelId: 'C0999' })).toMatch(/not bound to any vTeam project/);
  });

  it('a project without Jira settings says what to set', async () => {
    expect(await ephemeralAnswer('publish rfe-1760000100 specs/spec.md', { channelId: 'C0003' })).toMatch(
      /Jira integration not configured\. Set `JIRA_URL` and `JIRA_PROJECT` in the Secret `ambient-runner-secrets` of project `team-b`/,
    );
  });

  it('a user without a linked Atlassian account is told to connect', async () => {
    expect(await ephemeralAnswer(`publish ${WORKFLOW} ${SPEC}`, { userId: 'U0002' })).toMatch(
      /Your Atlassian account is not linked yet: I sent you a direct message with a \*Connect\* button/,
    );
    const dm = await env.slack.waitFor(() => env.slack.callsTo('chat.postMessage').find((c) => c.args.channel === 'DU0002'));
    expect(JSON.stringify(dm.args.blocks)).toContain('connect_atlassian');
  });

  it('a token Atlassian rejects asks the user to re-authenticate, with a button', async () => {
    expect(await ephemeralAnswer(`publish ${WORKFLOW} ${SPEC}`, { userId: 'U0003' })).toMatch(
      /Jira authentication expired\. Please re-authenticate/,
    );
    const dm = await env.slack.waitFor(() => env.slack.callsTo('chat.postMessage').find((c) => c.args.channel === 'DU0003'));
    expect(JSON.stringify(dm.args.blocks)).toContain('Reconnect Atlassian account');
  });

  it('a site the user has not granted is named', async () => {
    expect(await ephemeralAnswer(`publish ${WORKFLOW} ${SPEC}`, { userId: 'U0005' })).toMatch(
      /has not granted access to https:\/\/acme\.atlassian\.net/,
    );
  });

  it('no create permission in Jira names the project', async () => {
    expect(await ephemeralAnswer(`publish ${WORKFLOW} ${SPEC}`, { userId: 'U0004' })).toMatch(
      /Jira says you may not create issues in project `PROJ` \("You do not have permission to create issues in this project\."\)/,
    );
  });

  it("a field Jira rejects is reported in Jira's own words", async () => {
    const text = await ephemeralAnswer(`publish ${WORKFLOW} ${SPEC} --type Nonsense`);
    expect(text).toMatch(/Jira rejected the issue: ".*valid issue type.*"/);
    expect(env.mcp.issues()).toHaveLength(0);
  });

  it('an unreachable MCP server gets the standard message', async () => {
    await env.mcp.stop();
    try {
      expect(await ephemeralAnswer(`publish ${WORKFLOW} ${SPEC}`)).toContain(
        'Unable to connect to Jira integration service. Please try again later.',
      );
    } finally {
      await env.mcp.start();
    }
  });

  it('a forged button for a project not bound to this channel is refused and logged', async () => {
    expect(await clickAnswer(buttonValue('specs/spec.md', 'team-b', 'rfe-1760000100'))).toMatch(/not bound to project `team-b`/);
    await env.app.waitForLog((r) => r.msg === 'refused: channel is not bound to the project' && r.namespace === 'team-b');
    // A button's path is validated like typed input.
    expect(await clickAnswer(buttonValue('../../../etc/passwd.md'))).toMatch(/outside the workflow's workspace/);
    expect(await clickAnswer('{"v":1}')).toMatch(/This button is no longer valid/);
    expect(env.mcp.issues()).toHaveLength(0);
  });
});

describe('failures that recover', () => {
  it('a 429 tells the user they are queued, waits Retry-After, then publishes', async () => {
    env.mcp.failNextRequests(1, { status: 429, retryAfterSeconds: 1, match: { tool: 'createJiraIssue' } });
    const answer = await env.command(`publish ${WORKFLOW} ${SPEC}`);
    const queued = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    expect(messageText(queued.body)).toMatch(
      /Jira is busy, so publishing `specs\/001-dark-mode\/spec\.md` is queued; (you are number 1 in the queue|it continues by itself in about 1 s)/,
    );
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === SPEC));
    expect(env.mcp.issues()).toHaveLength(1);
  });

  it('after a 5xx that still created the issue, publishing again links that issue instead of creating another', async () => {
    env.mcp.failNextRequests(1, { status: 502, match: { tool: 'createJiraIssue' }, afterEffect: true });
    expect(await ephemeralAnswer(`publish ${WORKFLOW} ${PLAN}`)).toContain(
      'Unable to connect to Jira integration service. Please try again later.',
    );
    expect(env.mcp.issues()).toHaveLength(2); // Jira did create it
    expect(env.workflowLinks().find((l) => l.path === PLAN)).toBeUndefined();

    const before = env.slack.callsTo('chat.postMessage').length;
    await env.command(`publish ${WORKFLOW} ${PLAN}`);
    await env.slack.waitFor(() => env.slack.callsTo('chat.postMessage').length > before);
    expect(env.mcp.issues()).toHaveLength(2);
    const planIssue = env.mcp.issues().find((i) => i.summary.endsWith('- plan'))!;
    expect(env.workflowLinks().find((l) => l.path === PLAN)).toEqual({ path: PLAN, jiraKey: planIssue.key });
  });

  it('a conflicting concurrent write to the CR is retried on fresh data, keeping both changes', async () => {
    env.kube.injectConflicts(2, { match: { resource: 'rfeworkflows', name: WORKFLOW } });
    const before = env.slack.callsTo('chat.postMessage').length;
    await env.command(`publish ${WORKFLOW} ${TASKS}`);
    await env.slack.waitFor(() => env.slack.callsTo('chat.postMessage').length > before);
    const object = env.kube.get('rfeworkflows', PROJECT, WORKFLOW)!;
    expect(object.metadata.annotations?.['fake-kube.test/concurrent-write']).toBeDefined();
    expect(env.workflowLinks().map((l) => l.path)).toEqual(['specs/000-old/spec.md', SPEC, PLAN, TASKS]);
    expect(env.mcp.issues()).toHaveLength(3);
  });
});
