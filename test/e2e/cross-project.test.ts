import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageText } from '../support/fake-slack.ts';
import {
  ALICE_TOKEN,
  CHANNEL,
  PROJECT,
  SITE,
  SPEC,
  WORKFLOW,
  buttonValue,
  startEnvironment,
  type Environment,
} from '../support/environment.ts';

/**
 * What one project's people can learn about, or do to, another project. team-a is bound to C0001
 * (and C0002); team-b, with its own Jira settings, to C0700 only. Alice (U0001) administers team-b in
 * the cluster; Bob (U0002) administers nothing; Carol (U0009) is a bot administrator (ADMIN_SLACK_USERS).
 */
let env: Environment;
const TEAM_B = 'team-b';
const TEAM_B_CHANNEL = 'C0700';
const PAYROLL_WORKFLOW = 'rfe-1760000200';
const PAYROLL_PATH = 'specs/009-payroll-cuts/spec.md';
const BOB = 'U0002';
const CAROL = 'U0009';
/** A workflow of team-a whose CR someone edited to point at an issue of another Jira project. */
const TAMPERED_WORKFLOW = 'rfe-1760000300';

beforeAll(async () => {
  env = await startEnvironment({ appEnv: { ADMIN_SLACK_USERS: CAROL } });
  env.kube.addProject(TEAM_B);
  env.kube.addProjectSettings(TEAM_B, {
    annotations: {
      'vteam.ambient-code/slack-channels': TEAM_B_CHANNEL,
      'vteam.ambient-code/jira-site': 'https://payroll-secret.atlassian.net',
      'vteam.ambient-code/jira-project': 'PAYROLL',
      'vteam.ambient-code/jira-issue-types': '{"default":"Confidential Task"}',
    },
  });
  // Its documents are not in the repository, so publishing from it fails and the failure is recorded.
  env.kube.addRfeWorkflow(TEAM_B, PAYROLL_WORKFLOW, {
    title: 'Payroll cuts',
    description: 'x',
    branchName: 'ambient-payroll-cuts',
    umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
  });
  env.kube.setAccessRules([
    { user: 'system:serviceaccount:ambient-code:vteam-slack', resource: 'rfeworkflows', allowed: true },
    { user: 'system:serviceaccount:ambient-code:vteam-slack', resource: 'projectsettings', verb: 'patch', allowed: true },
    { user: 'u0001@example.com', namespace: TEAM_B, verb: 'patch', resource: 'projectsettings', allowed: true },
  ]);
});
afterAll(async () => {
  await env?.close();
});

/** What the user saw ephemerally in answer to a command. */
async function answer(text: string, options: { userId?: string; channelId?: string } = {}): Promise<string> {
  const sent = await env.command(text, options);
  expect(sent.status).toBe(200);
  const response = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === sent.responseId));
  return messageText(response.body);
}

/** The jira-config modal as it finally shows (the view that replaces the loading view). */
async function jiraConfigModal(project: string, userId: string): Promise<{ text: string; raw: string; hasInputs: boolean }> {
  const before = env.slack.callsTo('views.update').length;
  await env.command(`jira-config ${project}`, { userId, channelId: CHANNEL });
  const update = await env.slack.waitFor(() => env.slack.callsTo('views.update')[before]);
  const view = update.args.view as { blocks: { type: string }[] };
  return { text: messageText({ blocks: view.blocks }), raw: JSON.stringify(view), hasInputs: view.blocks.some((b) => b.type === 'input') };
}

describe('cross-project leaks', () => {
  it('/vteam jira-status shows a non-admin only the failures of the projects bound to the channel they ask in', async () => {
    // Alice's failing publishes: one in team-b (from its channel), one in team-a.
    expect(await answer(`publish ${TEAM_B}/${PAYROLL_WORKFLOW} ${PAYROLL_PATH}`, { channelId: TEAM_B_CHANNEL })).toMatch(/was not found/);
    expect(await answer(`publish ${WORKFLOW} specs/001-dark-mode/missing.md`)).toMatch(/was not found/);

    const bobHere = await answer('jira-status', { userId: BOB, channelId: CHANNEL });
    expect(bobHere).toContain('specs/001-dark-mode/missing.md'); // team-a is bound here
    for (const leak of [TEAM_B, PAYROLL_WORKFLOW, PAYROLL_PATH]) expect(bobHere).not.toContain(leak);

    // In team-b's own channel, team-b's failure is what concerns him.
    expect(await answer('jira-status', { userId: BOB, channelId: TEAM_B_CHANNEL })).toContain(`${TEAM_B}/${PAYROLL_WORKFLOW}`);
    // Alice sees her own failure anywhere, even in a direct message.
    expect(await answer('jira-status', { channelId: 'D0001' })).toContain(`${TEAM_B}/${PAYROLL_WORKFLOW}`);
    // An administrator sees every project's.
    expect(await answer('jira-status', { userId: CAROL, channelId: CHANNEL })).toContain(`${TEAM_B}/${PAYROLL_WORKFLOW}`);
  });

  it('/vteam jira-config shows a user the cluster refuses no settings at all, just why', async () => {
    const refused = await jiraConfigModal(TEAM_B, BOB);
    expect(refused.text).toContain('Your cluster identity `u0002@example.com` may not change the `projectsettings` of project `team-b`');
    expect(refused.hasInputs).toBe(false);
    for (const leak of ['payroll-secret', 'PAYROLL', 'Confidential Task']) expect(refused.raw).not.toContain(leak);

    // A project admin of team-b still gets the prefilled form.
    const allowed = await jiraConfigModal(TEAM_B, 'U0001');
    expect(allowed.hasInputs).toBe(true);
    expect(allowed.raw).toContain('"initial_value":"https://payroll-secret.atlassian.net"');
    expect(allowed.raw).toContain('"initial_value":"PAYROLL"');
  });
});

describe('Update issue and keys from the CR', () => {
  beforeAll(() => {
    // An issue of another Jira project on the same site, which Alice may edit.
    env.mcp.addProject({ site: SITE, key: 'OTHER' });
    const alice = env.mcp.jira.validToken(ALICE_TOKEN)!;
    env.mcp.jira.create(alice, env.mcp.jira.siteFor(SITE)!, {
      projectKey: 'OTHER',
      issueType: 'Task',
      summary: 'Quarterly board report',
      description: 'Original board text.',
    });
    env.kube.addRfeWorkflow(PROJECT, TAMPERED_WORKFLOW, {
      title: 'Dark mode again',
      description: 'x',
      branchName: 'ambient-dark-mode',
      umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
      jiraLinks: [
        { path: SPEC, jiraKey: 'OTHER-1' },
        { path: 'specs/001-dark-mode/plan.md', jiraKey: 'PROJ-1 <!channel>' },
      ],
    });
  });

  /** What the clicker was told, or the edit sent to Jira, whichever comes first. */
  async function clickUpdate(path: string): Promise<string> {
    const click = await env.click('update_jira_issue', buttonValue(path, PROJECT, TAMPERED_WORKFLOW));
    expect(click.status).toBe(200);
    await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === click.responseId) ?? env.mcp.toolCalls('editJiraIssue')[0]);
    expect(env.mcp.toolCalls('editJiraIssue')).toEqual([]);
    return messageText(env.slack.responses.find((r) => r.id === click.responseId)!.body);
  }

  it("refuses a link to an issue outside the project's Jira project, and sends nothing to Jira", async () => {
    env.mcp.resetCounters();
    const text = await clickUpdate(SPEC);
    expect(text).toContain('`OTHER-1` is not in Jira project `PROJ` configured for project `team-a`, so it was not updated');
    expect(text).toContain("fix the link of `specs/001-dark-mode/spec.md` in the workflow's `spec.jiraLinks`");
    expect(env.mcp.issue('OTHER-1')).toMatchObject({ summary: 'Quarterly board report', description: 'Original board text.' });
  });

  it('refuses a link that is not an issue key at all, without repeating it', async () => {
    env.mcp.resetCounters();
    const text = await clickUpdate('specs/001-dark-mode/plan.md');
    expect(text).toContain('The Jira link recorded for `specs/001-dark-mode/plan.md` is not a Jira issue key, so nothing was sent to Jira');
    expect(text).not.toContain('<!channel>');
    expect(env.mcp.counters.toolCalls).toHaveLength(0);
  });
});
