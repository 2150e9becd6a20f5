import { describe, expect, it } from 'vitest';
import { detectDialect, encodingOf } from '../../src/atlassian/dialect.ts';
import type { ToolDescription } from '../../src/atlassian/dialect.ts';
import { V1_CREATE_PROPS } from './tool-fixtures.ts';

// Schemas as the reference documents them (A.3 for Rovo v1, Part B for sooperset/mcp-atlassian).
const V1_CREATE: ToolDescription = {
  name: 'createJiraIssue',
  inputSchema: {
    properties: { ...V1_CREATE_PROPS, assignee_account_id: { type: 'string' } },
    required: ['cloudId', 'projectKey', 'issueTypeName', 'summary'],
  },
};
const tool = (name: string, properties: ToolDescription['inputSchema'] = { properties: {} }): ToolDescription => ({
  name,
  inputSchema: properties,
});

const V1_TOOLS = [
  tool('getAccessibleAtlassianResources'),
  tool('atlassianUserInfo'),
  V1_CREATE,
  tool('searchJiraIssuesUsingJql', { properties: { cloudId: { type: 'string' }, jql: { type: 'string' } } }),
  tool('editJiraIssue', { properties: { cloudId: { type: 'string' }, issueIdOrKey: { type: 'string' }, fields: { type: 'object' } } }),
];
const V2_TOOLS = [
  tool('getAccessibleAtlassianResources'),
  tool('atlassianUserInfo'),
  tool('createJiraIssue', {
    properties: {
      cloudId: { type: 'string' },
      projectKey: { type: 'string' },
      issueType: { type: 'string' },
      summary: { type: 'string' },
      parent: { type: 'string' },
      additional_fields: { type: 'object', additionalProperties: {} },
    },
  }),
  tool('discover'),
  tool('executeRead'),
  tool('executeWrite'),
];
const SELF_HOSTED_TOOLS = [
  tool('jira_create_issue', {
    properties: {
      project_key: { type: 'string', pattern: '^[A-Z][A-Z0-9_]+$' },
      summary: { type: 'string' },
      issue_type: { type: 'string' },
      assignee: { type: 'string', default: null },
      description: { type: 'string', default: null },
      components: { type: 'string', default: null },
      additional_fields: { type: 'string', default: null },
    },
  }),
  tool('jira_update_issue', { properties: { issue_key: { type: 'string' }, fields: { type: 'string' } } }),
  tool('jira_search', { properties: { jql: { type: 'string' }, limit: { type: 'integer' } } }),
  tool('jira_get_issue'),
];

describe('detectDialect', () => {
  it('reads Rovo v1: issueTypeName, parent argument, object additional_fields, direct tools', () => {
    const dialect = detectDialect(V1_TOOLS);
    expect(dialect.family).toBe('rovo');
    expect(dialect.siteLookup).toBe('getAccessibleAtlassianResources');
    expect(dialect.userInfo).toBe('atlassianUserInfo');
    expect(dialect.create).toMatchObject({
      tool: 'createJiraIssue',
      projectKey: 'projectKey',
      issueType: 'issueTypeName',
      cloudId: 'cloudId',
      parent: 'parent',
      labels: undefined,
      additionalFields: { name: 'additional_fields', encoding: 'object' },
    });
    expect(dialect.search).toMatchObject({ via: 'direct', tool: 'searchJiraIssuesUsingJql' });
    expect(dialect.edit).toMatchObject({ via: 'direct', tool: 'editJiraIssue' });
  });

  it('reads Rovo v2: issueType, and search/edit through executeRead/executeWrite', () => {
    const dialect = detectDialect(V2_TOOLS);
    expect(dialect.create?.issueType).toBe('issueType');
    expect(dialect.search).toEqual({ via: 'execute', tool: 'executeRead', executor: 'executeRead', operation: 'searchJiraIssuesUsingJql' });
    expect(dialect.edit).toEqual({ via: 'execute', tool: 'executeWrite', executor: 'executeWrite', operation: 'editJiraIssue' });
  });

  it('falls back to a single execute tool when that is what the client is offered', () => {
    const dialect = detectDialect([V1_CREATE, tool('execute')]);
    expect(dialect.search).toEqual({ via: 'execute', tool: 'execute', executor: 'execute', operation: 'searchJiraIssuesUsingJql' });
    expect(dialect.siteLookup).toBeUndefined();
  });

  it('reads sooperset/mcp-atlassian: snake_case names and JSON-string additional_fields', () => {
    const dialect = detectDialect(SELF_HOSTED_TOOLS);
    expect(dialect.family).toBe('self-hosted');
    expect(dialect.siteLookup).toBeUndefined();
    expect(dialect.userInfo).toBeUndefined();
    expect(dialect.create).toMatchObject({
      tool: 'jira_create_issue',
      projectKey: 'project_key',
      issueType: 'issue_type',
      cloudId: undefined,
      parent: undefined,
      additionalFields: { name: 'additional_fields', encoding: 'json-string' },
    });
    expect(dialect.search).toMatchObject({ via: 'direct', tool: 'jira_search' });
    expect(dialect.edit).toMatchObject({ via: 'direct', tool: 'jira_update_issue' });
  });

  it('has no create tool when a token only sees Teamwork Graph tools', () => {
    const dialect = detectDialect([tool('getTeamworkGraphContext'), tool('atlassianUserInfo')]);
    expect(dialect.create).toBeUndefined();
    expect(dialect.search).toBeUndefined();
  });

  it('uses a top-level labels array only when one is declared', () => {
    const withLabels = detectDialect([
      tool('createJiraIssue', { properties: { ...V1_CREATE.inputSchema?.properties, labels: { type: 'array' } } }),
    ]);
    expect(withLabels.create?.labels).toBe('labels');
    const stringLabels = detectDialect([
      tool('createJiraIssue', { properties: { ...V1_CREATE.inputSchema?.properties, labels: { type: 'string' } } }),
    ]);
    expect(stringLabels.create?.labels).toBeUndefined();
  });
});

describe('encodingOf', () => {
  it('sends JSON text to string-typed fields and objects otherwise', () => {
    expect(encodingOf({ type: 'string' })).toBe('json-string');
    expect(encodingOf({ anyOf: [{ type: 'string' }, { type: 'null' }] })).toBe('json-string');
    expect(encodingOf({ type: 'object' })).toBe('object');
    expect(encodingOf({ type: ['object', 'string'] })).toBe('object');
    expect(encodingOf({})).toBe('object');
    expect(encodingOf(undefined)).toBe('object');
  });
});
