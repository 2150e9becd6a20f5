import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeIssue } from '../support/fake-mcp/jira.ts';
import { messageText, type SlackMessage } from '../support/fake-slack.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';
import {
  ALICE,
  ALICE_TOKEN,
  CHANNEL,
  PLAN,
  PROJECT,
  SITE,
  SPEC,
  TASKS,
  buttonValue,
  startEnvironment,
  type Environment,
} from '../support/environment.ts';
import { postToSlackEvents, viewSubmissionBody } from '../support/slack-requests.ts';

/**
 * From plan to tracked work, as users run it: "Publish all" makes the spec an Epic (under the
 * workflow's parent outcome) with the plan and tasks documents as its children, and "Create issues
 * from tasks" (a confirmation modal, then a batch with one progress message in the workflow's thread)
 * makes one issue per open task of tasks.md under that Epic — exactly once, across re-runs, a kill -9
 * and Jira refusing one of them, while other users' publishes keep their turn.
 */

/** RATE_LIMIT_CONCURRENCY of the app under test (also the batch's items in flight). */
const CONCURRENCY = 4;
const BOB = { teamId: 'T0001', userId: 'U0002' };
const BOB_TOKEN = 'atl-access-bob-0123456789';
const TASK_SUMMARY = /^T\d{3} /;

let env: Environment;
let redis: RedisHandle;
/** The workflow's outcome in Jira: a level-2 issue (Jira's hierarchy puts an Epic right under it). */
let outcomeKey: string;

beforeAll(async () => {
  redis = await startRedis();
  env = await startEnvironment({ appEnv: { STORE_URL: redis.url, RATE_LIMIT_CONCURRENCY: String(CONCURRENCY) } });
  const jira = env.mcp.jira;
  env.mcp.addProject({ site: SITE, key: 'OUT', hierarchy: { Outcome: 2 } });
  outcomeKey = jira.create(jira.validToken(ALICE_TOKEN)!, jira.siteFor(SITE)!, {
    projectKey: 'OUT',
    issueType: 'Outcome',
    summary: 'Theming outcome',
  }).key;
  env.mcp.addToken({ token: BOB_TOKEN, sites: [SITE], account: { name: 'Bob' } });
  await env.link(BOB, BOB_TOKEN);
});
afterAll(async () => {
  await env?.close();
  await redis?.stop();
});
afterEach(({ task }) => {
  if (!env) return;
  env.mcp.setLatency(0);
  env.mcp.jira.rejectCreate = undefined;
  // On a failure, what the app warned about and which publishes failed (the summary says why in Slack).
  if (task.result?.state === 'fail' || (task.result?.errors?.length ?? 0) > 0) {
    const notable = env.app.logs().filter((r) => (r.level as number) >= 40 || r.msg === 'publish failed');
    console.log(notable.map((r) => JSON.stringify(r).slice(0, 1000)).join('\n'));
  }
});

// --- fixtures -----------------------------------------------------------------------------------

/** Phases as spec-kit's template writes them; tasks T001–T030. */
const PHASES = [
  { heading: 'Phase 1: Setup (Shared Infrastructure)', from: 1, to: 3 },
  { heading: 'Phase 2: Foundational (Blocking Prerequisites)', from: 4, to: 7 },
  { heading: 'Phase 3: User Story 1 - Switch the theme (Priority: P1) 🎯 MVP', from: 8, to: 16, story: 'US1' },
  { heading: 'Phase 4: User Story 2 - Follow the system setting (Priority: P2)', from: 17, to: 24, story: 'US2' },
  { heading: 'Phase 5: Polish & Cross-Cutting Concerns', from: 25, to: 30 },
];
/** The done tasks, checked with `[x]` and `[X]` alike. */
const DONE = new Map([
  [1, 'x'],
  [2, 'X'],
  [3, 'x'],
  [9, 'X'],
  [15, 'x'],
]);
const id = (n: number) => `T${String(n).padStart(3, '0')}`;
const OPEN_IDS = Array.from({ length: 30 }, (_, i) => i + 1)
  .filter((n) => !DONE.has(n))
  .map(id);

function taskLine(n: number, story?: string): string {
  const markers = `${n % 3 === 0 ? ' [P]' : ''}${story ? ` [${story}]` : ''}`;
  return `- [${DONE.get(n) ?? ' '}] ${id(n)}${markers} Implement step ${n} of dark mode in src/theme/step-${n}.ts`;
}

/** A spec-kit tasks.md: 30 tasks (5 done), phases, [P] and [US…] markers, and lines that are not tasks. */
function tasksMarkdown(extra: string[] = []): string {
  const lines = [
    '# Tasks: Dark mode',
    '',
    '**Input**: Design documents from `/specs/001-dark-mode/`',
    '**Prerequisites**: plan.md (required), spec.md (required for user stories)',
    '',
    '## Format: `[ID] [P?] [Story] Description`',
    '- **[P]**: Can run in parallel (different files, no dependencies)',
    '- **[Story]**: Which user story this task belongs to (e.g., US1, US2)',
    '',
  ];
  for (const phase of PHASES) {
    lines.push(`## ${phase.heading}`, '');
    for (let n = phase.from; n <= phase.to; n++) lines.push(taskLine(n, phase.story));
    if (phase.from === 8) lines.push('  - Detail: the toggle lives in the header (not a task)');
    lines.push('');
  }
  lines.push(...extra, '');
  lines.push(
    '## Dependencies & Execution Order',
    '',
    '- T004 blocks T008 and T017',
    '- Setup (Phase 1): no dependencies',
    '',
    '## Parallel Example: User Story 1',
    '',
    '```bash',
    '- [ ] T999 Example in a code block (not a task)',
    'Task: "Contract test for the theme endpoint in tests/contract/test_theme.ts"',
    '```',
    '',
  );
  return lines.join('\n');
}

/** An RFE workflow of team-a with its own branch holding spec, plan and tasks. */
function addWorkflow(name: string, options: { title: string; parentOutcome?: string; tasks?: string }): void {
  const branch = `b-${name}`;
  env.kube.addRfeWorkflow(PROJECT, name, {
    title: options.title,
    description: 'Allow users to switch themes',
    branchName: branch,
    umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
    ...(options.parentOutcome ? { parentOutcome: options.parentOutcome } : {}),
  });
  env.github.setFiles('org', 'spec-repo', branch, {
    'rfe.md': `# ${options.title} RFE`,
    [SPEC]: `# ${options.title} spec\n\nUsers can pick a theme.`,
    [PLAN]: '# Plan\n\n1. Tokens\n2. Toggle',
    [TASKS]: options.tasks ?? tasksMarkdown(),
  });
}

// --- driving Slack ------------------------------------------------------------------------------

interface ModalArg {
  callback_id: string;
  private_metadata?: string;
  blocks: unknown[];
  submit?: { text: string };
}

const workflowValue = (name: string) => JSON.stringify({ v: 1, ns: PROJECT, wf: name });
const tasksValue = (name: string) => buttonValue(TASKS, PROJECT, name);
const modalText = (view: ModalArg) => messageText({ blocks: view.blocks });
const textOf = (message: Pick<SlackMessage, 'text' | 'blocks'>) => messageText({ text: message.text, blocks: message.blocks });
const keyNumber = (key: string) => Number(key.slice(key.lastIndexOf('-') + 1));

/** Every button of a message, by action_id. */
function buttonsIn(blocks: unknown): { actionId: string; value: string }[] {
  const found: { actionId: string; value: string }[] = [];
  JSON.stringify(blocks, (_key, value: unknown) => {
    const element = value as { type?: string; action_id?: string; value?: string };
    if (element && element.type === 'button' && element.action_id && element.value)
      found.push({ actionId: element.action_id, value: element.value });
    return value;
  });
  return found;
}

/** Thread replies posted since message index `since`, as they stand now (edits applied). */
function threadMessages(thread: string, since = 0): SlackMessage[] {
  return env.slack.messages.slice(since).filter((m) => m.channel === CHANNEL && m.threadTs === thread);
}

/** The issues of the tasks of the workflow whose Epic is `epicKey`. */
function taskIssues(epicKey: string): FakeIssue[] {
  return env.mcp.issues().filter((i) => i.parent === epicKey && TASK_SUMMARY.test(i.summary));
}

function taskLinks(name: string): { path: string; jiraKey: string }[] {
  return env.workflowLinks(name).filter((l) => l.path.startsWith(`${TASKS}#`));
}

/** Publish all, clicked; resolves with its one thread reply (the summary), the workflow's thread and the Epic. */
async function publishAll(name: string, click: () => Promise<unknown> = () => env.click('publish_all', workflowValue(name))) {
  const since = env.slack.messages.length;
  await click();
  const summary = await env.slack.waitFor(() =>
    env.slack.messages.slice(since).find((m) => m.threadTs !== undefined && /^Every document of /.test(m.text)),
  );
  const links = env.workflowLinks(name);
  const epicKey = links.find((l) => l.path === SPEC)!.jiraKey;
  return { summary, thread: summary.threadTs!, epicKey, since };
}

/** Clicks Create issues from tasks; resolves with the modal as first opened and as updated with the plan. */
async function openTasksModal(name: string, options: { userId?: string; value?: string } = {}) {
  const opens = env.slack.callsTo('views.open').length;
  const updates = env.slack.callsTo('views.update').length;
  const click = await env.click('create_task_issues', options.value ?? tasksValue(name), { userId: options.userId });
  expect(click.status).toBe(200);
  return modalAfter(opens, updates, click.responseId);
}

async function modalAfter(opens: number, updates: number, responseId: string) {
  const opened = await env.slack.waitFor(() => env.slack.callsTo('views.open')[opens]);
  const updated = await env.slack.waitFor(() => env.slack.callsTo('views.update')[updates]);
  return {
    opened: opened.args.view as ModalArg,
    triggerId: String(opened.args.trigger_id),
    view: updated.args.view as ModalArg,
    viewId: updated.args.view_id,
    responseId,
  };
}

/** Submits the confirmation modal as Slack does; the modal closes (empty 200). */
async function submit(view: ModalArg, userId = ALICE.userId): Promise<void> {
  expect(view.callback_id).toBe('vteam_task_issues');
  expect(view.private_metadata).toBeTruthy();
  const body = viewSubmissionBody({ callbackId: view.callback_id, privateMetadata: view.private_metadata!, values: {}, userId });
  const answer = await postToSlackEvents(env.app.url, env.signingSecret, body);
  expect(answer).toMatchObject({ status: 200, body: '' });
}

/** The message a tasks run ends on (its progress message, edited into the summary, or a summary reply). */
async function tasksSummary(thread: string, since: number, timeoutMs = 30_000): Promise<SlackMessage> {
  return env.slack.waitFor(() => threadMessages(thread, since).find((m) => /^Issues from /.test(m.text)), timeoutMs);
}

/** The chat.update edits of one message, in order. */
const editsOf = (message: SlackMessage) => env.slack.callsTo('chat.update').filter((c) => c.args.ts === message.ts);

// --- the tests ----------------------------------------------------------------------------------

describe('Publish all, then Create issues from tasks', () => {
  const NAME = 'rfe-1760000101';
  const TITLE = 'Dark mode batch';
  let thread: string;
  let epicKey: string;
  let taskButton: string;
  /** The confirmation modal the first run was started from. */
  let firstView: ModalArg;

  beforeAll(() => {
    addWorkflow(NAME, { title: TITLE, parentOutcome: outcomeKey });
  });

  it('Publish all makes the spec an Epic under the outcome and the plan and tasks its children, in one thread reply', async () => {
    // The picker offers Publish all, and Create issues from tasks on the tasks document's row.
    const answer = await env.command(`publish ${NAME}`);
    const picker = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId));
    const buttons = buttonsIn(picker.body.blocks);
    const publishAllButton = buttons.find((b) => b.actionId === 'publish_all');
    expect(publishAllButton?.value).toBe(workflowValue(NAME));
    taskButton = buttons.find((b) => b.actionId === 'create_task_issues')!.value;
    expect(JSON.parse(taskButton)).toMatchObject({ ns: PROJECT, wf: NAME, p: TASKS });

    const issuesBefore = env.mcp.issues().length;
    const creates = env.mcp.toolCalls('createJiraIssue').length;
    const result = await publishAll(NAME, () => env.click('publish_all', publishAllButton!.value));
    ({ thread, epicKey } = result);

    const epic = env.mcp.issue(epicKey)!;
    expect(epic).toMatchObject({ issueType: 'Epic', parent: outcomeKey, summary: `[RFE] ${TITLE} - specify` });
    const created = env.mcp.issues().slice(issuesBefore);
    expect(created).toHaveLength(3);
    const children = created.filter((i) => i.key !== epicKey);
    expect(children.map((i) => i.summary).sort()).toEqual([`[RFE] ${TITLE} - plan`, `[RFE] ${TITLE} - tasks`]);
    for (const child of children) expect(child).toMatchObject({ parent: epicKey, issueType: 'Task', hierarchyLevel: 0 });

    const links = env.workflowLinks(NAME);
    expect(links.map((l) => l.path).sort()).toEqual([PLAN, SPEC, TASKS].sort());
    for (const link of links) expect(env.mcp.issue(link.jiraKey)).toBeDefined();

    // One reply in the workflow's thread lists the three, each linked, the spec as the Epic.
    const replies = threadMessages(thread, result.since);
    expect(replies).toHaveLength(1);
    const text = textOf(replies[0]!);
    for (const link of links) expect(text).toContain(`<${SITE}/browse/${link.jiraKey}|${link.jiraKey}>`);
    expect(text).toMatch(new RegExp(`\`${SPEC}\` → <[^>]+\\|${epicKey}> · Epic \\(new\\)`));
    expect(text).toContain(`\`${PLAN}\``);
    expect(text).toContain(`\`${TASKS}\``);
    const createCalls = env.mcp.toolCalls('createJiraIssue').length - creates;
    expect(createCalls).toBe(3);
  });

  it('Create issues from tasks confirms in a modal, then makes one issue per open task under the Epic, with one progress message', async () => {
    const modal = await openTasksModal(NAME, { value: taskButton });
    expect(modalText(modal.opened)).toMatch(/Reading the tasks of `specs\/001-dark-mode\/tasks\.md`/);
    const text = modalText(modal.view);
    expect(text).toContain('Create *25 issues* in Jira project `PROJ` as *Task*');
    expect(text).toContain(`under <${SITE}/browse/${epicKey}|${epicKey}>`);
    expect(text).toContain('5 done tasks are skipped');
    expect(text).toMatch(/They use 25 of the [\d,]+ Jira requests left this hour \(budget 1,000\)\./);
    expect(text).toContain(`T004 Implement step 4`);
    expect(text).toContain('…and 15 more');
    expect(modal.view.submit?.text).toBe('Create 25 issues');
    firstView = modal.view;

    const since = env.slack.messages.length;
    const creates = env.mcp.toolCalls('createJiraIssue').length;
    await submit(modal.view);
    const summary = await tasksSummary(thread, since);
    expect(summary.text, textOf(summary)).toBe(`Issues from ${TASKS}: 25 created, 5 skipped as done`);

    // 25 issues, one per open task, each under the Epic, summary starting with its task ID.
    const issues = taskIssues(epicKey);
    expect(issues).toHaveLength(25);
    expect(issues.map((i) => i.summary.slice(0, 4)).sort()).toEqual(OPEN_IDS);
    for (const issue of issues) {
      expect(issue).toMatchObject({ issueType: 'Task', parent: epicKey });
      expect(issue.summary).toMatch(/^T\d{3} Implement step \d+ of dark mode in src\/theme\/step-\d+\.ts$/);
    }
    expect(new Set(issues.map((i) => i.labels.join(','))).size).toBe(25);
    const t012 = issues.find((i) => i.summary.startsWith('T012 '))!;
    expect(t012.description).toMatch(/\*\*Phase:\*\* Phase 3: User Story 1 - Switch the theme/);
    expect(t012.description).toContain('**Parallel:** yes');
    expect(t012.description).toContain('**User story:** US1');
    expect(t012.description).toMatch(
      /\*\*Source:\*\* https:\/\/github\.com\/org\/spec-repo\/blob\/b-rfe-1760000101\/specs\/001-dark-mode\/tasks\.md#L\d+/,
    );
    // Exactly one create per task: no retries, no searches.
    const createCalls = env.mcp.toolCalls('createJiraIssue').length - creates;
    expect(createCalls).toBe(25);

    // Every task linked as `<tasks path>#T0nn`, to its own issue.
    const links = taskLinks(NAME);
    expect(links.map((l) => l.path).sort()).toEqual(OPEN_IDS.map((t) => `${TASKS}#${t}`));
    for (const link of links) expect(env.mcp.issue(link.jiraKey)!.summary.startsWith(`${link.path.split('#')[1]} `)).toBe(true);

    // One progress message in the workflow's thread, edited as it went, ending as the summary.
    const posted = threadMessages(thread, since);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toBe(summary);
    const edits = editsOf(summary).map((c) => messageText(c.args));
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.slice(0, -1).every((t) => /^Creating issues: \d+ of 25…/.test(t))).toBe(true);
    expect(edits.at(-2)).toMatch(/^Creating issues: 25 of 25…/);
    for (const edit of edits.slice(0, -1)) expect(edit).toMatch(/Creating issues from `specs\/001-dark-mode\/tasks\.md`: \d+ of 25…/);
    const summaryText = textOf(summary);
    expect(summaryText).toMatch(
      /:white_check_mark: Issues from `specs\/001-dark-mode\/tasks\.md`: 25 created, 5 skipped as done · [\d.]+ s/,
    );
    for (const link of links) expect(summaryText).toContain(`<${SITE}/browse/${link.jiraKey}|${link.jiraKey}>`);
    const progressPost = env.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.args.thread_ts === thread && /^Creating issues: 0 of 25…/.test(messageText(c.args)));
    expect(progressPost).toHaveLength(1);
  });

  it('a second run creates nothing: the modal says so, and a stale confirmation reports them already there', async () => {
    const issues = env.mcp.issues().length;
    const creates = env.mcp.toolCalls('createJiraIssue').length;
    const modal = await openTasksModal(NAME);
    expect(modal.view.submit).toBeUndefined();
    expect(modalText(modal.view)).toMatch(
      /Every open task of `specs\/001-dark-mode\/tasks\.md` already has its issue, so there is nothing to create \(5 done tasks are skipped; 25 already have their issues\)/,
    );

    // The confirmation of the first run, submitted again (a second window): re-planned, nothing to do.
    const since = env.slack.messages.length;
    await submit(firstView);
    const summary = await tasksSummary(thread, since);
    expect(summary.text).toBe(`Issues from ${TASKS}: 0 created, 25 already there, 5 skipped as done`);
    expect(summary.updates).toBe(0); // no progress message for nothing
    expect(env.mcp.issues()).toHaveLength(issues);
    expect(env.mcp.toolCalls('createJiraIssue')).toHaveLength(creates);
    expect(taskLinks(NAME)).toHaveLength(25);
  });

  it('after two tasks are added, a run creates exactly those two and names them', async () => {
    env.github.setFile(
      'org',
      'spec-repo',
      `b-${NAME}`,
      TASKS,
      tasksMarkdown(['## Phase 6: Follow-ups', '', '- [ ] T031 [P] Document the theme tokens', '- [ ] T032 Add a theme screenshot test']),
    );
    const modal = await openTasksModal(NAME);
    expect(modalText(modal.view)).toContain('Create *2 issues*');
    expect(modalText(modal.view)).toContain('25 already have their issues');

    const since = env.slack.messages.length;
    const creates = env.mcp.toolCalls('createJiraIssue').length;
    await submit(modal.view);
    const summary = await tasksSummary(thread, since);
    expect(env.mcp.toolCalls('createJiraIssue').length - creates).toBe(2);

    const issues = taskIssues(epicKey);
    expect(issues).toHaveLength(27);
    const added = issues.filter((i) => /^T03[12] /.test(i.summary));
    expect(added.map((i) => i.summary).sort()).toEqual(['T031 Document the theme tokens', 'T032 Add a theme screenshot test']);
    expect(taskLinks(NAME)).toHaveLength(27);

    expect(summary.text).toBe(`Issues from ${TASKS}: 2 created, 25 already there, 5 skipped as done`);
    const text = textOf(summary);
    for (const issue of added) expect(text).toContain(`<${SITE}/browse/${issue.key}|${issue.key}> ${issue.summary}`);
    expect(text).not.toContain('T004 Implement'); // the ones already there are counted, not listed
  });

  it('the card counts the task issues, and the thread gets no "link removed" reply for them', async () => {
    // The card queue of a channel works one sync at a time (reply included): once the card shows a
    // second edit made after the first one showed, every sync the runs caused is done.
    const edit = async (description: string) => {
      env.kube.modify('rfeworkflows', PROJECT, NAME, (o) => {
        (o as unknown as { spec: Record<string, unknown> }).spec.description = description;
      });
      return env.slack.waitFor(() => {
        const root = env.slack.messages.find((m) => m.channel === CHANNEL && m.ts === thread);
        return root && textOf(root).includes(description) ? root : undefined;
      });
    };
    await edit('Allow users to switch themes, v2');
    const card = await edit('Allow users to switch themes, v3');
    expect(textOf(card)).toContain(`<${SITE}/browse/${epicKey}|${epicKey}>`);
    expect(textOf(card)).toContain('· 27 task issues');
    // Task links are not rows of the card, but they were not removed either.
    const removed = threadMessages(thread)
      .flatMap((m) => m.text.split('\n'))
      .map((line) => /Link to (\S+) removed from `([^`]+)`/.exec(line))
      .filter((match) => match !== null)
      .map((match) => `${match[2]} (${match[1]})`);
    expect(removed, 'spurious "Link to … removed from …" replies in the workflow thread').toEqual([]);
    expect(taskLinks(NAME)).toHaveLength(27);
  });
});

describe('Create issues from tasks across a kill -9', () => {
  const NAME = 'rfe-1760000102';

  it('ends with exactly one issue per task after the app is killed halfway, restarted and the batch run again', async () => {
    addWorkflow(NAME, { title: 'Dark mode crash' });
    const { thread, epicKey } = await publishAll(NAME);

    env.mcp.setLatency(150);
    const modal = await openTasksModal(NAME);
    expect(modalText(modal.view)).toContain('Create *25 issues*');
    await submit(modal.view);
    const atKill = await env.slack.waitFor(() => {
      const n = taskIssues(epicKey).length;
      return n >= 12 ? n : undefined;
    }, 20_000);
    await env.app.kill('SIGKILL');
    expect(atKill).toBeLessThan(25);

    await env.startApp();

    // Run it again. While the killed run's batch lease has not expired yet, the run is refused
    // as under way (and nothing is created); then it runs.
    const since = env.slack.messages.length;
    let attempts = 0;
    for (;;) {
      attempts++;
      const again = await openTasksModal(NAME);
      if (again.view.submit === undefined) break; // recovery finished every task already
      const ephemerals = env.slack.ephemeralTexts().length;
      await submit(again.view);
      const outcome = await env.slack.waitFor(
        () =>
          threadMessages(thread, since).find((m) => /^Issues from /.test(m.text)) ??
          env.slack
            .ephemeralTexts()
            .slice(ephemerals)
            .find((t) => /already under way/.test(t)),
        60_000,
      );
      if (typeof outcome !== 'string') break;
      expect(attempts).toBeLessThan(10);
    }
    await env.slack.waitFor(() => taskLinks(NAME).length === 25, 30_000);
    env.mcp.setLatency(0);

    const issues = taskIssues(epicKey);
    expect(issues.map((i) => i.summary.slice(0, 4)).sort()).toEqual(OPEN_IDS);
    expect(new Set(issues.map((i) => i.summary)).size).toBe(25);
    expect(new Set(issues.flatMap((i) => i.labels.filter((l) => l !== 'vteam-rfe'))).size).toBe(25);
    const links = taskLinks(NAME);
    expect(links.map((l) => l.path).sort()).toEqual(OPEN_IDS.map((t) => `${TASKS}#${t}`));
    expect(new Set(links.map((l) => l.jiraKey))).toEqual(new Set(issues.map((i) => i.key)));
    // No in-flight record is left behind on the workflow.
    await env.slack.waitFor(() => {
      const object = env.kube.get('rfeworkflows', PROJECT, NAME) as unknown as { metadata: { annotations?: Record<string, string> } };
      return Object.keys(object.metadata.annotations ?? {}).every((k) => !k.startsWith('jira-publish.vteam.ambient-code/'));
    });
    const summary = threadMessages(thread, since).find((m) => /^Issues from /.test(m.text));
    // The run after the restart accounts for every task: what it created and what was there by then.
    const counts = /^Issues from \S+: (\d+) created, (\d+) already there, 5 skipped as done$/.exec(summary?.text ?? '');
    if (summary) {
      expect(counts).not.toBeNull();
      expect(Number(counts![1]) + Number(counts![2])).toBe(25);
      // The killed run's progress message no longer counts as if it were alive.
      expect(env.slack.callsTo('chat.update').some((c) => /was interrupted \(the app restarted\)/.test(messageText(c.args)))).toBe(true);
    }
  }, 90_000);
});

describe('fairness', () => {
  const ALICE_WF = 'rfe-1760000103';
  const BOB_WF = 'rfe-1760000104';

  it("another user's single publish waits about one slot behind a running batch, not for the batch", async () => {
    addWorkflow(ALICE_WF, { title: 'Dark mode fair' });
    addWorkflow(BOB_WF, { title: 'High contrast' });
    const { thread, epicKey } = await publishAll(ALICE_WF);
    // Bob published before, so his MCP session is open: what follows measures the queue, not his
    // session's handshake.
    await env.click('publish_to_jira', buttonValue(PLAN, PROJECT, BOB_WF), { userId: BOB.userId });
    await env.slack.waitFor(() => env.workflowLinks(BOB_WF).find((l) => l.path === PLAN));

    env.mcp.setLatency(100);
    const modal = await openTasksModal(ALICE_WF);
    const since = env.slack.messages.length;
    await submit(modal.view);
    // The batch is under way: its first issue exists.
    await env.slack.waitFor(() => taskIssues(epicKey).length >= 1);
    const atClick = taskIssues(epicKey).length;
    await env.click('publish_to_jira', buttonValue(SPEC, PROJECT, BOB_WF), { userId: BOB.userId });
    const bobLink = await env.slack.waitFor(() => env.workflowLinks(BOB_WF).find((l) => l.path === SPEC));
    const bobReply = await env.slack.waitFor(() =>
      env.slack.messages.find((m) => m.threadTs !== undefined && m.text.includes(bobLink.jiraKey) && textOf(m).includes('<@U0002>')),
    );
    const atBobReply = taskIssues(epicKey).length;
    const bobIssue = env.mcp.issue(bobLink.jiraKey)!;
    expect(bobIssue.summary).toBe('[RFE] High contrast - specify');
    expect(bobReply.channel).toBe(CHANNEL);

    await tasksSummary(thread, since);
    env.mcp.setLatency(0);
    const issues = taskIssues(epicKey);
    expect(issues).toHaveLength(25);
    // Jira numbers issues in creation order: how many of the batch's came before Bob's.
    const before = issues.filter((i) => keyNumber(i.key) < keyNumber(bobIssue.key)).length;
    // Bob waited for the calls in flight and about one more round, not for the batch.
    expect(before - atClick).toBeLessThanOrEqual(CONCURRENCY * 2);
    expect(before).toBeLessThan(25 - CONCURRENCY * 2);
    expect(atBobReply).toBeLessThan(25);
  }, 60_000);
});

describe('Jira refusing one task', () => {
  const NAME = 'rfe-1760000105';

  it("does not stop the others; the summary names the task and Jira's reason, and a later run creates it", async () => {
    addWorkflow(NAME, { title: 'Dark mode refused' });
    const { thread, epicKey } = await publishAll(NAME);
    env.mcp.jira.rejectCreate = (input) => (input.summary.startsWith('T017') ? 'Team is required.' : undefined);

    const modal = await openTasksModal(NAME);
    const since = env.slack.messages.length;
    await submit(modal.view);
    const summary = await tasksSummary(thread, since);
    expect(summary.text, textOf(summary)).toBe(`Issues from ${TASKS}: 24 created, 5 skipped as done, 1 failed`);
    const text = textOf(summary);
    expect(text).toMatch(/:warning: Issues from/);
    expect(text).toMatch(/Failed:\n`T017`: [^\n]*Team is required\./);
    expect(text).toContain('Run *Create issues from tasks* again after fixing the cause');
    const issues = taskIssues(epicKey);
    expect(issues).toHaveLength(24);
    expect(issues.some((i) => i.summary.startsWith('T017'))).toBe(false);
    expect(taskLinks(NAME).map((l) => l.path)).not.toContain(`${TASKS}#T017`);
    expect(taskLinks(NAME)).toHaveLength(24);

    // The project fixed; the next run creates only T017.
    env.mcp.jira.rejectCreate = undefined;
    const again = await openTasksModal(NAME);
    expect(modalText(again.view)).toContain('Create *1 issue*');
    const next = env.slack.messages.length;
    await submit(again.view);
    const fixed = await tasksSummary(thread, next);
    expect(fixed.text).toBe(`Issues from ${TASKS}: 1 created, 24 already there, 5 skipped as done`);
    expect(
      taskIssues(epicKey)
        .map((i) => i.summary.slice(0, 4))
        .sort(),
    ).toEqual(OPEN_IDS);
    expect(taskLinks(NAME)).toHaveLength(25);
  });
});

describe('the slash command', () => {
  const NAME = 'rfe-1760000106';
  const SMALL_TASKS = [
    '# Tasks: Dark mode',
    '',
    '## Phase 1: Setup',
    '',
    '- [x] T001 Create the project',
    '- [ ] T002 [P] Add the theme tokens',
    '- [ ] **T003** [US1] Add the toggle',
    '',
  ].join('\n');

  it('`/vteam publish <workflow> --all` publishes every document, the spec as the Epic', async () => {
    addWorkflow(NAME, { title: 'Dark mode command', tasks: SMALL_TASKS });
    let answer: { status: number; body: string } | undefined;
    const { summary, epicKey } = await publishAll(NAME, async () => {
      answer = await env.command(`publish ${NAME} --all`);
    });
    expect(answer).toMatchObject({ status: 200, body: '' });
    expect(env.mcp.issue(epicKey)).toMatchObject({ issueType: 'Epic', parent: undefined, summary: '[RFE] Dark mode command - specify' });
    expect(env.workflowLinks(NAME)).toHaveLength(3);
    expect(textOf(summary)).toContain('Every document of *Dark mode command* in Jira');
  });

  it("`/vteam publish <workflow> <tasks path> --tasks` opens the confirmation on the command's trigger, and its submission creates the issues", async () => {
    const opens = env.slack.callsTo('views.open').length;
    const updates = env.slack.callsTo('views.update').length;
    const answer = await env.command(`publish ${NAME} ${TASKS} --tasks`);
    expect(answer).toMatchObject({ status: 200, body: '' });
    const modal = await modalAfter(opens, updates, answer.responseId);
    expect(modal.triggerId).toMatch(/^trig\./);
    expect(modalText(modal.view)).toContain('Create *2 issues*');
    expect(modalText(modal.view)).toContain('1 done task is skipped');

    const epicKey = env.workflowLinks(NAME).find((l) => l.path === SPEC)!.jiraKey;
    const thread = env.slack.messages.find(
      (m) => m.threadTs !== undefined && textOf(m).includes('Every document of *Dark mode command*'),
    )!.threadTs!;
    const since = env.slack.messages.length;
    await submit(modal.view);
    const summary = await tasksSummary(thread, since);
    expect(summary.text).toBe(`Issues from ${TASKS}: 2 created, 1 skipped as done`);
    expect(
      taskIssues(epicKey)
        .map((i) => i.summary)
        .sort(),
    ).toEqual(['T002 Add the theme tokens', 'T003 Add the toggle']);
    expect(
      taskLinks(NAME)
        .map((l) => l.path)
        .sort(),
    ).toEqual([`${TASKS}#T002`, `${TASKS}#T003`]);
  });
});
