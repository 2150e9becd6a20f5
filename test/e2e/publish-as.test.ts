import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageText } from '../support/fake-slack.ts';
import { CHANNEL, PLAN, SPEC, WORKFLOW, startEnvironment, type Environment } from '../support/environment.ts';
import { overflowChoiceBody, postToSlackEvents, viewSubmissionBody, type ViewStateValues } from '../support/slack-requests.ts';

/** "Publish as…": the overflow beside each Publish button opens a modal to choose the issue type. */
let env: Environment;
beforeAll(async () => {
  env = await startEnvironment();
});
afterAll(async () => {
  await env?.close();
});

interface ModalArg {
  callback_id: string;
  private_metadata?: string;
  blocks: {
    type: string;
    block_id?: string;
    element?: { type: string; options?: { value: string }[]; initial_option?: { value: string }; initial_value?: string };
  }[];
  submit?: unknown;
}

let counter = 0;
const threadReplies = () => env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts !== undefined);

/** The "Publish as…" option values of a message's blocks, by the path they carry. */
function overflowValues(blocks: unknown): Map<string, string> {
  const values = new Map<string, string>();
  JSON.stringify(blocks, (key, value: unknown) => {
    const element = value as { type?: string; action_id?: string; options?: { value: string }[] };
    if (element && element.type === 'overflow' && element.action_id === 'publish_as') {
      for (const option of element.options ?? []) {
        if (option.value.startsWith('d1|')) values.set(option.value.split('|').slice(3).join('|'), option.value);
      }
    }
    return value;
  });
  return values;
}

/** Chooses "Publish as…" and returns the modal as it ends up (the views.update after the loading view). */
async function choosePublishAs(value: string, options: { userId?: string; ephemeral?: boolean } = {}) {
  const responseId = `publish-as${++counter}`;
  const opensBefore = env.slack.callsTo('views.open').length;
  const updatesBefore = env.slack.callsTo('views.update').length;
  const body = overflowChoiceBody({
    actionId: 'publish_as',
    value,
    responseUrl: env.slack.responseUrl(responseId),
    channelId: CHANNEL,
    ...options,
  });
  const answer = await postToSlackEvents(env.app.url, env.signingSecret, body);
  expect(answer.status).toBe(200);
  const opened = await env.slack.waitFor(() => env.slack.callsTo('views.open')[opensBefore]);
  const updated = await env.slack.waitFor(() => env.slack.callsTo('views.update')[updatesBefore]);
  return {
    responseId,
    opened: opened.args.view as ModalArg,
    triggerId: opened.args.trigger_id,
    view: updated.args.view as ModalArg,
    viewId: updated.args.view_id,
  };
}

async function submit(view: ModalArg, values: ViewStateValues) {
  const body = viewSubmissionBody({ callbackId: view.callback_id, privateMetadata: view.private_metadata ?? '', values });
  const answer = await postToSlackEvents(env.app.url, env.signingSecret, body);
  return { status: answer.status, body: answer.body === '' ? undefined : (JSON.parse(answer.body) as Record<string, unknown>) };
}

const selected = (type: string | null): ViewStateValues => ({
  issue_type: {
    issue_type_select: {
      type: 'static_select',
      selected_option: type === null ? null : { text: { type: 'plain_text', text: type }, value: type },
    },
  },
});
const typed = (type: string): ViewStateValues => ({ issue_type: { issue_type_text: { type: 'plain_text_input', value: type } } });
const input = (view: ModalArg) => view.blocks.find((b) => b.type === 'input' && b.block_id === 'issue_type')?.element;

describe('Publish as…', () => {
  let pickerValues: Map<string, string>;

  it('is offered beside each Publish button of the picker', async () => {
    const answer = await env.command(`publish ${WORKFLOW}`);
    const picker = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    pickerValues = overflowValues(picker.body.blocks);
    expect([...pickerValues.keys()].sort()).toEqual([PLAN, SPEC, 'specs/001-dark-mode/tasks.md'].sort());
    expect(JSON.stringify(picker.body.blocks).match(/"action_id":"publish_to_jira"/g)).toHaveLength(3);
  });

  it("opens a modal at once, lists the Jira project's real types, and publishes one issue of the chosen type", async () => {
    const modal = await choosePublishAs(pickerValues.get(SPEC)!, { ephemeral: true });
    expect(modal.triggerId).toMatch(/^trig\./);
    expect(messageText({ blocks: modal.opened.blocks })).toMatch(/Reading the Jira issue types/);
    const select = input(modal.view);
    expect(select?.type).toBe('static_select');
    expect(select?.options?.map((o) => o.value)).toEqual(['Epic', 'Story', 'Task', 'Bug']);
    expect(select?.initial_option?.value).toBe('Task'); // the phase's configured type

    const before = threadReplies().length;
    const answer = await submit(modal.view, selected('Story'));
    expect(answer).toEqual({ status: 200, body: undefined }); // the modal closes

    const reply = await env.slack.waitFor(() =>
      threadReplies()
        .slice(before)
        .find((c) => messageText(c.args).includes('PROJ-1')),
    );
    expect(messageText(reply.args)).toContain('Story');
    expect(reply.args.channel).toBe(CHANNEL);
    expect(env.mcp.issues()).toHaveLength(1);
    expect(env.mcp.issues()[0]).toMatchObject({ key: 'PROJ-1', issueType: 'Story', summary: '[RFE] Dark mode - specify' });
    expect(env.workflowLinks().filter((l) => l.path === SPEC)).toEqual([{ path: SPEC, jiraKey: 'PROJ-1' }]);
    // The ephemeral picker the user chose from is refreshed through the click's response_url.
    const refreshed = await env.slack.waitFor(() =>
      env.slack.responses.find((r) => r.id === modal.responseId && r.body.replace_original === true),
    );
    expect(messageText(refreshed.body)).toContain('PROJ-1');
  });

  it("shows an invalid submission's error in the modal and publishes nothing", async () => {
    const modal = await choosePublishAs(pickerValues.get(PLAN)!);
    const calls = env.mcp.toolCalls('createJiraIssue').length;
    const none = await submit(modal.view, selected(null));
    expect(none.body).toMatchObject({ response_action: 'errors', errors: { issue_type: expect.stringMatching(/issue type/) } });
    const long = await submit(modal.view, typed('x'.repeat(101)));
    expect(long.body).toMatchObject({ response_action: 'errors' });
    expect(env.mcp.toolCalls('createJiraIssue')).toHaveLength(calls);
  });

  it('falls back to a typed issue type, with a note, when Jira cannot list the types', async () => {
    env.mcp.failNextToolCalls('getJiraProjectIssueTypesMetadata', 1, 'Jira is having a bad day');
    const modal = await choosePublishAs(pickerValues.get(PLAN)!);
    const text = input(modal.view);
    expect(text?.type).toBe('plain_text_input');
    expect(text?.initial_value).toBe('Task');
    expect(messageText({ blocks: modal.view.blocks })).toMatch(/Could not read the issue types of `PROJ`/);

    const before = threadReplies().length;
    expect((await submit(modal.view, typed('Bug'))).body).toBeUndefined();
    await env.slack.waitFor(() =>
      threadReplies()
        .slice(before)
        .find((c) => messageText(c.args).includes('PROJ-2')),
    );
    expect(env.mcp.issue('PROJ-2')).toMatchObject({ issueType: 'Bug', summary: '[RFE] Dark mode - plan' });
  });

  it('says in the modal that a document is already published, instead of offering a second issue', async () => {
    const modal = await choosePublishAs(pickerValues.get(SPEC)!);
    expect(modal.view.submit).toBeUndefined();
    expect(messageText({ blocks: modal.view.blocks })).toMatch(/already published as .*PROJ-1/);
  });

  it('tells a user without an Atlassian link to connect, in the modal', async () => {
    const modal = await choosePublishAs(pickerValues.get('specs/001-dark-mode/tasks.md')!, { userId: 'U0002' });
    expect(modal.view.submit).toBeUndefined();
    expect(messageText({ blocks: modal.view.blocks })).toMatch(/not linked yet; run `\/vteam connect`/);
  });

  it('refuses a forged value for a project this channel is not bound to, creating nothing', async () => {
    const issues = env.mcp.issues().length;
    const toolCalls = env.mcp.toolCalls().length;
    const modal = await choosePublishAs('d1|team-z|rfe-1760000000|specs/001-dark-mode/spec.md');
    expect(modal.view.submit).toBeUndefined();
    expect(messageText({ blocks: modal.view.blocks })).toMatch(/not bound to project `team-z`/);
    expect(env.mcp.issues()).toHaveLength(issues);
    expect(env.mcp.toolCalls()).toHaveLength(toolCalls);
  });

  it('its other choice, "Publish to Jira", publishes with the default type and no modal', async () => {
    const opensBefore = env.slack.callsTo('views.open').length;
    const value = pickerValues.get('specs/001-dark-mode/tasks.md')!.replace(/^d1\|/, 'n1|');
    const body = overflowChoiceBody({ actionId: 'publish_as', value, responseUrl: env.slack.responseUrl('now'), channelId: CHANNEL });
    expect((await postToSlackEvents(env.app.url, env.signingSecret, body)).status).toBe(200);
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === 'specs/001-dark-mode/tasks.md'));
    expect(env.slack.callsTo('views.open')).toHaveLength(opensBefore);
    expect(env.mcp.issues().find((i) => i.summary.endsWith('- tasks'))!.issueType).toBe('Task');
  });

  it('answers a garbled value with a fresh-menu hint', async () => {
    const opensBefore = env.slack.callsTo('views.open').length;
    const body = overflowChoiceBody({
      actionId: 'publish_as',
      value: '{"v":1,"ns":"team-a"}',
      responseUrl: env.slack.responseUrl('garbled'),
    });
    expect((await postToSlackEvents(env.app.url, env.signingSecret, body)).status).toBe(200);
    const opened = await env.slack.waitFor(() => env.slack.callsTo('views.open')[opensBefore]);
    expect(messageText({ blocks: (opened.args.view as ModalArg).blocks })).toMatch(/no longer valid/);
  });
});
