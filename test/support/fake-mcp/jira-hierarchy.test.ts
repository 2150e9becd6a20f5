/** The fake Jira enforces Jira Cloud's issue hierarchy on create and on a change of parent. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMcp } from './index.ts';
import type { FakeDialect, FakeMcp } from './index.ts';
import { FakeJira, JiraError, SUBTASK_NEEDS_PARENT, SUBTASK_OTHER_PROJECT, WRONG_HIERARCHY, hierarchyLevel } from './jira.ts';
import type { CreateInput, ProjectInput } from './jira.ts';

const SITE = 'https://acme.atlassian.net';

function world(projects: Omit<ProjectInput, 'site'>[] = [{ key: 'PROJ' }, { key: 'OTHER' }]) {
  const jira = new FakeJira();
  const site = jira.addSite({ url: SITE });
  for (const project of projects) jira.addProject({ site: SITE, ...project });
  const token = jira.addToken({ token: 't', sites: [SITE] });
  const create = (input: Partial<CreateInput> & Pick<CreateInput, 'issueType'>) =>
    jira.create(token, site, { projectKey: 'PROJ', summary: `${input.issueType} summary`, ...input });
  return { jira, site, create };
}

describe('FakeJira issue hierarchy', () => {
  it('allows Epic ← Task ← Sub-task, the parent given as an argument or in fields, and records each level', () => {
    const { jira, create } = world();
    const epic = create({ issueType: 'Epic' });
    const task = create({ issueType: 'Task', parent: epic.key });
    const story = create({ issueType: 'story', fields: { parent: { key: epic.key } } });
    const subtask = create({ issueType: 'Sub-task', parent: task.key });
    const subtask2 = create({ issueType: 'sub-task', fields: { parent: story.key } });

    expect([epic, task, story, subtask, subtask2].map((i) => [i.key, i.issueType, i.hierarchyLevel, i.parent])).toEqual([
      ['PROJ-1', 'Epic', 1, undefined],
      ['PROJ-2', 'Task', 0, 'PROJ-1'],
      ['PROJ-3', 'Story', 0, 'PROJ-1'],
      ['PROJ-4', 'Sub-task', -1, 'PROJ-2'],
      ['PROJ-5', 'Sub-task', -1, 'PROJ-3'],
    ]);
    expect(jira.issues).toHaveLength(5);
  });

  it('knows the self-hosted spelling `Subtask` as a sub-task type', () => {
    const { create } = world([{ key: 'PROJ', issueTypes: ['Epic', 'Task', 'Subtask'] }]);
    const task = create({ issueType: 'Task' });
    expect(create({ issueType: 'Subtask', parent: task.key }).hierarchyLevel).toBe(-1);
    expect(() => create({ issueType: 'Subtask' })).toThrow(SUBTASK_NEEDS_PARENT);
  });

  it('refuses a parent of the same level: Task under Task, Epic under Epic', () => {
    const { jira, create } = world();
    const task = create({ issueType: 'Task' });
    const epic = create({ issueType: 'Epic' });
    expect(() => create({ issueType: 'Task', parent: task.key })).toThrow(new JiraError(WRONG_HIERARCHY));
    expect(() => create({ issueType: 'Epic', parent: epic.key })).toThrow(WRONG_HIERARCHY);
    expect(jira.issues).toHaveLength(2);
  });

  it('refuses an Epic or a standard issue under a sub-task, and anything under a level it skips', () => {
    const { create } = world();
    const epic = create({ issueType: 'Epic' });
    const task = create({ issueType: 'Task', parent: epic.key });
    const subtask = create({ issueType: 'Sub-task', parent: task.key });
    expect(() => create({ issueType: 'Task', parent: subtask.key })).toThrow(WRONG_HIERARCHY);
    expect(() => create({ issueType: 'Sub-task', parent: subtask.key })).toThrow(WRONG_HIERARCHY);
    expect(() => create({ issueType: 'Epic', parent: task.key })).toThrow(WRONG_HIERARCHY);
  });

  it('refuses a sub-task without a parent', () => {
    const { jira, create } = world();
    expect(() => create({ issueType: 'Sub-task' })).toThrow(new JiraError(SUBTASK_NEEDS_PARENT));
    expect(jira.issues).toEqual([]);
  });

  it('refuses a sub-task under an Epic', () => {
    const { create } = world();
    const epic = create({ issueType: 'Epic' });
    expect(() => create({ issueType: 'Sub-task', parent: epic.key })).toThrow(WRONG_HIERARCHY);
  });

  it("refuses a sub-task whose parent is in another project, but lets a standard issue join another project's Epic", () => {
    const { create } = world();
    const otherTask = create({ projectKey: 'OTHER', issueType: 'Task' });
    const otherEpic = create({ projectKey: 'OTHER', issueType: 'Epic' });
    expect(() => create({ issueType: 'Sub-task', parent: otherTask.key })).toThrow(new JiraError(SUBTASK_OTHER_PROJECT));
    expect(create({ issueType: 'Task', parent: otherEpic.key })).toMatchObject({ projectKey: 'PROJ', parent: otherEpic.key });
  });

  it('still refuses an unknown parent', () => {
    const { create } = world();
    expect(() => create({ issueType: 'Task', parent: 'PROJ-99' })).toThrow('Could not find issue by id or key: PROJ-99');
  });

  it('applies the rules when an edit changes the parent, and not when it leaves it alone', () => {
    const { jira, site, create } = world();
    const epic = create({ issueType: 'Epic' });
    const epic2 = create({ issueType: 'Epic' });
    const task = create({ issueType: 'Task', parent: epic.key });
    const other = create({ issueType: 'Task' });
    const subtask = create({ issueType: 'Sub-task', parent: task.key });

    expect(jira.edit(site, task.key, { parent: { key: epic2.key } }).parent).toBe(epic2.key);
    expect(jira.edit(site, subtask.key, { parent: other.key }).parent).toBe(other.key);
    expect(jira.edit(site, subtask.key, { summary: 'renamed', parent: other.key }).summary).toBe('renamed');
    expect(() => jira.edit(site, task.key, { parent: other.key })).toThrow(WRONG_HIERARCHY);
    expect(() => jira.edit(site, subtask.key, { parent: epic.key })).toThrow(WRONG_HIERARCHY);
    expect(() => jira.edit(site, task.key, { parent: task.key })).toThrow(WRONG_HIERARCHY);
    expect(() => jira.edit(site, task.key, { parent: 'PROJ-99' })).toThrow('Could not find issue by id or key: PROJ-99');
    expect(jira.find(site, task.key)?.parent).toBe(epic2.key);
  });

  it('takes custom levels from the project: Initiative (2) ← Feature (1) ← Story; a custom sub-task type at -1', () => {
    const { jira, create } = world([{ key: 'PROJ', hierarchy: { Initiative: 2, Feature: 1, 'Story Defect': -1 } }, { key: 'OTHER' }]);
    expect(jira.projects[0]?.issueTypes).toEqual(['Epic', 'Story', 'Task', 'Bug', 'Sub-task', 'Initiative', 'Feature', 'Story Defect']);
    const initiative = create({ issueType: 'Initiative' });
    const feature = create({ issueType: 'Feature', parent: initiative.key });
    const epic = create({ issueType: 'Epic', parent: initiative.key });
    const story = create({ issueType: 'Story', parent: feature.key });
    expect(create({ issueType: 'Story Defect', parent: story.key }).hierarchyLevel).toBe(-1);
    expect([initiative, feature, epic, story].map((i) => i.hierarchyLevel)).toEqual([2, 1, 1, 0]);
    expect(() => create({ issueType: 'Story', parent: initiative.key })).toThrow(WRONG_HIERARCHY);
    expect(() => create({ issueType: 'Feature', parent: epic.key })).toThrow(WRONG_HIERARCHY);
    expect(() => create({ issueType: 'Story Defect' })).toThrow(SUBTASK_NEEDS_PARENT);
    // Another project keeps the defaults.
    expect(hierarchyLevel(jira.projects[1]!, 'Feature')).toBe(0);
  });

  it('lets a project re-level a default type', () => {
    const { create } = world([{ key: 'PROJ', hierarchy: { epic: 2 } }]);
    const epic = create({ issueType: 'Epic' });
    expect(epic.hierarchyLevel).toBe(2);
    expect(() => create({ issueType: 'Task', parent: epic.key })).toThrow(WRONG_HIERARCHY);
  });

  it('rejectCreate refuses the creates it names with its message, after the built-in checks, and creates nothing', () => {
    const { jira, create } = world();
    const seen: CreateInput[] = [];
    jira.rejectCreate = (input) => {
      seen.push(input);
      return input.summary.startsWith('T017') ? 'Team is required.' : undefined;
    };
    const epic = create({ issueType: 'Epic' });
    expect(() => create({ issueType: 'Task', summary: 'T017 Write the docs', fields: { parent: epic.key } })).toThrow(
      new JiraError('Team is required.'),
    );
    expect(create({ issueType: 'Task', summary: 'T018 Ship it', parent: epic.key }).key).toBe('PROJ-2');
    // The hierarchy is checked first: the hook never sees a create Jira would refuse anyway.
    expect(() => create({ issueType: 'Sub-task', summary: 'T017 orphan' })).toThrow(SUBTASK_NEEDS_PARENT);
    expect(seen.map((input) => [input.summary, input.parent])).toEqual([
      ['Epic summary', undefined],
      ['T017 Write the docs', 'PROJ-1'],
      ['T018 Ship it', 'PROJ-1'],
    ]);
    expect(jira.issues.map((i) => i.key)).toEqual(['PROJ-1', 'PROJ-2']);
    jira.rejectCreate = undefined;
    expect(create({ issueType: 'Task', summary: 'T017 Write the docs' }).key).toBe('PROJ-3');
  });
});

describe('the hierarchy over the MCP dialects', () => {
  const fakes: FakeMcp[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const fake of fakes.splice(0)) await fake.close();
  });

  async function connect(dialect: FakeDialect) {
    const fake = await startFakeMcp({
      dialect,
      sites: [{ id: 'cloud-acme', url: SITE }],
      projects: [
        { site: SITE, key: 'PROJ', issueTypes: ['Epic', 'Task', 'Sub-task', 'Subtask', 'Initiative'], hierarchy: { Initiative: 2 } },
      ],
      tokens: [{ token: 'alice', sites: [SITE] }],
    });
    fakes.push(fake);
    const client = new Client({ name: 'test', version: '1.0.0' });
    const headers: Record<string, string> = { authorization: 'Bearer alice', 'x-atlassian-cloud-id': 'cloud-acme' };
    await client.connect(new StreamableHTTPClientTransport(new URL(fake.url), { requestInit: { headers } }));
    clients.push(client);
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      return { text: (result.content as { text: string }[])[0]?.text ?? '', isError: result.isError === true };
    };
    return { fake, call };
  }

  it.each(['rovo-v1', 'rovo-v2'] as const)(
    '%s reports subtask and hierarchyLevel per issue type, and refuses as Jira does',
    async (dialect) => {
      const { fake, call } = await connect(dialect);
      const types =
        dialect === 'rovo-v1'
          ? await call('getJiraProjectIssueTypesMetadata', { cloudId: 'cloud-acme', projectIdOrKey: 'PROJ' })
          : await call('executeRead', {
              name: 'listJiraProjectIssueTypesMetadata',
              cloudId: 'cloud-acme',
              inputs: { projectIdOrKey: 'PROJ' },
            });
      expect((JSON.parse(types.text) as { issueTypes: unknown[] }).issueTypes).toEqual([
        { id: '10000', name: 'Epic', subtask: false, hierarchyLevel: 1 },
        { id: '10001', name: 'Task', subtask: false, hierarchyLevel: 0 },
        { id: '10002', name: 'Sub-task', subtask: true, hierarchyLevel: -1 },
        { id: '10003', name: 'Subtask', subtask: true, hierarchyLevel: -1 },
        { id: '10004', name: 'Initiative', subtask: false, hierarchyLevel: 2 },
      ]);
      const typeArg = dialect === 'rovo-v1' ? 'issueTypeName' : 'issueType';
      const task = fake.jira.create(fake.jira.validToken('alice')!, fake.jira.siteFor(SITE)!, {
        projectKey: 'PROJ',
        issueType: 'Task',
        summary: 't',
      });
      const refused = await call('createJiraIssue', {
        cloudId: 'cloud-acme',
        projectKey: 'PROJ',
        [typeArg]: 'Task',
        summary: 's',
        parent: task.key,
      });
      expect(JSON.parse(refused.text)).toEqual({ error: true, message: WRONG_HIERARCHY });
      expect(fake.issues()).toHaveLength(1);
    },
  );

  it('self-hosted reports subtask by level and wraps the refusal as a tool error', async () => {
    const { fake, call } = await connect('self-hosted');
    const types = await call('jira_get_project_issue_types', { project_key: 'PROJ' });
    expect((JSON.parse(types.text) as { name: string; subtask: boolean }[]).map((t) => [t.name, t.subtask])).toEqual([
      ['Epic', false],
      ['Task', false],
      ['Sub-task', true],
      ['Subtask', true],
      ['Initiative', false],
    ]);
    const refused = await call('jira_create_issue', { project_key: 'PROJ', summary: 's', issue_type: 'Subtask' });
    expect(refused).toEqual({ isError: true, text: `Error calling tool 'create_issue': ${SUBTASK_NEEDS_PARENT}` });
    expect(fake.issues()).toEqual([]);
  });
});
