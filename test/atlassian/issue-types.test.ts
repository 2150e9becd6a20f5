import { afterEach, describe, expect, it } from 'vitest';
import { createGuardedJiraGateway } from '../../src/atlassian/guarded-gateway.ts';
import { createMcpJiraGateway } from '../../src/atlassian/jira-gateway.ts';
import type { McpJiraGateway } from '../../src/atlassian/jira-gateway.ts';
import { readIssueTypes } from '../../src/atlassian/results.ts';
import type { SlackUserRef } from '../../src/publishing/model.ts';
import { createStore } from '../../src/storage/store.ts';
import { startFakeMcp } from '../support/fake-mcp/index.ts';
import type { FakeDialect, FakeMcp, FakeMcpOptions } from '../support/fake-mcp/index.ts';

const SITE = 'https://acme.atlassian.net';
const ALICE: SlackUserRef = { teamId: 'T1', userId: 'U-ALICE' };
const TOKEN = 'alice-access-token-0123456789';
const OPERATION: Record<FakeDialect, { tool: string; operation: string }> = {
  'rovo-v1': { tool: 'getJiraProjectIssueTypesMetadata', operation: 'getJiraProjectIssueTypesMetadata' },
  'rovo-v2': { tool: 'executeRead', operation: 'listJiraProjectIssueTypesMetadata' },
  'self-hosted': { tool: 'jira_get_project_issue_types', operation: 'jira_get_project_issue_types' },
};

const open: { fake: FakeMcp; gateway: McpJiraGateway }[] = [];
afterEach(async () => {
  for (const { fake, gateway } of open.splice(0)) {
    await gateway.close();
    await fake.close();
  }
});

async function setup(dialect: FakeDialect, options: Partial<FakeMcpOptions> = {}) {
  const fake = await startFakeMcp({ dialect, ...options });
  const site = fake.addSite({ url: SITE, name: 'acme' });
  fake.addProject({ site: site.id, key: 'RFE', issueTypes: ['Epic', 'Story', 'Task', 'Sub-task'] });
  fake.addToken({ token: TOKEN, sites: [site.id] });
  const gateway = createMcpJiraGateway({
    mcpUrl: fake.url,
    credentials: { current: async () => ({ accessToken: TOKEN, ...(dialect === 'self-hosted' ? { cloudId: site.id } : {}) }) },
  });
  open.push({ fake, gateway });
  return { fake, gateway, cloudId: site.id };
}

describe.each<FakeDialect>(['rovo-v1', 'rovo-v2', 'self-hosted'])('listIssueTypes against %s', (dialect) => {
  it('lists the project’s issue types, without sub-task types, through the dialect’s tool', async () => {
    const { fake, gateway, cloudId } = await setup(dialect);
    expect(await gateway.listIssueTypes(ALICE, { siteUrl: SITE, projectKey: 'RFE' })).toEqual(['Epic', 'Story', 'Task']);

    const [call] = fake.toolCalls(OPERATION[dialect].operation);
    expect(call?.name).toBe(OPERATION[dialect].tool);
    if (dialect === 'rovo-v1') expect(call?.arguments).toMatchObject({ cloudId, projectIdOrKey: 'RFE' });
    if (dialect === 'rovo-v2') expect(call?.arguments).toMatchObject({ cloudId, inputs: { projectIdOrKey: 'RFE' } });
    if (dialect === 'self-hosted') expect(call?.arguments).toEqual({ project_key: 'RFE' });
  });

  it('reports an unknown project in Jira’s words', async () => {
    const { gateway } = await setup(dialect);
    await expect(gateway.listIssueTypes(ALICE, { siteUrl: SITE, projectKey: 'NOPE' })).rejects.toMatchObject({ code: 'JIRA_REJECTED' });
  });
});

describe('listIssueTypes', () => {
  it('answers an empty list when the self-hosted server lacks the jira_projects toolset', async () => {
    const { fake, gateway } = await setup('self-hosted', { projectsToolset: false });
    expect(await gateway.listIssueTypes(ALICE, { siteUrl: SITE, projectKey: 'RFE' })).toEqual([]);
    expect(fake.toolCalls()).toHaveLength(0);
  });

  it('goes through the rate limiter when guarded', async () => {
    const { gateway } = await setup('rovo-v1');
    const store = await createStore('sqlite::memory:');
    const guarded = createGuardedJiraGateway(gateway, { store, concurrency: 1, hourlyBudget: 10, maxWaitMs: 1_000 });
    try {
      expect(await guarded.listIssueTypes(ALICE, { siteUrl: SITE, projectKey: 'RFE' })).toEqual(['Epic', 'Story', 'Task']);
      expect((await guarded.status(SITE)).usedThisHour).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('reads every result shape and ignores junk entries', () => {
    expect(readIssueTypes({ issueTypes: [{ name: 'Task' }, { name: 'Sub-task', subtask: true }] })).toEqual(['Task']);
    expect(readIssueTypes({ values: [{ name: 'Bug' }, { name: '' }, { nope: 1 }, 'x'] })).toEqual(['Bug']);
    expect(
      readIssueTypes([
        { id: '1', name: 'Story', subtask: false },
        { id: '2', name: 'Story' },
      ]),
    ).toEqual(['Story']);
    expect(readIssueTypes('no list')).toBeUndefined();
    expect(readIssueTypes({ error: 'x' })).toBeUndefined();
  });
});
