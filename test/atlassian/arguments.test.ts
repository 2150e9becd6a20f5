import { describe, expect, it } from 'vitest';
import { buildCreateCall, buildEditCall, buildSearchCall, jqlString, labelSearchJql } from '../../src/atlassian/arguments.ts';
import { describeCreateTool } from '../../src/atlassian/dialect.ts';
import { CREATE_REQUEST, V1_CREATE_PROPS } from './tool-fixtures.ts';

const REQUEST = CREATE_REQUEST;

const v1Create = describeCreateTool({
  name: 'createJiraIssue',
  inputSchema: { properties: V1_CREATE_PROPS },
});
const selfHostedCreate = describeCreateTool({
  name: 'jira_create_issue',
  inputSchema: {
    properties: {
      project_key: { type: 'string' },
      summary: { type: 'string' },
      issue_type: { type: 'string' },
      description: { type: 'string' },
      additional_fields: { type: 'string' },
    },
  },
});

describe('buildCreateCall', () => {
  it('puts labels in additional_fields and the parent in its own argument on Rovo v1', () => {
    expect(buildCreateCall(v1Create, 'rovo', REQUEST, 'cloud-1')).toEqual({
      name: 'createJiraIssue',
      arguments: {
        cloudId: 'cloud-1',
        projectKey: 'RFE',
        issueTypeName: 'Story',
        summary: 'Spec',
        description: '# Spec',
        parent: 'RFE-1',
        additional_fields: { labels: ['vteam-rfe-1-spec'] },
      },
      label: 'createJiraIssue',
    });
  });

  it('encodes additional_fields as a JSON string, parent included, for the self-hosted server', () => {
    const call = buildCreateCall(selfHostedCreate, 'self-hosted', REQUEST, undefined);
    expect(call.arguments).toEqual({
      project_key: 'RFE',
      issue_type: 'Story',
      summary: 'Spec',
      description: '# Spec',
      additional_fields: '{"labels":["vteam-rfe-1-spec"],"parent":"RFE-1"}',
    });
  });

  it('sends the parent as {key} in additional_fields when Rovo declares no parent argument', () => {
    const noParent = { ...v1Create, parent: undefined };
    expect(buildCreateCall(noParent, 'rovo', REQUEST, 'c').arguments.additional_fields).toEqual({
      labels: ['vteam-rfe-1-spec'],
      parent: { key: 'RFE-1' },
    });
  });

  it('omits additional_fields when there is nothing to put there', () => {
    const call = buildCreateCall(v1Create, 'rovo', { ...REQUEST, labels: [], parentKey: undefined }, 'c');
    expect(call.arguments).not.toHaveProperty('additional_fields');
  });

  it('refuses to drop labels silently when the tool has nowhere to put them', () => {
    expect(() => buildCreateCall({ ...v1Create, additionalFields: undefined }, 'rovo', REQUEST, 'c')).toThrow(/additional_fields/);
  });
});

describe('buildSearchCall and buildEditCall', () => {
  const direct = {
    via: 'direct' as const,
    tool: 'searchJiraIssuesUsingJql',
    operation: 'searchJiraIssuesUsingJql',
    properties: { cloudId: { type: 'string' }, jql: { type: 'string' } },
  };
  const execute = { via: 'execute' as const, tool: 'executeRead', executor: 'executeRead', operation: 'searchJiraIssuesUsingJql' };

  it('calls a listed tool directly with cloudId among the arguments', () => {
    expect(buildSearchCall(direct, 'rovo', 'labels = "x"', 'c1').arguments).toMatchObject({ cloudId: 'c1', jql: 'labels = "x"' });
  });

  it('wraps an unlisted operation with cloudId at top level, never inside inputs', () => {
    const call = buildSearchCall(execute, 'rovo', 'labels = "x"', 'c1');
    expect(call.name).toBe('executeRead');
    expect(call.label).toBe('executeRead/searchJiraIssuesUsingJql');
    expect(call.arguments).toEqual({
      name: 'searchJiraIssuesUsingJql',
      cloudId: 'c1',
      inputs: { jql: 'labels = "x"', maxResults: 10, fields: ['summary', 'issuetype', 'labels'] },
    });
  });

  it('uses jira_search with a limit on the self-hosted server', () => {
    const call = buildSearchCall(
      { via: 'direct', tool: 'jira_search', operation: 'jira_search', properties: { jql: { type: 'string' } } },
      'self-hosted',
      'labels = "x"',
      undefined,
    );
    expect(call).toEqual({ name: 'jira_search', arguments: { jql: 'labels = "x"', limit: 10 }, label: 'jira_search' });
  });

  it('edits with a fields object on Rovo and a JSON string on the self-hosted server', () => {
    const rovo = buildEditCall(
      { via: 'execute', tool: 'executeWrite', executor: 'executeWrite', operation: 'editJiraIssue' },
      'rovo',
      'RFE-2',
      { summary: 's', description: 'd' },
      'c',
    );
    expect(rovo.arguments).toEqual({
      name: 'editJiraIssue',
      cloudId: 'c',
      inputs: { issueIdOrKey: 'RFE-2', fields: { summary: 's', description: 'd' } },
    });
    const selfHosted = buildEditCall(
      { via: 'direct', tool: 'jira_update_issue', operation: 'jira_update_issue', properties: { fields: { type: 'string' } } },
      'self-hosted',
      'RFE-2',
      { summary: 's', description: 'd' },
      undefined,
    );
    expect(selfHosted.arguments).toEqual({ issue_key: 'RFE-2', fields: '{"summary":"s","description":"d"}' });
  });
});

describe('JQL quoting', () => {
  it('quotes project and label', () => {
    expect(labelSearchJql('RFE', 'vteam-rfe-1-spec')).toBe('project = "RFE" AND labels = "vteam-rfe-1-spec"');
  });

  it('escapes quotes and backslashes, and blanks control characters', () => {
    expect(jqlString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(jqlString('x" OR project = "Y')).toBe('"x\\" OR project = \\"Y"');
    expect(jqlString('a\nb')).toBe('"a b"');
  });
});
