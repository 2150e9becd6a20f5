import { describe, expect, it } from 'vitest';
import { parseIssueTypes, parseProjectKey, parseSiteUrl, resolveJiraSettings } from '../../src/vteam/jira-settings.ts';

describe('Jira settings parsing', () => {
  it.each([
    ['https://acme.atlassian.net', 'https://acme.atlassian.net'],
    ['https://acme.atlassian.net///', 'https://acme.atlassian.net'],
    [' http://jira.internal:8080/jira/ ', 'http://jira.internal:8080/jira'],
    ['ftp://acme.atlassian.net', undefined],
    ['acme.atlassian.net', undefined],
    ['https://user:pw@acme.atlassian.net', undefined],
    ['https://acme.atlassian.net/?x=1', undefined],
    ['', undefined],
  ])('site URL %j → %j', (input, expected) => {
    expect(parseSiteUrl(input)).toBe(expected);
  });

  it.each([
    ['ABC', 'ABC'],
    [' rhai ', 'RHAI'],
    ['A_1', 'A_1'],
    ['1AB', undefined],
    ['AB-1', undefined],
    ['', undefined],
  ])('project key %j → %j', (input, expected) => {
    expect(parseProjectKey(input)).toBe(expected);
  });

  it('parses both issue-type notations and reports what it ignored', () => {
    expect(parseIssueTypes('{"Specify":"Feature Request","plan":" Feature "}')).toEqual({
      types: { specify: 'Feature Request', plan: 'Feature' },
      invalid: [],
    });
    expect(parseIssueTypes('specify=Feature Request,tasks=Epic,default=Story')).toEqual({
      types: { specify: 'Feature Request', tasks: 'Epic', default: 'Story' },
      invalid: [],
    });
    expect(parseIssueTypes('specify,plan=,=Epic,tasks=Epic')).toEqual({ types: { tasks: 'Epic' }, invalid: ['specify', 'plan', ''] });
    expect(parseIssueTypes('{not json')).toEqual({ types: {}, invalid: ['{not json'] });
    expect(parseIssueTypes('{"plan":3}').types).toEqual({});
  });

  it('never echoes secret values in warnings', () => {
    const { settings, warnings } = resolveJiraSettings({
      annotations: {},
      secret: { JIRA_URL: 'https://token-in-url@x', JIRA_PROJECT: '!!', JIRA_API_TOKEN: 'hunter2' },
      secretName: 'ambient-runner-secrets',
    });
    expect(settings).toBeUndefined();
    expect(warnings.join(' ')).not.toMatch(/token-in-url|hunter2|!!/);
    expect(warnings).toHaveLength(2);
  });
});
