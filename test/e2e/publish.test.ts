import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { messageText } from '../support/fake-slack.ts';
import {
  ALICE_TOKEN,
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

let env: Environment;
beforeAll(async () => {
  env = await startEnvironment();
});
afterAll(async () => {
  await env?.close();
});

const threadReplies = () => env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts !== undefined);

describe('publishing a document', () => {
  beforeEach(() => {
    env.kube.resetRequests();
    env.mcp.resetCounters();
  });

  it('creates one issue as the user, records the link in the CR and answers in the workflow thread', async () => {
    const answer = await env.command(`publish ${WORKFLOW} ${SPEC}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('');

    const reply = await env.slack.waitFor(() => threadReplies().find((c) => messageText(c.args).includes('PROJ-1')));
    const [issue] = env.mcp.issues({ projectKey: 'PROJ' });
    expect(issue).toMatchObject({ key: 'PROJ-1', summary: '[RFE] Dark mode - specify', issueType: 'Task' });
    expect(issue!.description).toMatch(
      /^\*\*Source:\*\* https:\/\/github\.com\/org\/spec-repo\/blob\/ambient-dark-mode\/specs\/001-dark-mode\/spec\.md\n\n# Dark mode spec/,
    );
    expect(issue!.labels).toEqual(expect.arrayContaining(['vteam-rfe', expect.stringMatching(/^vteam-[0-9a-f]{16}$/)]));
    // Every Jira call carried the user's own token; the project's shared JIRA_API_TOKEN was never used.
    expect(env.mcp.toolCalls('createJiraIssue').map((c) => c.token)).toEqual([ALICE_TOKEN]);

    // The link is upserted, the older entry and unknown fields are kept.
    expect(env.workflowLinks()).toEqual([
      { path: 'specs/000-old/spec.md', jiraKey: 'OLD-1' },
      { path: SPEC, jiraKey: 'PROJ-1' },
    ]);
    const stored = env.kube.get('rfeworkflows', PROJECT, WORKFLOW) as unknown as {
      spec: Record<string, unknown>;
      metadata: { annotations?: Record<string, string> };
    };
    expect(stored.spec.customField).toBe('kept');
    // Two writes: the in-flight record before the create (it outlives a lost store), then the link,
    // which removes that record in the same update.
    expect(env.kube.count('update', 'rfeworkflows')).toBe(2);
    expect(Object.keys(stored.metadata.annotations ?? {}).filter((k) => k.startsWith('jira-publish.'))).toEqual([]);

    // The thread hangs off one workflow card in the channel; the reply links the issue.
    const parent = env.slack.callsTo('chat.postMessage').find((c) => c.args.thread_ts === undefined)!;
    expect(parent.args.channel).toBe(CHANNEL);
    expect(reply.args.thread_ts).toBeDefined();
    expect(messageText(reply.args)).toContain(`<${SITE}/browse/PROJ-1|PROJ-1>`);
    expect(messageText(reply.args)).toContain('<@U0001>');
  });

  it('answers an already published document with its issue and an Update button, never a second issue', async () => {
    const answer = await env.command(`publish ${PROJECT}/${WORKFLOW} ${SPEC}`);
    expect(answer.status).toBe(200);
    const response = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    expect(messageText(response.body)).toMatch(/already published as <https:\/\/acme\.atlassian\.net\/browse\/PROJ-1\|PROJ-1>/);
    expect(JSON.stringify(response.body.blocks)).toContain('update_jira_issue');
    expect(env.mcp.issues()).toHaveLength(1);
    expect(env.mcp.counters.toolCalls).toHaveLength(0);
  });

  it('Update issue copies the current document into the existing issue', async () => {
    env.github.setFile('org', 'spec-repo', 'ambient-dark-mode', SPEC, '# Dark mode spec v2\n\nRevised.');
    const before = threadReplies().length;
    await env.click('update_jira_issue', buttonValue(SPEC));
    await env.slack.waitFor(() => threadReplies().length > before);
    expect(messageText(threadReplies().at(-1)!.args)).toMatch(/PROJ-1.*updated from `specs\/001-dark-mode\/spec\.md`/s);
    expect(env.mcp.issue('PROJ-1')!.description).toContain('Revised.');
    expect(env.mcp.issues()).toHaveLength(1);
    expect(env.workflowLinks().filter((l) => l.path === SPEC)).toHaveLength(1);
  });

  it('reuses the MCP session: one MCP request, one read and two Kubernetes writes per publish in steady state', async () => {
    const before = threadReplies().length;
    await env.command(`publish ${WORKFLOW} ${PLAN}`);
    await env.slack.waitFor(() => threadReplies().length > before);
    expect(env.mcp.counters.initializes).toBe(0);
    expect(env.mcp.counters.httpRequests).toBe(1);
    expect(env.mcp.toolCalls().map((c) => c.operation)).toEqual(['createJiraIssue']);
    expect(env.kube.count('update', 'rfeworkflows')).toBe(2);
    expect(env.kube.count('patch', 'rfeworkflows')).toBe(0);
    // One read (resolving the name), reused under the lease; each write reuses the object it follows.
    expect(env.kube.count('get', 'rfeworkflows')).toBe(1);
  });

  it('posts results of later publishes in the same thread and edits the card instead of reposting it', async () => {
    // One card per bound channel (C0001 and C0002), whether the card service or the publish posted it.
    const parents = env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === undefined);
    expect(parents.map((c) => c.args.channel).sort()).toEqual([CHANNEL, 'C0002']);
    const parentTs = env.slack.messagesIn(CHANNEL)[0]!.ts;
    const publishReplies = threadReplies().filter((c) => c.args.channel === CHANNEL && /published by/.test(messageText(c.args)));
    expect(publishReplies.length).toBeGreaterThanOrEqual(2);
    expect(new Set(publishReplies.map((c) => c.args.thread_ts))).toEqual(new Set([parentTs]));
    const update = await env.slack.waitFor(() => env.slack.callsTo('chat.update').find((c) => messageText(c.args).includes('PROJ-2')));
    expect(update.args.ts).toBe(parentTs);
    expect(update.args.channel).toBe(CHANNEL);
  });
});

describe('the document picker', () => {
  it('lists the workflow documents by title prefix, and a click publishes and turns the button into the link', async () => {
    const answer = await env.command('publish "dark mo"');
    const picker = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    const text = messageText(picker.body);
    expect(text).toContain(SPEC);
    expect(text).toContain(TASKS);
    expect(text).not.toContain('rfe.md');
    expect(text).not.toContain('notes.txt');
    const buttons = JSON.stringify(picker.body.blocks).match(/publish_to_jira/g) ?? [];
    expect(buttons).toHaveLength(1); // spec and plan are linked already, tasks is not

    const click = await env.click('publish_to_jira', buttonValue(TASKS), { ephemeral: true });
    expect(click.status).toBe(200);
    const replaced = await env.slack.waitFor(() =>
      env.slack.responses.find((r) => r.id === click.responseId && r.body.replace_original === true),
    );
    expect(JSON.stringify(replaced.body.blocks)).not.toContain('publish_to_jira');
    expect(messageText(replaced.body)).toContain('PROJ-3');
    expect(env.workflowLinks().map((l) => l.path)).toEqual(['specs/000-old/spec.md', SPEC, PLAN, TASKS]);
  });
});
