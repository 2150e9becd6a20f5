import { afterEach, describe, expect, it } from 'vitest';
import { ALICE_TOKEN, PLAN, SITE, SPEC, TASKS, WORKFLOW, startEnvironment, type Environment } from '../support/environment.ts';

/** The tool dialect is read from tools/list at run time: each server publishes the same way. */
describe.each(['rovo-v2', 'self-hosted'] as const)('against a %s MCP server', (dialect) => {
  let env: Environment | undefined;
  afterEach(async () => {
    await env?.close();
  });

  it('publishes with the labels, type and parent the server understands', async () => {
    env = await startEnvironment({ dialect });
    const jira = env.mcp.jira;
    const outcome = jira.create(jira.validToken(ALICE_TOKEN)!, jira.siteFor(SITE)!, {
      projectKey: 'PROJ',
      issueType: 'Epic',
      summary: 'Outcome',
    });
    env.kube.modify('rfeworkflows', 'team-a', WORKFLOW, (o) => {
      (o as unknown as { spec: Record<string, unknown> }).spec.parentOutcome = outcome.key;
    });
    await env.command(`publish ${WORKFLOW} ${SPEC} --type Story`);
    await env.slack.waitFor(() => env!.workflowLinks().find((l) => l.path === SPEC));
    const [issue] = env.mcp.issues({ label: 'vteam-rfe' });
    expect(issue).toMatchObject({ summary: '[RFE] Dark mode - specify', issueType: 'Story', parent: outcome.key });

    // A second publish reuses the session: one MCP request.
    env.mcp.resetCounters();
    await env.command(`publish ${WORKFLOW} ${PLAN}`);
    await env.slack.waitFor(() => env!.workflowLinks().find((l) => l.path === PLAN));
    expect(env.mcp.counters.httpRequests).toBe(1);
  });

  it('publishes a whole workflow as an Epic with its children, through its own parent field', async () => {
    env = await startEnvironment({ dialect });
    await env.command(`publish ${WORKFLOW} --all`);
    await env.slack.waitFor(() => ([SPEC, PLAN, TASKS].every((p) => env!.workflowLinks().some((l) => l.path === p)) ? true : undefined));
    const keyOf = (path: string) => env!.workflowLinks().find((l) => l.path === path)!.jiraKey;
    const issues = env.mcp.issues({ label: 'vteam-rfe' });
    const epic = issues.find((i) => i.key === keyOf(SPEC))!;
    expect(epic).toMatchObject({ issueType: 'Epic', parent: undefined });
    for (const path of [PLAN, TASKS]) expect(issues.find((i) => i.key === keyOf(path))).toMatchObject({ parent: epic.key });
    expect(issues).toHaveLength(3);
  });
});
