/**
 * Publish all and Create issues from tasks, on the in-memory world: replicas over the real store and
 * locks, an in-memory cluster and Jira. What a user sees: each task gets exactly one issue, in the
 * right place, whatever the clicks, replicas and refusals; the progress message moves forward; the
 * summary says what happened to each item.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { errors, isVteamError } from '../../src/errors.ts';
import { createBatchService, type BatchService, type BatchServiceDeps } from '../../src/publishing/batch-service.ts';
import { createDocumentRows } from '../../src/publishing/document-rows.ts';
import type { DocumentContent, JiraSettings, Workflow } from '../../src/publishing/model.ts';
import { phaseOf } from '../../src/publishing/paths.ts';
import type {
  AccountLinks,
  BatchItemResult,
  BatchSummary,
  DocumentSource,
  JiraBudget,
  ProgressHandle,
  ProjectDirectory,
} from '../../src/publishing/ports.ts';
import type { PublishService } from '../../src/publishing/publish-service.ts';
import { splitTaskPath, taskPath } from '../../src/publishing/tasks.ts';
import { documentId } from '../../src/publishing/issue-content.ts';
import { createPendingPublishes } from '../../src/publishing/user-records.ts';
import { createLockService } from '../../src/storage/locks.ts';
import { ALICE, createWorld, REF, request, SITE, SPEC, type World } from './world.ts';

const PLAN = 'specs/001-x/plan.md';
const TASKS = 'specs/001-x/tasks.md';
const EPIC = 'PROJ-900';

/** Done tasks, checked with both `[x]` and `[X]`. */
const DONE: Record<string, 'x' | 'X'> = { T001: 'x', T002: 'X', T008: 'x', T015: 'X', T022: 'x' };
const id = (n: number) => `T${String(n).padStart(3, '0')}`;
const ALL = Array.from({ length: 30 }, (_, i) => id(i + 1));
const OPEN = ALL.filter((t) => !(t in DONE));

/** A spec-kit tasks.md with T001…T030 in three phases (five done), and `extra` task lines at the end. */
function tasksMarkdown(extra: string[] = []): string {
  const lines = ['# Tasks: Dark mode', ''];
  ALL.forEach((task, i) => {
    if (i % 10 === 0) lines.push(`## Phase ${i / 10 + 1}`, '');
    lines.push(`- [${DONE[task] ?? ' '}] ${task}${i % 3 === 0 ? ' [P]' : ''} Do step ${i + 1} of the theme switcher`);
  });
  return [...lines, ...extra, ''].join('\n');
}

class InMemoryDocuments implements DocumentSource {
  files = new Map<string, string>([
    [SPEC, '# Spec'],
    [PLAN, '# Plan'],
    [TASKS, tasksMarkdown()],
  ]);
  reads: string[] = [];

  async list(): Promise<{ path: string; phase: string }[]> {
    return [...this.files.keys()].map((path) => ({ path, phase: phaseOf(path) }));
  }
  async read(_workflow: Workflow, path: string): Promise<DocumentContent> {
    this.reads.push(path);
    const markdown = this.files.get(path);
    if (markdown === undefined) throw errors.documentNotFound(path, `${REF.namespace}/${REF.name}`);
    return { path, phase: phaseOf(path), markdown, sourceUrl: `https://github.com/o/r/blob/feature/${path}` };
  }
}

interface Calls {
  started: { documentPath: string; total: number }[];
  progress: { done: number; total: number }[];
  finished: { handle: ProgressHandle | undefined; summary: BatchSummary }[];
  needsLink: { path: string; reason: string }[];
  failed: string[];
  interrupted: ProgressHandle[];
}

function recordingBatchNotifier(calls: Calls): BatchServiceDeps['notifier'] {
  return {
    batchStarted: async (_replyTo, info) => {
      calls.started.push({ documentPath: info.documentPath, total: info.total });
      return { channel: 'C1', ts: '1700000000.000100' };
    },
    batchProgress: async (_handle, info) => {
      calls.progress.push({ done: info.done, total: info.total });
    },
    batchFinished: async (_replyTo, handle, summary) => {
      calls.finished.push({ handle, summary });
    },
    batchInterrupted: async (handle) => {
      calls.interrupted.push(handle);
    },
    needsLink: async (_replyTo, info) => {
      calls.needsLink.push({ path: info.path, reason: info.reason });
    },
    pendingDropped: async (_replyTo, info) => {
      calls.failed.push(`dropped ${info.path}`);
    },
    failed: async (_replyTo, error) => {
      calls.failed.push(error.code);
    },
  };
}

interface Setup {
  w: World;
  docs: InMemoryDocuments;
  settings: JiraSettings;
  calls: Calls;
  budgetAsked: JiraSettings[];
  /** A replica's publish service, reading the documents above. */
  replica(name: string): PublishService;
  /** A replica's batch service around its publish service. */
  batch(
    name: string,
    overrides?: Partial<Omit<BatchServiceDeps, 'options'>> & { options?: Partial<BatchServiceDeps['options']> },
  ): BatchService;
}

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function setup(issueTypes: Record<string, string> = {}): Promise<Setup> {
  const w = (world = await createWorld());
  const docs = new InMemoryDocuments();
  const settings: JiraSettings = {
    siteUrl: SITE,
    projectKey: 'PROJ',
    issueTypes: { default: 'Story', ...issueTypes },
    source: 'annotations',
    secretName: 's',
  };
  const projects: ProjectDirectory = {
    bindings: async () => [{ namespace: REF.namespace, channels: ['C1'] }],
    projectsBoundTo: async () => [REF.namespace],
    isBound: async (_namespace, channel) => channel === 'C1',
    jiraSettings: async () => ({ settings, secretName: 's' }),
    gitToken: async () => undefined,
  };
  const rows = createDocumentRows({ documents: docs, projects, jira: w.jira });
  const calls: Calls = { started: [], progress: [], finished: [], needsLink: [], failed: [], interrupted: [] };
  const pending = createPendingPublishes(w.store, { maxAgeMs: 15 * 60_000 });
  const budgetAsked: JiraSettings[] = [];
  const budget: JiraBudget = async (s) => {
    budgetAsked.push(s);
    return { used: 120, limit: 1000 };
  };
  const linked: AccountLinks = { state: async () => 'linked' };
  const replica = (name: string) => w.replica(name, { documents: docs, projects, rows });
  return {
    w,
    docs,
    settings,
    calls,
    budgetAsked,
    replica,
    batch: (name, overrides = {}) => {
      const { options, ...deps } = overrides;
      return createBatchService({
        service: replica(name),
        rows,
        documents: docs,
        projects,
        jira: w.jira,
        links: linked,
        locks: createLockService(w.store, { owner: name }),
        notifier: recordingBatchNotifier(calls),
        pending,
        store: w.store,
        budget,
        logger: pino({ level: 'silent' }),
        ...deps,
        options: { concurrency: 4, leaseMs: 30_000, progressIntervalMs: 60_000, wait: () => sleep(5), ...options },
      });
    },
  };
}

const input = (path = TASKS) => ({
  user: ALICE,
  channelId: 'C1',
  workflow: REF,
  replyTo: { teamId: 'T1', channelId: 'C1', threadTs: '1700000000.000001' },
  path,
});

/** The spec already has its issue (the Epic); the workflow sits under an outcome. */
function withEpic(w: World): void {
  w.workflows.workflow.parentOutcome = 'OUT-7';
  w.workflows.linkElsewhere({ path: SPEC, jiraKey: EPIC });
}

const documentIdOf = (path: string) => documentId(REF, path);
const taskLinks = (w: World) => w.workflows.workflow.jiraLinks.filter((l) => splitTaskPath(l.path) !== undefined);
const linkedTaskIds = (w: World) => taskLinks(w).map((l) => splitTaskPath(l.path)!.taskId);
const taskIdOf = (summary: string) => summary.split(' ')[0]!;
const byStatus = (items: BatchItemResult[], status: BatchItemResult['status']) =>
  items
    .filter((i) => i.status === status)
    .map((i) => i.taskId ?? i.path)
    .sort();

/** One issue per task and one link per task, each link naming that task's issue. */
function expectExactlyOnce(w: World, ids: string[]): void {
  expect(w.jira.issues.map((i) => taskIdOf(i.summary)).sort()).toEqual([...ids].sort());
  expect(new Set(w.jira.issues.map((i) => i.labels.join())).size).toBe(w.jira.issues.length);
  expect(linkedTaskIds(w).sort()).toEqual([...ids].sort());
  for (const link of taskLinks(w)) {
    const issue = w.jira.issues.find((i) => i.key === link.jiraKey);
    expect(issue && taskIdOf(issue.summary)).toBe(splitTaskPath(link.path)!.taskId);
  }
}

describe('Create issues from tasks', () => {
  it('creates one issue per open task under the Epic, links each, and sums up', async () => {
    const s = await setup();
    withEpic(s.w);
    await s.batch('a').createTaskIssues(input());

    expectExactlyOnce(s.w, OPEN);
    expect(s.w.jira.requests).toHaveLength(25);
    for (const req of s.w.jira.requests) expect(req).toMatchObject({ issueType: 'Task', parentKey: EPIC, projectKey: 'PROJ' });
    expect(
      taskLinks(s.w)
        .map((l) => l.path)
        .sort(),
    ).toEqual(OPEN.map((t) => `${TASKS}#${t}`));
    // The summary keeps the ID; the description points at the task's line.
    const t012 = s.w.jira.requests.find((r) => r.summary.startsWith('T012 '))!;
    expect(t012.summary).toBe('T012 Do step 12 of the theme switcher');
    expect(t012.description).toMatch(new RegExp(`^\\*\\*Source:\\*\\* https://github.com/o/r/blob/feature/${TASKS}#L\\d+\\n`));
    expect(t012.description).toContain('**Phase:** Phase 2');

    expect(s.calls.started).toEqual([{ documentPath: TASKS, total: 25 }]);
    expect(s.calls.finished).toHaveLength(1);
    const [{ handle, summary }] = s.calls.finished as [Calls['finished'][number]];
    expect(handle).toEqual({ channel: 'C1', ts: '1700000000.000100' });
    expect(summary).toMatchObject({ kind: 'tasks', documentPath: TASKS, skippedDone: 5 });
    expect(summary.items).toHaveLength(25);
    expect(byStatus(summary.items, 'created')).toEqual(OPEN);
    for (const item of summary.items) {
      expect(item.path).toBe(taskPath(TASKS, item.taskId!));
      expect(item.issue?.key).toBe(s.w.workflows.workflow.jiraLinks.find((l) => l.path === item.path)?.jiraKey);
    }
    expect(s.w.told).toEqual([]); // items report through the batch summary, not one reply each
  });

  it('moves the progress message forward only, coalesced, ending at 25 of 25', async () => {
    const s = await setup();
    withEpic(s.w);
    await s.batch('a', { options: { progressIntervalMs: 60_000 } }).createTaskIssues(input());

    const done = s.calls.progress.map((p) => p.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(s.calls.progress.at(-1)).toEqual({ done: 25, total: 25 });
    expect(s.calls.progress.every((p) => p.total === 25)).toBe(true);
    expect(s.calls.progress.length).toBeLessThan(25);
  });

  it('creates nothing the second time, and reports the 25 issues already there', async () => {
    const s = await setup();
    withEpic(s.w);
    const batch = s.batch('a');
    await batch.createTaskIssues(input());
    const links = structuredClone(s.w.workflows.workflow.jiraLinks);
    await batch.createTaskIssues(input());

    expect(s.w.jira.calls.filter((c) => c === 'create')).toHaveLength(25);
    expect(s.w.workflows.workflow.jiraLinks).toEqual(links);
    expect(s.calls.started).toHaveLength(1); // no progress message for nothing to do
    const again = s.calls.finished[1]!.summary;
    expect(again).toMatchObject({ kind: 'tasks', skippedDone: 5 });
    expect(byStatus(again.items, 'existing')).toEqual(OPEN);
    for (const item of again.items) expect(item.issue?.key).toBe(links.find((l) => l.path === item.path)?.jiraKey);
  });

  it('creates exactly the tasks added to the document since, and names them', async () => {
    const s = await setup();
    withEpic(s.w);
    const batch = s.batch('a');
    await batch.createTaskIssues(input());
    s.docs.files.set(
      TASKS,
      tasksMarkdown(['## Phase 4', '', '- [ ] T031 Write the migration guide', '- [ ] T032 [P] Announce the theme switcher']),
    );
    await batch.createTaskIssues(input());

    expectExactlyOnce(s.w, [...OPEN, 'T031', 'T032']);
    expect(s.w.jira.requests.slice(25).map((r) => r.summary)).toEqual(
      expect.arrayContaining(['T031 Write the migration guide', 'T032 Announce the theme switcher']),
    );
    expect(s.calls.started.at(-1)).toEqual({ documentPath: TASKS, total: 2 });
    const summary = s.calls.finished.at(-1)!.summary;
    expect(byStatus(summary.items, 'created')).toEqual(['T031', 'T032']);
    expect(byStatus(summary.items, 'existing')).toEqual(OPEN);
    expect(s.calls.progress.at(-1)).toEqual({ done: 2, total: 2 });
  });

  it('a double click, and a click on another replica meanwhile, are refused; each task gets one issue', async () => {
    const s = await setup();
    withEpic(s.w);
    const a = s.batch('a');
    const results = await Promise.allSettled([
      a.createTaskIssues(input()),
      a.createTaskIssues(input()),
      s.batch('b').createTaskIssues(input()),
    ]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(refusals).toHaveLength(2);
    for (const refusal of refusals) expect(isVteamError(refusal, 'BATCH_IN_PROGRESS')).toBe(true);
    expectExactlyOnce(s.w, OPEN);
    expect(s.calls.finished).toHaveLength(1);

    // Once it is over, running it again is allowed (and finds everything there).
    await s.batch('b').createTaskIssues(input());
    expect(s.w.jira.issues).toHaveLength(25);
  });

  it("a run after a crash marks the crashed run's progress message as interrupted, then finishes the tasks", async () => {
    const s = await setup();
    withEpic(s.w);
    // The crashed run: its progress message was posted and remembered, then the process died.
    let crash!: () => void;
    const crashed = new Promise<void>((resolve) => (crash = resolve));
    s.w.jira.beforeCreate = async () => {
      crash();
      await new Promise(() => undefined); // never answers: the process is gone
    };
    void s.batch('a', { options: { leaseMs: 300 } }).createTaskIssues(input());
    await crashed;
    expect(s.calls.started).toHaveLength(1);
    s.w.jira.beforeCreate = undefined;
    // Its lease, no longer renewed by a dead process, would expire; here the new replica simply runs later.
    await s.w.store.delete(`lock:batch:team-a/rfe-1:${documentIdOf(TASKS)}`).catch(() => undefined);

    await s.batch('b', { options: { busyItemWaitMs: 0 } }).createTaskIssues(input());
    expect(s.calls.interrupted).toEqual([{ channel: 'C1', ts: '1700000000.000100' }]);
    expect(s.calls.finished.at(-1)!.summary.items.length).toBe(25);
  });

  it("waits out another replica publishing one of the tasks, then reports that replica's issue", async () => {
    const s = await setup();
    withEpic(s.w);
    let inJira!: () => void;
    const entered = new Promise<void>((resolve) => (inJira = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    s.w.jira.beforeCreate = async (req) => {
      if (!req.summary.startsWith('T012 ') || held) return;
      held = true;
      inJira();
      await released;
    };
    // Replica B publishes T012 alone and is slow in Jira; meanwhile replica A runs the whole batch.
    const single = s.replica('b').publish(request(taskPath(TASKS, 'T012')));
    await entered;
    let busyWaits = 0;
    const batch = s.batch('a', {
      options: {
        wait: async () => {
          busyWaits += 1;
          release();
          await sleep(5);
        },
      },
    });
    await batch.createTaskIssues(input());
    await single;

    expect(busyWaits).toBeGreaterThan(0);
    expectExactlyOnce(s.w, OPEN);
    const t012 = s.w.workflows.workflow.jiraLinks.find((l) => l.path === taskPath(TASKS, 'T012'))!;
    expect(s.w.told).toEqual([{ kind: 'published', text: t012.jiraKey }]);
    const summary = s.calls.finished[0]!.summary;
    expect(summary.items.find((i) => i.taskId === 'T012')).toMatchObject({ status: 'existing', issue: { key: t012.jiraKey } });
    expect(byStatus(summary.items, 'created')).toEqual(OPEN.filter((t) => t !== 'T012'));
  });

  it('another replica publishing a task the batch is creating right now is refused, not duplicated', async () => {
    const s = await setup();
    withEpic(s.w);
    let single: Promise<void> | undefined;
    s.w.jira.beforeCreate = async (req) => {
      if (!req.summary.startsWith('T020 ') || single) return;
      single = s.replica('b').publish(request(taskPath(TASKS, 'T020')));
      await single;
    };
    await s.batch('a').createTaskIssues(input());
    await single;

    expectExactlyOnce(s.w, OPEN);
    expect(s.w.told).toEqual([{ kind: 'failed', text: 'PUBLISH_IN_PROGRESS' }]);
    expect(byStatus(s.calls.finished[0]!.summary.items, 'created')).toEqual(OPEN);
  });

  it("creates the others when Jira refuses one task, and names that task with Jira's reason", async () => {
    const s = await setup();
    withEpic(s.w);
    s.w.jira.beforeCreate = (req) => {
      if (req.summary.startsWith('T017')) throw errors.jiraRejected('Field "Story Points" is required');
    };
    const batch = s.batch('a');
    await batch.createTaskIssues(input());

    const others = OPEN.filter((t) => t !== 'T017');
    expectExactlyOnce(s.w, others);
    const summary = s.calls.finished[0]!.summary;
    expect(byStatus(summary.items, 'created')).toEqual(others);
    expect(byStatus(summary.items, 'failed')).toEqual(['T017']);
    const failed = summary.items.find((i) => i.taskId === 'T017')!;
    expect(failed.error?.code).toBe('JIRA_REJECTED');
    expect(failed.error?.userMessage).toContain('Field "Story Points" is required');
    expect(s.calls.progress.at(-1)).toEqual({ done: 25, total: 25 });
    expect(s.w.workflows.workflow.inFlight ?? []).toEqual([]);

    // Once the field is fixed, running it again creates only T017.
    s.w.jira.beforeCreate = undefined;
    await batch.createTaskIssues(input());
    expectExactlyOnce(s.w, OPEN);
    expect(byStatus(s.calls.finished[1]!.summary.items, 'created')).toEqual(['T017']);
  });

  it('asks a user without an Atlassian link to connect, once, and creates nothing', async () => {
    const s = await setup();
    withEpic(s.w);
    await s.batch('a', { links: { state: async () => 'missing' } }).createTaskIssues(input());

    expect(s.calls.needsLink).toEqual([{ path: TASKS, reason: 'missing' }]);
    expect(s.w.jira.calls).toEqual([]);
    expect(taskLinks(s.w)).toEqual([]);
    expect(s.calls.started).toEqual([]);
  });

  it('runs the waiting batch, without asking again, once the user has connected', async () => {
    const s = await setup();
    withEpic(s.w);
    let state: 'missing' | 'linked' = 'missing';
    const batch = s.batch('a', { links: { state: async () => state } });
    await batch.createTaskIssues(input());
    expect(s.w.jira.issues).toEqual([]);

    state = 'linked';
    await batch.resumeAfterLink(ALICE);
    expectExactlyOnce(s.w, OPEN);
    expect(byStatus(s.calls.finished[0]!.summary.items, 'created')).toEqual(OPEN);
    // Taken: a second callback finds nothing waiting.
    await batch.resumeAfterLink(ALICE);
    expect(s.calls.finished).toHaveLength(1);
  });

  it('stops after the first item when the missing link shows only once Jira is asked (a token gateway)', async () => {
    const s = await setup();
    withEpic(s.w);
    s.w.jira.beforeCreate = () => {
      throw errors.notLinked();
    };
    await s.batch('a').createTaskIssues(input());

    expect(s.calls.needsLink).toHaveLength(1);
    expect(s.w.jira.requests).toHaveLength(1);
    expect(s.w.jira.issues).toEqual([]);
    const summary = s.calls.finished[0]!.summary;
    expect(byStatus(summary.items, 'needs-link')).toEqual(OPEN);
  });

  it('with a sub-task type, publishes the tasks document first (under the Epic), then the Sub-tasks under its issue', async () => {
    const s = await setup({ 'task-item': 'Sub-task' });
    withEpic(s.w);
    await s.batch('a').createTaskIssues(input());

    const [first, ...subtasks] = s.w.jira.requests;
    expect(first).toMatchObject({ summary: '[RFE] Dark mode - tasks', issueType: 'Story', parentKey: EPIC });
    const documentKey = s.w.workflows.workflow.jiraLinks.find((l) => l.path === TASKS)?.jiraKey;
    expect(documentKey).toBeDefined();
    expect(subtasks).toHaveLength(25);
    for (const req of subtasks) expect(req).toMatchObject({ issueType: 'Sub-task', parentKey: documentKey });
    expect(linkedTaskIds(s.w).sort()).toEqual(OPEN);
    expect(byStatus(s.calls.finished[0]!.summary.items, 'created')).toEqual(OPEN);
  });

  it('reads the tasks document once for the whole batch', async () => {
    const s = await setup();
    withEpic(s.w);
    await s.batch('a').createTaskIssues(input());
    expect(s.docs.reads).toEqual([TASKS]);
  });
});

describe('the plan shown before creating', () => {
  it('counts what will be created, what exists and what is done, where it goes, and what it costs', async () => {
    const s = await setup();
    withEpic(s.w);
    s.w.workflows.linkElsewhere({ path: taskPath(TASKS, 'T003'), jiraKey: 'PROJ-31' });
    s.w.workflows.linkElsewhere({ path: taskPath(TASKS, 'T004'), jiraKey: 'PROJ-32' });
    const { replyTo: _replyTo, ...ask } = input();
    const plan = await s.batch('a', { options: { requestsPerCreate: 4 } }).planTasks(ask);

    expect(plan.toCreate).toHaveLength(23);
    expect(plan.existing.map((t) => t.id)).toEqual(['T003', 'T004']);
    expect(plan.done.map((t) => t.id)).toEqual(Object.keys(DONE));
    expect(plan.placement).toEqual({ issueType: 'Task', under: 'epic', parentKey: EPIC });
    expect(plan.publishesDocumentFirst).toBe(false);
    expect(plan.requests).toBe(23 * 4);
    expect(plan.budget).toEqual({ used: 120, limit: 1000 });
    expect(s.budgetAsked).toEqual([s.settings]);
    expect(s.w.jira.calls).toEqual([]);
  });

  it('counts the tasks document itself when Sub-tasks need it published first', async () => {
    const s = await setup({ 'task-item': 'Sub-task' });
    const { replyTo: _replyTo, ...ask } = input();
    const plan = await s.batch('a').planTasks(ask);
    expect(plan.placement).toEqual({ issueType: 'Sub-task', under: 'document' });
    expect(plan.publishesDocumentFirst).toBe(true);
    expect(plan.requests).toBe(26);
  });

  it('takes an explicit issue type, and shows no budget when it cannot be read', async () => {
    const s = await setup();
    withEpic(s.w);
    const { replyTo: _replyTo, ...ask } = input();
    const plan = await s
      .batch('a', { budget: () => Promise.reject(new Error('store unreachable')) })
      .planTasks({ ...ask, issueType: 'Bug' });
    expect(plan.placement).toEqual({ issueType: 'Bug', under: 'epic', parentKey: EPIC });
    expect(plan.budget).toBeUndefined();
    expect(plan.requests).toBe(25);
  });
});

describe('Publish all', () => {
  it('creates the spec first as the Epic under the outcome, then plan and tasks as its children', async () => {
    const s = await setup();
    s.w.workflows.workflow.parentOutcome = 'OUT-7';
    await s.batch('a').publishAll(input());

    const [spec, ...children] = s.w.jira.requests;
    expect(spec).toMatchObject({ summary: '[RFE] Dark mode - specify', issueType: 'Epic', parentKey: 'OUT-7' });
    const specKey = s.w.workflows.workflow.jiraLinks.find((l) => l.path === SPEC)?.jiraKey;
    expect(children.map((r) => r.summary).sort()).toEqual(['[RFE] Dark mode - plan', '[RFE] Dark mode - tasks']);
    for (const child of children) expect(child).toMatchObject({ issueType: 'Story', parentKey: specKey });
    expect(s.w.workflows.workflow.jiraLinks.map((l) => l.path).sort()).toEqual([PLAN, SPEC, TASKS]);

    expect(s.calls.finished).toHaveLength(1);
    const { summary, handle } = s.calls.finished[0]!;
    expect(handle).toBeUndefined();
    expect(summary).toMatchObject({ kind: 'documents', skippedDone: 0 });
    expect(summary.items.map((i) => [i.path, i.status])).toEqual([
      [SPEC, 'created'],
      [PLAN, 'created'],
      [TASKS, 'created'],
    ]);
    expect(summary.workflow.jiraLinks).toHaveLength(3); // the workflow as it is after the run
  });

  it('reuses the documents already published and places the others under the existing spec issue', async () => {
    const s = await setup({ epic: 'Initiative' });
    withEpic(s.w);
    s.w.workflows.linkElsewhere({ path: PLAN, jiraKey: 'PROJ-50' });
    await s.batch('a').publishAll(input());

    expect(s.w.jira.requests.map((r) => [r.summary, r.parentKey])).toEqual([['[RFE] Dark mode - tasks', EPIC]]);
    const items = s.calls.finished[0]!.summary.items;
    expect(items.map((i) => [i.path, i.status, i.issue?.key])).toEqual([
      [SPEC, 'existing', EPIC],
      [PLAN, 'existing', 'PROJ-50'],
      [TASKS, 'created', s.w.workflows.workflow.jiraLinks.find((l) => l.path === TASKS)?.jiraKey],
    ]);
  });

  it("uses the project's epic type for the spec", async () => {
    const s = await setup({ epic: 'Initiative' });
    await s.batch('a').publishAll(input());
    expect(s.w.jira.requests[0]).toMatchObject({ summary: '[RFE] Dark mode - specify', issueType: 'Initiative' });
  });

  it('leaves task issues alone: they are not documents', async () => {
    const s = await setup();
    withEpic(s.w);
    const batch = s.batch('a');
    await batch.createTaskIssues(input());
    await batch.publishAll(input());

    expect(s.w.jira.issues).toHaveLength(27);
    expect(s.calls.finished.at(-1)!.summary.items.map((i) => i.path)).toEqual([SPEC, PLAN, TASKS]);
  });

  it('a double click is refused while the first run lasts; each document gets one issue', async () => {
    const s = await setup();
    const results = await Promise.allSettled([s.batch('a').publishAll(input()), s.batch('b').publishAll(input())]);
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(refusals).toHaveLength(1);
    expect(isVteamError(refusals[0], 'BATCH_IN_PROGRESS')).toBe(true);
    expect(s.w.jira.issues).toHaveLength(3);
    expect(s.calls.finished).toHaveLength(1);
  });

  it('publishes nothing twice when run again', async () => {
    const s = await setup();
    const batch = s.batch('a');
    await batch.publishAll(input());
    await batch.publishAll(input());
    expect(s.w.jira.issues).toHaveLength(3);
    expect(s.calls.finished[1]!.summary.items.map((i) => i.status)).toEqual(['existing', 'existing', 'existing']);
  });

  it('asks a user without an Atlassian link to connect, once, and creates nothing', async () => {
    const s = await setup();
    await s.batch('a', { links: { state: async () => 'broken' } }).publishAll(input());
    expect(s.calls.needsLink).toEqual([{ path: 'team-a/rfe-1', reason: 'broken' }]);
    expect(s.w.jira.calls).toEqual([]);
    expect(s.calls.finished).toEqual([]);
  });
});
