import { describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import {
  MAX_TASKS,
  TASK_ID,
  parseTasks,
  splitTaskPath,
  taskDescription,
  taskPath,
  taskSummary,
  type PlanTask,
} from '../../src/publishing/tasks.ts';

/** A tasks.md as spec-kit's /tasks command writes it: 30 tasks, 5 of them done. */
const TASKS_MD = `# Tasks: Dark mode

**Input**: Design documents from \`/specs/001-dark-mode/\`
**Prerequisites**: plan.md (required), research.md, data-model.md

## Format: \`[ID] [P?] [Story] Description\`
- **[P]**: Can run in parallel (different files, no dependencies)
- **[Story]**: Which user story this task belongs to (e.g., US1, US2, US3)

<!--
  The tasks below replace these samples:
- [ ] T999 Sample task that must not be parsed
-->

## Phase 1: Setup (Shared Infrastructure)

- [x] T001 Create project structure per implementation plan
- [X] T002 Initialize Python project with FastAPI dependencies
- [ ] T003 [P] Configure linting and formatting tools

## Phase 2: Foundational (Blocking Prerequisites)

- [x] T004 Setup database schema and migrations framework
- [ ] T005 [P] Implement authentication/authorization framework
  - Use the existing OAuth client
  - [ ] T050 nested checklist item: a detail line, not a task
- [ ] T006 [P] Setup API routing and middleware structure
- [ ] T007 Create base models that all stories depend on
* [ ] T008 Configure error handling and logging infrastructure
+ [ ] T009 Setup environment configuration management

## Phase 3: User Story 1 - Browse themes (Priority: P1) 🎯 MVP

**Goal**: Users can browse the available themes

### Tests for User Story 1

- [X] T010 [P] [US1] Contract test for GET /themes in tests/contract/test_themes.py
- [ ] T011 [P] [US1] Integration test for browsing in tests/integration/test_browse.py

### Implementation for User Story 1

- [ ] T012 [P] [US1] Create the user model in src/models/user.py
- [ ] T013 [P] [US1] Create Theme model in src/models/theme.py
- [ ] **T014** [US1] Implement ThemeService in src/services/theme_service.py (depends on T012, T013)
- [ ] T015 [US1] Implement \`GET /themes\` endpoint in src/api/themes.py   
- [ ] T016 [US1] Add validation and error handling

**Checkpoint**: User Story 1 is functional on its own

## Phase 4: User Story 2 - Switch theme (Priority: P2)

- [ ] T017 [P] [US2] Contract test for PUT /preferences/theme
- [ ] T018 [US2] [P] Create Preference model in src/models/preference.py
- [ ] T019 [US2] Implement PreferenceService in src/services/preference_service.py
- [ ] T020 [US2] Implement PUT /preferences/theme endpoint
- [ ] T021 [US1] [US2] Integrate the theme switcher with the browse page

### Parallel Example: User Story 2

\`\`\`bash
# Launch the models together:
- [ ] T017 Contract test for PUT /preferences/theme
- [ ] T900 Fake task in an example block
\`\`\`

~~~markdown
- [ ] T901 Another fake task
~~~

## Phase N: Polish & Cross-Cutting Concerns

- [x] T022 [P] Documentation updates in docs/
- [ ] T023 Code cleanup and refactoring
- [ ] T024 Performance optimization across all stories
- [ ] T025 [P] Additional unit tests in tests/unit/
- [ ] T026 Security hardening
- [ ] T027 Run quickstart.md validation
- [ ] T028 [P] Update README with the theme switcher <!-- reviewer: keep short -->
- [ ] T029 Accessibility review of both themes
- [ ] T030 Release notes

## Dependencies & Execution Order

- Setup (T001-T003) before Foundational (T004-T009)
- T012 blocks T014
- T014 blocks T015
`;

const byId = (tasks: PlanTask[], id: string) => {
  const task = tasks.find((t) => t.id === id);
  if (!task) throw new Error(`no task ${id}`);
  return task;
};

const lineOf = (markdown: string, needle: string) => markdown.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('parseTasks on a spec-kit tasks.md', () => {
  const { tasks, duplicates } = parseTasks(TASKS_MD);

  it('finds the 30 tasks in document order, and nothing from comments, code blocks, details or notes', () => {
    expect(tasks.map((t) => t.id)).toEqual(Array.from({ length: 30 }, (_, i) => `T${String(i + 1).padStart(3, '0')}`));
    expect(duplicates).toEqual([]);
  });

  it('marks the done ones, [x] and [X] alike', () => {
    expect(tasks.filter((t) => t.done).map((t) => t.id)).toEqual(['T001', 'T002', 'T004', 'T010', 'T022']);
  });

  it('reads a task fully', () => {
    expect(byId(tasks, 'T012')).toEqual({
      id: 'T012',
      text: 'Create the user model in src/models/user.py',
      done: false,
      phase: 'Implementation for User Story 1',
      parallel: true,
      stories: ['US1'],
      line: lineOf(TASKS_MD, 'T012 [P]'),
    });
  });

  it('sets the phase from the nearest heading of any level', () => {
    expect(byId(tasks, 'T001').phase).toBe('Phase 1: Setup (Shared Infrastructure)');
    expect(byId(tasks, 'T009').phase).toBe('Phase 2: Foundational (Blocking Prerequisites)');
    expect(byId(tasks, 'T010').phase).toBe('Tests for User Story 1');
    expect(byId(tasks, 'T017').phase).toBe('Phase 4: User Story 2 - Switch theme (Priority: P2)');
    expect(byId(tasks, 'T030').phase).toBe('Phase N: Polish & Cross-Cutting Concerns');
  });

  it('reads markers in any order, bold IDs, other bullets, and keeps the text verbatim', () => {
    expect(byId(tasks, 'T018')).toMatchObject({
      parallel: true,
      stories: ['US2'],
      text: 'Create Preference model in src/models/preference.py',
    });
    expect(byId(tasks, 'T021')).toMatchObject({ parallel: false, stories: ['US1', 'US2'] });
    expect(byId(tasks, 'T014')).toMatchObject({
      stories: ['US1'],
      text: 'Implement ThemeService in src/services/theme_service.py (depends on T012, T013)',
    });
    expect(byId(tasks, 'T015').text).toBe('Implement `GET /themes` endpoint in src/api/themes.py');
    expect(byId(tasks, 'T008').text).toBe('Configure error handling and logging infrastructure');
    expect(byId(tasks, 'T009').text).toBe('Setup environment configuration management');
    expect(byId(tasks, 'T028').text).toBe('Update README with the theme switcher');
    expect(byId(tasks, 'T001')).toMatchObject({ parallel: false, stories: [] });
  });

  it('gives 1-based line numbers', () => {
    for (const task of tasks) expect(TASKS_MD.split('\n')[task.line - 1]).toContain(task.id);
    expect(byId(tasks, 'T001').line).toBe(lineOf(TASKS_MD, 'T001'));
  });

  it('reads the CRLF variant the same way', () => {
    expect(parseTasks(TASKS_MD.replace(/\n/g, '\r\n'))).toEqual({ tasks, duplicates });
  });
});

describe('parseTasks edge cases', () => {
  it('reports a duplicate ID once and keeps only its first occurrence', () => {
    const md = ['- [ ] T001 First', '- [ ] T002 Second', '- [x] T001 Again', '- [ ] t001 And again', '- [ ] T002 Twice'].join('\n');
    const { tasks, duplicates } = parseTasks(md);
    expect(tasks.map((t) => [t.id, t.text, t.done])).toEqual([
      ['T001', 'First', false],
      ['T002', 'Second', false],
    ]);
    expect(duplicates).toEqual(['T001', 'T002']);
  });

  it('ignores list items without a task ID or without a checkbox', () => {
    const md = [
      '- [ ] Write the docs',
      '- [ ] TODO T001 later',
      '- [ ] T1234567 too many digits',
      '- [ ] T12x not an ID',
      '- T008 blocks T009',
      '1. [ ] T003 ordered list',
      '-[ ] T004 no space after the bullet',
      '- [ ] T005 Real task',
    ].join('\n');
    expect(parseTasks(md).tasks.map((t) => t.id)).toEqual(['T005']);
  });

  it('accepts lower-case and short IDs, a colon after the ID, and no text', () => {
    const { tasks } = parseTasks('- [ ] t7 lower\n- [ ] T8: colon\n- [ ] **T9:** bold colon\n- [ ] T10\n');
    expect(tasks.map((t) => [t.id, t.text])).toEqual([
      ['T7', 'lower'],
      ['T8', 'colon'],
      ['T9', 'bold colon'],
      ['T10', ''],
    ]);
  });

  it('has no phase before the first heading, and strips heading decoration', () => {
    const md = '- [ ] T001 Early\n### **Phase 3.2: Tests First (TDD)** ###\n- [ ] T002 Later\n#NotAHeading\n- [ ] T003 Still 3.2\n';
    expect(parseTasks(md).tasks.map((t) => t.phase)).toEqual([undefined, 'Phase 3.2: Tests First (TDD)', 'Phase 3.2: Tests First (TDD)']);
  });

  it('treats headings in fenced blocks and comments as nothing', () => {
    const md = '## Real\n```\n## Fake\n```\n<!-- ## Also fake -->\n- [ ] T001 Task\n';
    expect(parseTasks(md).tasks[0]?.phase).toBe('Real');
  });

  it('keeps a fenced block open until a long enough closing fence, and an unclosed one hides the rest', () => {
    const md = '````\n```\n- [ ] T001 inside\n````\n- [ ] T002 outside\n~~~\n- [ ] T003 never closed\n';
    expect(parseTasks(md).tasks.map((t) => t.id)).toEqual(['T002']);
    expect(parseTasks('``` not a fence ```\n- [ ] T004 after inline code\n').tasks.map((t) => t.id)).toEqual(['T004']);
  });

  it('ends an HTML comment on a later line, and ignores tasks inside it', () => {
    const md = '<!-- start\n- [ ] T001 hidden\nend --> - [ ] T002 after\n- [ ] T003 <!-- a -->visible<!-- b --> text\n';
    const { tasks } = parseTasks(md);
    expect(tasks.map((t) => [t.id, t.text])).toEqual([
      ['T002', 'after'],
      ['T003', 'visible text'],
    ]);
  });

  it('treats items nested under a task as details, but tasks nested under a plain item as tasks', () => {
    const md = [
      '- [ ] T001 Parent',
      '',
      '    - [ ] T002 Detail',
      '\t- [ ] T003 Tab-indented detail',
      '- [ ] T004 Sibling',
      '- Group',
      '  - [ ] T005 Nested under a plain item',
      '  - [ ] T006 Its sibling',
      '    - [ ] T007 Detail of T006',
    ].join('\n');
    expect(parseTasks(md).tasks.map((t) => t.id)).toEqual(['T001', 'T004', 'T005', 'T006']);
  });

  it('keeps ordinary brackets and links after the ID in the text', () => {
    const { tasks } = parseTasks(
      [
        '- [ ] T001 [Docs] Update the guide',
        '- [ ] T002 [README](README.md) refresh',
        '- [ ] T003 [P] [Story 2] [Story-3] Do it',
        '- [ ] T004 [p] [us-4] [P] lower-case markers',
      ].join('\n'),
    );
    expect(tasks.map((t) => [t.text, t.parallel, t.stories])).toEqual([
      ['[Docs] Update the guide', false, []],
      ['[README](README.md) refresh', false, []],
      ['Do it', true, ['Story 2', 'Story-3']],
      ['lower-case markers', true, ['us-4']],
    ]);
  });

  it('replaces control, line-separator and bidi characters with spaces', () => {
    const { tasks } = parseTasks('# Ph\u202ease\u0007\n- [ ] T001 A\u0000B\u202eC\u2028D\u0085E\tF\rG\n');
    expect(tasks[0]).toMatchObject({ phase: 'Ph ase', text: 'A B C D E F G' });
  });

  it('ignores a byte-order mark and tolerates trailing spaces', () => {
    const { tasks } = parseTasks('\uFEFF- [x] T001 Done   \t\n');
    expect(tasks[0]).toMatchObject({ id: 'T001', done: true, text: 'Done', line: 1 });
  });

  it('stops after MAX_TASKS tasks', () => {
    const md = Array.from({ length: MAX_TASKS + 10 }, (_, i) => `- [ ] T${i + 1} Task ${i + 1}`).join('\n');
    const { tasks } = parseTasks(md);
    expect(tasks).toHaveLength(MAX_TASKS);
    expect(tasks.at(-1)?.id).toBe(`T${MAX_TASKS}`);
  });

  it('parses a 5 MB line of brackets', () => {
    const md = `- [ ] T1 ${'['.repeat(5_000_000)}\n- [ ] T2 [P] ${'[P'.repeat(1_000_000)}\n<!--${'<!--'.repeat(500_000)}\n`;
    const { tasks } = parseTasks(md);
    expect(tasks.map((t) => t.id)).toEqual(['T1', 'T2']);
    expect(tasks[0]?.text).toHaveLength(5_000_000);
  });

  it('parses pathological repetitions of every construct', () => {
    const md = [
      '#'.repeat(100_000),
      `## ${'#'.repeat(100_000)} x`,
      '- [ ] T3 ' + '] ['.repeat(200_000),
      '- [ ] **'.repeat(100_000),
      '- [ ] T4 ' + '[US1] '.repeat(100_000),
      '`'.repeat(100_000),
      '- [ ] T5 hidden by the unclosed fence above',
    ].join('\n');
    const { tasks } = parseTasks(md);
    expect(tasks.map((t) => [t.id, t.phase?.length, t.stories])).toEqual([
      ['T3', 200, []],
      ['T4', 200, ['US1']],
    ]);
  });
});

const task = (overrides: Partial<PlanTask> = {}): PlanTask => ({
  id: 'T012',
  text: 'Create the user model in src/models/user.py',
  done: false,
  phase: 'Phase 3.2: Tests First (TDD)',
  parallel: true,
  stories: ['US1'],
  line: 42,
  ...overrides,
});

describe('taskSummary', () => {
  it('is the ID and the text, whitespace collapsed', () => {
    expect(taskSummary(task({ text: '  Create   the\tuser model ' }))).toBe('T012 Create the user model');
    expect(taskSummary(task({ text: '' }))).toBe('T012');
  });

  it('is at most 255 characters', () => {
    const summary = taskSummary(task({ text: 'x'.repeat(1_000) }));
    expect(summary).toHaveLength(255);
    expect(summary).toBe(`T012 ${'x'.repeat(249)}…`);
    expect(taskSummary(task({ text: 'x'.repeat(250) }))).toHaveLength(255);
    expect(taskSummary(task({ text: 'x'.repeat(250) })).endsWith('x')).toBe(true);
  });

  it('does not split a surrogate pair when clipping', () => {
    const summary = taskSummary(task({ text: `${'x'.repeat(248)}😀😀😀` }));
    expect(summary).toBe(`T012 ${'x'.repeat(248)}…`);
  });
});

describe('taskDescription', () => {
  const blob = 'https://github.com/acme/app/blob/001-dark-mode/specs/001-dark-mode/tasks.md';

  it('links the task line of a GitHub blob URL', () => {
    expect(taskDescription(task(), blob)).toBe(
      `**Source:** ${blob}#L42\n\n` +
        '**Task:** T012 Create the user model in src/models/user.py\n' +
        '**Phase:** Phase 3.2: Tests First (TDD)\n' +
        '**Parallel:** yes — can run alongside other [P] tasks\n' +
        '**User story:** US1\n',
    );
  });

  it('leaves other URLs, and URLs with a fragment, unchanged', () => {
    const raw = 'https://raw.githubusercontent.com/acme/app/001/specs/tasks.md';
    expect(taskDescription(task(), raw)).toContain(`**Source:** ${raw}\n\n`);
    expect(taskDescription(task(), `${blob}#L7`)).toContain(`**Source:** ${blob}#L7\n\n`);
    expect(taskDescription(task(), 'not a url /blob/ x')).toContain('**Source:** not a url /blob/ x\n\n');
    expect(taskDescription(task(), 'https://vteam.example.com/projects/p/rfe/tasks.md?blob=/blob/')).not.toContain('#L');
  });

  it('omits the lines that do not apply', () => {
    expect(taskDescription(task({ phase: undefined, parallel: false, stories: [] }), blob)).toBe(
      `**Source:** ${blob}#L42\n\n**Task:** T012 Create the user model in src/models/user.py\n`,
    );
    expect(taskDescription(task({ stories: ['US1', 'US2'] }), blob)).toContain('**User stories:** US1, US2\n');
  });

  it('is bounded', () => {
    const description = taskDescription(task({ text: 'y'.repeat(100_000), phase: 'p'.repeat(10_000) }), blob);
    expect(description.length).toBeLessThanOrEqual(32_000);
    expect(description).toContain('**Parallel:** yes');
  });
});

describe('taskPath and splitTaskPath', () => {
  it('round-trips', () => {
    const path = taskPath('specs/001-dark-mode/tasks.md', 'T012');
    expect(path).toBe('specs/001-dark-mode/tasks.md#T012');
    expect(splitTaskPath(path)).toEqual({ documentPath: 'specs/001-dark-mode/tasks.md', taskId: 'T012' });
    expect(taskPath('tasks.md', 't7')).toBe('tasks.md#T7');
  });

  it('refuses a task ID that is not one', () => {
    for (const id of ['', 'X1', 'T', 'T1234567', 'T1#x', '../x']) {
      expect(() => taskPath('tasks.md', id)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
    try {
      taskPath('tasks.md', 'nope');
    } catch (error) {
      expect(isVteamError(error, 'BAD_REQUEST')).toBe(true);
    }
  });

  it.each([
    'tasks.md#../x',
    'tasks.md#',
    'spec.md',
    '#T1',
    'tasks.md#t1',
    'tasks.md#T1234567',
    'tasks.md#T1 ',
    'tasks.md#T1#T2',
    'tasks.txt#T1',
    '../tasks.md#T1',
    '/etc/tasks.md#T1',
    'specs//tasks.md#T1',
    'specs/%2e%2e/tasks.md#T1',
    'rfe.md#T1',
    'specs/tasks.md\n#T1',
  ])('rejects %j', (path) => {
    expect(splitTaskPath(path)).toBeUndefined();
  });

  it('exports the task ID pattern', () => {
    expect(TASK_ID.test('T001')).toBe(true);
    expect(TASK_ID.test('T1234567')).toBe(false);
    expect(TASK_ID.test('t1')).toBe(false);
  });
});
