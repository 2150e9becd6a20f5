/**
 * Creates whose outcome the bot cannot know (the answer lost, a 502 that may or may not have created
 * anything, Jira's search index lagging behind the create), each followed by the user's retry click,
 * and a link written by someone else while such a create runs.
 */
import { describe, expect } from 'vitest';
import { ALICE_TOKEN, PLAN, PROJECT, SITE, SPEC, TASKS, WORKFLOW } from '../support/environment.ts';
import { scenario, type World } from './harness.ts';

const CREATE = { tool: 'createJiraIssue' };

/** An issue someone filed by hand in PROJ (not by the bot: its summary has no phase suffix). */
function fileByHand(w: World): string {
  const { jira } = w.env.mcp;
  const issue = jira.create(jira.validToken(ALICE_TOKEN)!, jira.siteFor(SITE)!, {
    projectKey: 'PROJ',
    issueType: 'Task',
    summary: 'Dark mode spec, filed by hand',
  });
  return issue.key;
}

/** Someone else (the vTeam UI) links `path` to `key` in the RFEWorkflow. */
function linkOutOfBand(w: World, path: string, key: string): void {
  w.env.kube.modify('rfeworkflows', PROJECT, WORKFLOW, (object) => {
    const spec = object.spec as { jiraLinks?: { path: string; jiraKey: string }[] };
    spec.jiraLinks = [...(spec.jiraLinks ?? []), { path, jiraKey: key }];
  });
}

describe('uncertain creates', () => {
  scenario('MCP create succeeded but its response was lost (502), then a retry click', {}, async (w) => {
    w.env.mcp.failNextRequests(1, { status: 502, afterEffect: true, match: CREATE });
    const first = await w.click(SPEC);
    await w.replyTo(first);
    expect(w.issuesFor(SPEC)).toHaveLength(1);
    await w.click(SPEC);
  });

  scenario('response lost and Jira search lags 4 s behind the create, then a retry click', { settleMs: 25_000 }, async (w) => {
    const { env } = w;
    env.mcp.setSearchLag(4000);
    env.mcp.failNextRequests(1, { status: 502, afterEffect: true, match: CREATE });
    const first = await w.click(PLAN);
    await w.replyTo(first);
    expect(w.issuesFor(PLAN)).toHaveLength(1);
    await w.click(PLAN);
  });

  // The retry searches for PUBLISH_SEARCH_SETTLE_SECONDS (10 s) before it may create.
  scenario('MCP 502 on the create that created nothing, then a retry click', { settleMs: 25_000 }, async (w) => {
    w.env.mcp.failNextRequests(1, { status: 502, match: CREATE });
    const first = await w.click(TASKS);
    await w.replyTo(first);
    expect(w.issuesFor(TASKS)).toHaveLength(0);
    await w.click(TASKS);
  });
});

describe('someone else links the document while the create runs', () => {
  scenario('uncertain create while another link is written for the path: existing link kept', {}, async (w) => {
    const manual = fileByHand(w);
    w.expect(SPEC, { key: manual, issues: { min: 0, max: 1 } });
    w.env.mcp.onNextRequest(CREATE, () => linkOutOfBand(w, SPEC, manual));
    w.env.mcp.failNextRequests(1, { status: 502, afterEffect: true, match: CREATE });
    await w.click(SPEC);
  });

  scenario('successful create while another link is written for the path: existing link kept', {}, async (w) => {
    const manual = fileByHand(w);
    w.expect(SPEC, { key: manual, issues: { min: 0, max: 1 } });
    w.env.mcp.onNextRequest(CREATE, () => linkOutOfBand(w, SPEC, manual));
    await w.click(SPEC);
  });
});
