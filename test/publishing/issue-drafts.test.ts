/**
 * What Jira issue a document or a task becomes: its type, summary, description and parent, in the
 * flat placement of a single publish and in the workflow's hierarchy (Publish all, task issues).
 */
import { describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import {
  createIssueDrafts,
  documentDraft,
  isSubtaskType,
  taskDraft,
  taskPlacement,
  validatePublishPath,
} from '../../src/publishing/issue-drafts.ts';
import type { DocumentContent, JiraLink, JiraSettings, Workflow } from '../../src/publishing/model.ts';
import { phaseOf } from '../../src/publishing/paths.ts';
import { parseTasks, type PlanTask } from '../../src/publishing/tasks.ts';

const SPEC = 'specs/001-x/spec.md';
const PLAN = 'specs/001-x/plan.md';
const TASKS = 'specs/001-x/tasks.md';

const settings = (issueTypes: Record<string, string> = {}): JiraSettings => ({
  siteUrl: 'https://acme.atlassian.net',
  projectKey: 'PROJ',
  issueTypes: { default: 'Story', ...issueTypes },
  source: 'annotations',
  secretName: 's',
});

const workflow = (jiraLinks: JiraLink[] = [], parentOutcome: string | null = 'OUT-7'): Workflow => ({
  namespace: 'team-a',
  name: 'rfe-1',
  title: 'Dark mode',
  description: '',
  parentOutcome: parentOutcome ?? undefined,
  jiraLinks,
  resourceVersion: '1',
});

const TASKS_MD = `# Tasks: Dark mode

## Phase 3: User Story 1 - Browse (Priority: P1)

- [ ] T011 Write the contract test
- [ ] T012 [P] [US1] Create the user model in src/models/user.py
- [x] T013 Done already
`;

const doc = (path: string, markdown = `# ${path}`): DocumentContent => ({
  path,
  phase: phaseOf(path),
  markdown,
  sourceUrl: `https://github.com/o/r/blob/feature/${path}`,
});

const task = (id: string): PlanTask => {
  const found = parseTasks(TASKS_MD).tasks.find((t) => t.id === id);
  if (!found) throw new Error(`no task ${id}`);
  return found;
};

const errorOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
};

describe('documentDraft: Publish all places the documents in a hierarchy', () => {
  it('makes the spec an Epic under the workflow parent outcome', () => {
    const draft = documentDraft(workflow(), settings(), doc(SPEC), { hierarchy: true });
    expect(draft).toMatchObject({ issueType: 'Epic', parentKey: 'OUT-7', summary: '[RFE] Dark mode - specify' });
    expect(draft.description).toContain(`**Source:** https://github.com/o/r/blob/feature/${SPEC}`);
  });

  it("takes the spec's type from the project's `epic` issue type, and an explicit type over both", () => {
    expect(documentDraft(workflow(), settings({ epic: 'Initiative' }), doc(SPEC), { hierarchy: true }).issueType).toBe('Initiative');
    expect(
      documentDraft(workflow(), settings({ epic: 'Initiative' }), doc(SPEC), { hierarchy: true, issueType: ' Feature ' }).issueType,
    ).toBe('Feature');
  });

  it('has no parent for the spec when the parent outcome is missing or not an issue key', () => {
    expect(documentDraft(workflow([], null), settings(), doc(SPEC), { hierarchy: true }).parentKey).toBeUndefined();
    expect(documentDraft(workflow([], 'see the doc'), settings(), doc(SPEC), { hierarchy: true }).parentKey).toBeUndefined();
  });

  it("places plan and tasks under the spec's issue, with their phase's type", () => {
    const w = workflow([{ path: SPEC, jiraKey: 'PROJ-1' }]);
    const plan = documentDraft(w, settings({ plan: 'Task' }), doc(PLAN), { hierarchy: true });
    expect(plan).toMatchObject({ issueType: 'Task', parentKey: 'PROJ-1', summary: '[RFE] Dark mode - plan' });
    expect(documentDraft(w, settings(), doc(TASKS), { hierarchy: true })).toMatchObject({ issueType: 'Story', parentKey: 'PROJ-1' });
  });

  it('prefers the spec beside the document to a spec elsewhere in the workflow', () => {
    const w = workflow([
      { path: 'specs/000-other/spec.md', jiraKey: 'PROJ-9' },
      { path: SPEC, jiraKey: 'PROJ-1' },
    ]);
    expect(documentDraft(w, settings(), doc(PLAN), { hierarchy: true }).parentKey).toBe('PROJ-1');
    const elsewhere = workflow([{ path: 'specs/000-other/spec.md', jiraKey: 'PROJ-9' }]);
    expect(documentDraft(elsewhere, settings(), doc(PLAN), { hierarchy: true }).parentKey).toBe('PROJ-9');
  });

  it("never takes a task's issue for the spec's", () => {
    const w = workflow([{ path: `${TASKS}#T012`, jiraKey: 'PROJ-5' }]);
    expect(documentDraft(w, settings(), doc(PLAN), { hierarchy: true }).parentKey).toBe('OUT-7');
  });

  it('falls back to the parent outcome for a child whose spec is not published yet', () => {
    expect(documentDraft(workflow(), settings(), doc(PLAN), { hierarchy: true }).parentKey).toBe('OUT-7');
  });
});

describe('documentDraft: a single publish keeps the flat placement', () => {
  it('puts every document under the parent outcome, with its phase type', () => {
    const w = workflow([{ path: SPEC, jiraKey: 'PROJ-1' }]);
    const s = settings({ specify: 'Feature', epic: 'Epic' });
    expect(documentDraft(w, s, doc(SPEC), {})).toMatchObject({ issueType: 'Feature', parentKey: 'OUT-7' });
    expect(documentDraft(w, s, doc(PLAN), {})).toMatchObject({ issueType: 'Story', parentKey: 'OUT-7' });
    expect(documentDraft(w, s, doc(PLAN), { hierarchy: false, issueType: 'Bug' })).toMatchObject({ issueType: 'Bug', parentKey: 'OUT-7' });
  });
});

describe('taskPlacement', () => {
  const linked = workflow([
    { path: SPEC, jiraKey: 'PROJ-1' },
    { path: TASKS, jiraKey: 'PROJ-3' },
  ]);

  it("puts tasks under the spec's Epic as Tasks by default", () => {
    expect(taskPlacement(linked, settings(), TASKS)).toEqual({ issueType: 'Task', under: 'epic', parentKey: 'PROJ-1' });
  });

  it("uses the project's `task-item` type, and an explicit type over it", () => {
    expect(taskPlacement(linked, settings({ 'task-item': 'Story' }), TASKS)).toMatchObject({ issueType: 'Story', under: 'epic' });
    expect(taskPlacement(linked, settings({ 'task-item': 'Story' }), TASKS, ' Bug ')).toMatchObject({ issueType: 'Bug', under: 'epic' });
  });

  it("puts Sub-tasks under the tasks document's own issue (a Task cannot parent a Task)", () => {
    expect(taskPlacement(linked, settings({ 'task-item': 'Sub-task' }), TASKS)).toEqual({
      issueType: 'Sub-task',
      under: 'document',
      parentKey: 'PROJ-3',
    });
    expect(taskPlacement(linked, settings(), TASKS, 'Subtask')).toEqual({ issueType: 'Subtask', under: 'document', parentKey: 'PROJ-3' });
  });

  it('has no parent yet for Sub-tasks of an unpublished tasks document, and none for Tasks without a spec issue', () => {
    const specOnly = workflow([{ path: SPEC, jiraKey: 'PROJ-1' }]);
    expect(taskPlacement(specOnly, settings({ 'task-item': 'Sub-task' }), TASKS)).toEqual({ issueType: 'Sub-task', under: 'document' });
    expect(taskPlacement(workflow(), settings(), TASKS)).toEqual({ issueType: 'Task', under: 'none' });
  });

  it('recognises the sub-task types Jira uses', () => {
    expect(['Sub-task', 'Subtask', 'sub-task', 'Dev Sub-task'].every(isSubtaskType)).toBe(true);
    expect(['Task', 'Story', 'Epic', 'Substance'].some(isSubtaskType)).toBe(false);
  });
});

describe('taskDraft', () => {
  const w = workflow([{ path: SPEC, jiraKey: 'PROJ-1' }]);
  const tasksDoc = doc(TASKS, TASKS_MD);

  it('keeps the task ID in the summary', () => {
    expect(taskDraft(w, settings(), tasksDoc, task('T012')).summary).toBe('T012 Create the user model in src/models/user.py');
  });

  it('describes the task: Source link to its line, task, phase, parallel marker and story', () => {
    const t = task('T012');
    const { description } = taskDraft(w, settings(), tasksDoc, t);
    expect(t.line).toBe(6);
    expect(description).toContain(`**Source:** https://github.com/o/r/blob/feature/${TASKS}#L6`);
    expect(description).toContain('**Task:** T012 Create the user model in src/models/user.py');
    expect(description).toContain('**Phase:** Phase 3: User Story 1 - Browse (Priority: P1)');
    expect(description).toContain('**Parallel:** yes');
    expect(description).toContain('**User story:** US1');
  });

  it('omits the markers a task does not have', () => {
    const { description } = taskDraft(w, settings(), tasksDoc, task('T011'));
    expect(description).not.toContain('**Parallel:**');
    expect(description).not.toContain('**User stor');
  });

  it("places the task under the spec's Epic", () => {
    expect(taskDraft(w, settings(), tasksDoc, task('T012'))).toMatchObject({ issueType: 'Task', parentKey: 'PROJ-1' });
  });

  it("places a Sub-task under the tasks document's issue", () => {
    const withDoc = workflow([...w.jiraLinks, { path: TASKS, jiraKey: 'PROJ-3' }]);
    expect(taskDraft(withDoc, settings({ 'task-item': 'Sub-task' }), tasksDoc, task('T012'))).toMatchObject({
      issueType: 'Sub-task',
      parentKey: 'PROJ-3',
    });
  });

  it('refuses Sub-tasks whose parent, the tasks document, has no issue yet, naming it', () => {
    const error = errorOf(() => taskDraft(w, settings({ 'task-item': 'Sub-task' }), tasksDoc, task('T012')));
    expect(isVteamError(error, 'BAD_REQUEST')).toBe(true);
    expect((error as Error).message).toContain(TASKS);
  });
});

describe('validatePublishPath', () => {
  it('accepts document paths and task paths', () => {
    expect(validatePublishPath(`${TASKS}#T012`)).toBe(`${TASKS}#T012`);
    expect(validatePublishPath(` ${TASKS}#T012 `)).toBe(`${TASKS}#T012`);
    expect(validatePublishPath(SPEC)).toBe(SPEC);
    expect(validatePublishPath(`./${SPEC}`)).toBe(SPEC);
  });

  it('normalises the document part of a task path as it does a document path', () => {
    expect(validatePublishPath(`./${TASKS}#T012`)).toBe(`${TASKS}#T012`);
  });

  it.each(['../x.md#T1', 'tasks.md#../../etc', 'specs/../../etc/passwd.md#T1', '/etc/x.md#T1', '%2e%2e/x.md#T1'])(
    'refuses %s as outside the workspace',
    (path) => {
      expect(
        isVteamError(
          errorOf(() => validatePublishPath(path)),
          'PATH_OUTSIDE_WORKSPACE',
        ),
      ).toBe(true);
    },
  );

  it('refuses a fragment that is not a task ID', () => {
    expect(
      isVteamError(
        errorOf(() => validatePublishPath(`${TASKS}#intro`)),
        'NOT_MARKDOWN',
      ),
    ).toBe(true);
  });
});

describe('createIssueDrafts', () => {
  const w = workflow([{ path: SPEC, jiraKey: 'PROJ-1' }]);
  const source = (markdown: string) => {
    const reads: string[] = [];
    return { reads, read: async (_w: Workflow, path: string) => (reads.push(path), doc(path, markdown)) };
  };

  it('drafts a task from the document it reads', async () => {
    const documents = source(TASKS_MD);
    const draft = await createIssueDrafts(documents)(w, { path: `${TASKS}#T012` }, settings());
    expect(draft).toMatchObject({ summary: 'T012 Create the user model in src/models/user.py', parentKey: 'PROJ-1' });
    expect(documents.reads).toEqual([TASKS]);
  });

  it('uses the document the caller read already instead of reading it again', async () => {
    const documents = source('');
    const draft = await createIssueDrafts(documents)(w, { path: `${TASKS}#T011` }, settings(), doc(TASKS, TASKS_MD));
    expect(draft.summary).toBe('T011 Write the contract test');
    expect(documents.reads).toEqual([]);
  });

  it('drafts a document in the hierarchy when asked', async () => {
    const draft = await createIssueDrafts(source('# Plan'))(w, { path: PLAN, hierarchy: true }, settings());
    expect(draft).toMatchObject({ summary: '[RFE] Dark mode - plan', parentKey: 'PROJ-1' });
  });

  it('throws TASK_NOT_FOUND when the task is no longer in the document', async () => {
    const draft = createIssueDrafts(source(TASKS_MD.replace('- [ ] T012', '- [ ] T099')));
    const error = await draft(w, { path: `${TASKS}#T012` }, settings()).catch((e: unknown) => e);
    expect(isVteamError(error, 'TASK_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toContain('T012');
  });
});
