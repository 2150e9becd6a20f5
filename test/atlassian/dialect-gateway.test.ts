import { describe, expect, it } from 'vitest';
import { buildCreateCall, buildEditCall, buildIssueTypesCall, buildSearchCall } from '../../src/atlassian/arguments.ts';
import { GATEWAY_TOOL_NAMINGS, detectDialect, findTool, isGatewayName, slugify } from '../../src/atlassian/dialect.ts';
import type { Dialect, ToolDescription } from '../../src/atlassian/dialect.ts';
import { CREATE_REQUEST, V1_CREATE_PROPS } from './tool-fixtures.ts';

// Listings as IBM MCP Context Forge produces them (reference Part D): `<gateway slug><separator><tool slug>`,
// schemas passed through unchanged.
const tool = (name: string, properties: Record<string, { type: string }> = {}, wrapped = false): ToolDescription => ({
  name,
  inputSchema: { properties },
  ...(wrapped ? { outputSchema: { type: 'object', 'x-fastmcp-wrap-result': true } } : {}),
});
const MCF_ROVO_V1 = [
  tool('rovo-atlassianuserinfo'),
  tool('rovo-getaccessibleatlassianresources'),
  tool('rovo-createjiraissue', V1_CREATE_PROPS),
  tool('rovo-searchjiraissuesusingjql', { cloudId: { type: 'string' }, jql: { type: 'string' } }),
  tool('rovo-editjiraissue', { cloudId: { type: 'string' }, issueIdOrKey: { type: 'string' }, fields: { type: 'object' } }),
  tool('rovo-getjiraprojectissuetypesmetadata', { cloudId: { type: 'string' }, projectIdOrKey: { type: 'string' } }),
];
const MCF_ROVO_V2 = [
  tool('rovo-atlassianuserinfo'),
  tool('rovo-getaccessibleatlassianresources'),
  tool('rovo-createjiraissue', {
    cloudId: { type: 'string' },
    projectKey: { type: 'string' },
    issueType: { type: 'string' },
    additional_fields: { type: 'object' },
  }),
  tool('rovo-discover'),
  tool('rovo-executeread'),
  tool('rovo-executewrite'),
];
const SELF_HOSTED_CREATE_PROPS = { project_key: { type: 'string' }, issue_type: { type: 'string' }, additional_fields: { type: 'string' } };
/** MCF joins a slug's words with its separator too: `jira_create_issue` under "__" is `jira__create__issue`. */
const mcfName = (separator: string, upstream: string) => `mcp${separator}atlassian${separator}${slugify(upstream, separator)}`;
const mcfSelfHosted = (separator: string): ToolDescription[] =>
  ['jira_create_issue', 'jira_search', 'jira_update_issue', 'jira_get_issue', 'jira_get_project_issue_types'].map((name) =>
    tool(mcfName(separator, name), name === 'jira_create_issue' ? SELF_HOSTED_CREATE_PROPS : {}, true),
  );

/** Every call the gateway would make, as [called name, metric label, execute's inner name]. */
function calls(dialect: Dialect): [string, string, unknown][] {
  const { create, search, edit, issueTypes, family } = dialect;
  if (create === undefined || search === undefined || edit === undefined || issueTypes === undefined) throw new Error('incomplete');
  return [
    buildCreateCall(create, family, CREATE_REQUEST, 'c1'),
    buildSearchCall(search, family, 'labels = "x"', 'c1'),
    buildEditCall(edit, family, 'RFE-2', { summary: 's', description: 'd' }, 'c1'),
    buildIssueTypesCall(issueTypes, family, 'RFE', 'c1'),
  ].map((call) => [call.name, call.label, call.arguments.name]);
}

describe('detectDialect behind Context Forge', () => {
  it('calls Rovo v1 tools by their listed names and labels them canonically', () => {
    const dialect = detectDialect(MCF_ROVO_V1);
    expect(dialect.family).toBe('rovo');
    expect(dialect.siteLookup).toBe('rovo-getaccessibleatlassianresources');
    expect(dialect.userInfo).toBe('rovo-atlassianuserinfo');
    expect(dialect.create).toMatchObject({ tool: 'rovo-createjiraissue', operation: 'createJiraIssue', issueType: 'issueTypeName' });
    expect(calls(dialect)).toEqual([
      ['rovo-createjiraissue', 'createJiraIssue', undefined],
      ['rovo-searchjiraissuesusingjql', 'searchJiraIssuesUsingJql', undefined],
      ['rovo-editjiraissue', 'editJiraIssue', undefined],
      ['rovo-getjiraprojectissuetypesmetadata', 'getJiraProjectIssueTypesMetadata', undefined],
    ]);
  });

  it('routes Rovo v2 operations through the listed execute tools, the inner name canonical', () => {
    const dialect = detectDialect(MCF_ROVO_V2);
    expect(dialect.siteLookup).toBe('rovo-getaccessibleatlassianresources');
    expect(dialect.create?.issueType).toBe('issueType');
    expect(calls(dialect)).toEqual([
      ['rovo-createjiraissue', 'createJiraIssue', undefined],
      ['rovo-executeread', 'executeRead/searchJiraIssuesUsingJql', 'searchJiraIssuesUsingJql'],
      ['rovo-executewrite', 'executeWrite/editJiraIssue', 'editJiraIssue'],
      ['rovo-executeread', 'executeRead/listJiraProjectIssueTypesMetadata', 'listJiraProjectIssueTypesMetadata'],
    ]);
  });

  it.each(['-', '_', '__', '.'])('reads self-hosted mcp-atlassian with separator %j', (separator) => {
    const dialect = detectDialect(mcfSelfHosted(separator));
    expect(dialect.family).toBe('self-hosted');
    expect(dialect.siteLookup).toBeUndefined();
    // Fall-backs and encodings follow the canonical name, not the listed one.
    expect(dialect.create).toMatchObject({ operation: 'jira_create_issue', projectKey: 'project_key', issueType: 'issue_type' });
    expect(dialect.create?.additionalFields).toEqual({ name: 'additional_fields', encoding: 'json-string' });
    expect(dialect.wrappedResults.has(mcfName(separator, 'jira_search'))).toBe(true);
    const name = (tool: string) => mcfName(separator, tool);
    expect(calls(dialect)).toEqual([
      [name('jira_create_issue'), 'jira_create_issue', undefined],
      [name('jira_search'), 'jira_search', undefined],
      [name('jira_update_issue'), 'jira_update_issue', undefined],
      [name('jira_get_project_issue_types'), 'jira_get_project_issue_types', undefined],
    ]);
    if (separator === '_') expect(name('jira_create_issue')).toBe('mcp_atlassian_jira_create_issue');
  });

  it('falls back to the canonical spelling when a prefixed self-hosted create tool publishes no schema', () => {
    const dialect = detectDialect([{ name: 'gw-jira-create-issue' }]);
    expect(dialect.family).toBe('self-hosted');
    expect(dialect.create).toMatchObject({ projectKey: 'project_key', issueType: 'issue_type' });
  });

  it('prefers an exact listing over a prefixed one, else the first prefixed one listed', () => {
    const exactLast = detectDialect([tool('gw-createjiraissue'), tool('createJiraIssue', V1_CREATE_PROPS)]);
    expect(exactLast.create?.tool).toBe('createJiraIssue');
    const twoGateways = detectDialect([tool('b-createjiraissue'), tool('a-createjiraissue')]);
    expect(twoGateways.create?.tool).toBe('b-createjiraissue');
  });

  it('does not take executeRead for execute, nor a longer word for a tool', () => {
    expect(findTool([tool('rovo-executeread')], 'execute')).toBeUndefined();
    expect(detectDialect([tool('rovo-createjiraissue'), tool('rovo-executeread')]).edit).toBeUndefined();
    const lookalikes = detectDialect([tool('rovo-notcreatejiraissue'), tool('createjiraissue'), tool('-createjiraissue')]);
    expect(lookalikes.create).toBeUndefined();
  });

  it('keeps labels of direct servers as they were', () => {
    const dialect = detectDialect([tool('createJiraIssue', V1_CREATE_PROPS), tool('executeRead'), tool('executeWrite'), tool('discover')]);
    expect(calls(dialect).map(([name, label]) => [name, label])).toEqual([
      ['createJiraIssue', 'createJiraIssue'],
      ['executeRead', 'executeRead/searchJiraIssuesUsingJql'],
      ['executeWrite', 'executeWrite/editJiraIssue'],
      ['executeRead', 'executeRead/listJiraProjectIssueTypesMetadata'],
    ]);
  });
});

describe('gateway naming table', () => {
  it('slugifies as Context Forge does', () => {
    expect(slugify('jira_create_issue')).toBe('jira-create-issue');
    expect(slugify('getAccessibleAtlassianResources')).toBe('getaccessibleatlassianresources');
    expect(slugify('__a..b__')).toBe('a-b');
  });

  it('accepts every Context Forge separator, and another gateway is one more row', () => {
    for (const separator of ['-', '--', '_', '__', '.']) expect(isGatewayName(`rovo${separator}editjiraissue`, 'editJiraIssue')).toBe(true);
    expect(isGatewayName('atlassian__editJiraIssue', 'editJiraIssue')).toBe(false);
    const keepCase = [...GATEWAY_TOOL_NAMINGS, { gateway: 'example', separators: ['__'], transform: (name: string) => name }];
    expect(isGatewayName('atlassian__editJiraIssue', 'editJiraIssue', keepCase)).toBe(true);
  });
});
