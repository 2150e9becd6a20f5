import { describe, expect, it } from 'vitest';
import {
  browseUrl,
  chooseBrowseUrl,
  classifyFailure,
  findSite,
  readIssue,
  readSearchResult,
  readSites,
  readToolResult,
} from '../../src/atlassian/results.ts';

const text = (value: string, isError?: boolean) => ({
  content: [{ type: 'text', text: value }],
  ...(isError === undefined ? {} : { isError }),
});

describe('readToolResult', () => {
  it('parses JSON text', () => {
    expect(readToolResult(text('{"key":"RFE-1","id":"10001"}'))).toEqual({ kind: 'ok', value: { key: 'RFE-1', id: '10001' } });
  });

  it('prefers structuredContent when present', () => {
    expect(readToolResult({ content: [], structuredContent: { key: 'RFE-2' } })).toEqual({ kind: 'ok', value: { key: 'RFE-2' } });
  });

  it('treats a {"error":true} body as failure even without isError', () => {
    expect(readToolResult(text('{"error":true,"message":"You do not have permission to create issues in this project."}'))).toEqual({
      kind: 'failed',
      message: 'You do not have permission to create issues in this project.',
    });
  });

  it('reads isError results, dropping the self-hosted prefix', () => {
    expect(readToolResult(text("Error calling tool 'create_issue': Issue RFE-9 not found.", true))).toEqual({
      kind: 'failed',
      message: 'Issue RFE-9 not found.',
    });
  });

  it('joins Jira REST error bodies', () => {
    const outcome = readToolResult(text('{"errorMessages":["Bad"],"errors":{"issuetype":"Specify a valid issue type"}}', true));
    expect(outcome).toEqual({ kind: 'failed', message: 'Bad; issuetype: Specify a valid issue type' });
  });

  it('rejects results that are not tool results, or absurdly large', () => {
    expect(readToolResult('nope').kind).toBe('garbled');
    expect(readToolResult(text('x'.repeat(1_000_001))).kind).toBe('garbled');
  });

  it('keeps plain text as text', () => {
    expect(readToolResult(text('done'))).toEqual({ kind: 'ok', value: 'done' });
  });
});

describe('classifyFailure', () => {
  it('recognises permission wording', () => {
    const failure = classifyFailure('You do not have permission to create issues in this project.', 'RFE');
    expect(failure.kind === 'jira' && failure.error.code).toBe('JIRA_PERMISSION');
  });

  it('recognises authentication failures of both servers', () => {
    expect(
      classifyFailure('Authentication failed for Jira API (401). Token may be expired or invalid. Please verify credentials.', 'RFE').kind,
    ).toBe('auth');
    expect(classifyFailure('Invalid user Jira token or configuration: expired', 'RFE').kind).toBe('auth');
  });

  it('reads the self-hosted rate-limit message', () => {
    expect(
      classifyFailure('Jira API rate limit hit (429). Server requested Retry-After: 12 seconds. Pause before retrying.', 'RFE'),
    ).toMatchObject({ kind: 'rate-limited', retryAfterMs: 12_000 });
  });

  it("keeps Jira's words for anything else", () => {
    const failure = classifyFailure('The issue type selected is invalid. Specify a valid issue type for project RFE.', 'RFE');
    expect(failure.kind === 'jira' && failure.error.code).toBe('JIRA_REJECTED');
    expect(failure.kind === 'jira' && failure.error.userMessage).toContain('Specify a valid issue type');
  });
});

describe('readIssue', () => {
  it('reads the create response, a REST issue and the self-hosted wrapper', () => {
    expect(readIssue({ key: 'RFE-1', id: '1', self: 'x' })?.key).toBe('RFE-1');
    expect(readIssue({ key: 'RFE-2', fields: { summary: 's', issuetype: { name: 'Story' }, labels: ['a'] } })).toEqual({
      key: 'RFE-2',
      summary: 's',
      issueType: 'Story',
      labels: ['a'],
      browseUrl: undefined,
    });
    expect(
      readIssue({
        message: 'Issue created successfully',
        issue: { key: 'RFE_X-3', issue_type: { name: 'Task' }, browse_url: 'https://a/browse/RFE_X-3' },
      }),
    ).toMatchObject({ key: 'RFE_X-3', issueType: 'Task', browseUrl: 'https://a/browse/RFE_X-3' });
  });

  it('rejects anything that is not a strict issue key', () => {
    for (const key of [
      'rfe-1',
      'RFE-0',
      'RFE-01',
      'R-1',
      '1RFE-1',
      'RFE-1 ',
      'RFE-1\n<https://evil|x>',
      'RFE-1/../x',
      'RFE-99999999999999999',
    ]) {
      expect(readIssue({ key }), key).toBeUndefined();
    }
    expect(readIssue('RFE-1')).toBeUndefined();
    expect(readIssue(null)).toBeUndefined();
  });
});

describe('readSearchResult', () => {
  it("reads both servers' shapes and skips invalid entries", () => {
    expect(readSearchResult({ issues: [{ key: 'RFE-1' }, { key: 'bad' }], isLast: true })?.map((i) => i.key)).toEqual(['RFE-1']);
    expect(readSearchResult({ total: 1, issues: [{ key: 'RFE-4', summary: 's' }] })?.[0]?.summary).toBe('s');
    expect(readSearchResult({ nothing: true })).toBeUndefined();
  });
});

describe('sites', () => {
  const resources = [
    { id: 'c1', url: 'https://acme.atlassian.net', name: 'acme', scopes: ['read:jira-work'] },
    { id: 'c1', url: 'https://acme.atlassian.net', name: 'acme', scopes: ['write:jira-work'] },
    { id: 'c2', url: 'https://other.atlassian.net', name: 'other' },
    { id: 'c3', url: 'javascript:alert(1)', name: 'evil' },
    { url: 'https://noid.atlassian.net' },
  ];

  it('deduplicates repeated ids and drops invalid entries', () => {
    expect(readSites(resources)?.map((s) => s.id)).toEqual(['c1', 'c2']);
    expect(readSites({ nope: 1 })).toBeUndefined();
  });

  it('matches by host, case- and slash-insensitively', () => {
    const sites = readSites(resources) ?? [];
    expect(findSite(sites, 'https://ACME.atlassian.net/')?.id).toBe('c1');
    expect(findSite(sites, 'https://third.atlassian.net')).toBeUndefined();
    expect(findSite(sites, 'not a url')).toBeUndefined();
  });
});

describe('browse URLs', () => {
  it('builds <site>/browse/<key>', () => {
    expect(browseUrl('https://acme.atlassian.net/', 'RFE-1')).toBe('https://acme.atlassian.net/browse/RFE-1');
  });

  it("accepts the server's browse_url only for the same site and key", () => {
    expect(chooseBrowseUrl('https://acme.atlassian.net', 'RFE-1', 'https://acme.atlassian.net/browse/RFE-1')).toBe(
      'https://acme.atlassian.net/browse/RFE-1',
    );
    expect(chooseBrowseUrl('https://acme.atlassian.net', 'RFE-1', 'https://evil.example/browse/RFE-1')).toBe(
      'https://acme.atlassian.net/browse/RFE-1',
    );
    expect(chooseBrowseUrl('https://acme.atlassian.net', 'RFE-1', 'https://acme.atlassian.net/browse/RFE-2')).toBe(
      'https://acme.atlassian.net/browse/RFE-1',
    );
    expect(chooseBrowseUrl('https://acme.atlassian.net', 'RFE-1', 'not a url')).toBe('https://acme.atlassian.net/browse/RFE-1');
  });
});

describe('readToolResult with FastMCP-wrapped results (mcp-atlassian 0.23.1)', () => {
  const issue = {
    message: 'Issue created successfully',
    issue: { id: '10001', key: 'RFE-7', url: 'https://api.atlassian.com/ex/jira/c/rest/api/2/issue/10001' },
  };
  const wrapped = (value: unknown, meta = true) => {
    const body = typeof value === 'string' ? value : JSON.stringify(value);
    return {
      ...(meta ? { _meta: { fastmcp: { wrap_result: true } } } : {}),
      content: [{ type: 'text', text: body }],
      structuredContent: { result: body },
      isError: false,
    };
  };

  it('unwraps the value when the result says so in _meta', () => {
    expect(readToolResult(wrapped(issue))).toEqual({ kind: 'ok', value: issue });
  });

  it("unwraps the value when the tool's output schema says so", () => {
    expect(readToolResult(wrapped([{ id: '1', name: 'Story' }], false), { wrapped: true })).toEqual({
      kind: 'ok',
      value: [{ id: '1', name: 'Story' }],
    });
  });

  it('keeps a wrapped plain sentence as text', () => {
    expect(readToolResult(wrapped('Issue RFE-7 deleted.'))).toEqual({ kind: 'ok', value: 'Issue RFE-7 deleted.' });
  });

  it('reads a wrapped {"error":true} body as a failure', () => {
    expect(readToolResult(wrapped({ error: true, message: 'nope' }))).toEqual({ kind: 'failed', message: 'nope' });
  });

  it('calls a wrapper without its result field garbled, never a value', () => {
    expect(readToolResult({ _meta: { fastmcp: { wrap_result: true } }, content: [], structuredContent: { other: 1 } }).kind).toBe(
      'garbled',
    );
  });

  it('leaves unmarked structured content (Rovo) as it is, even with a result field', () => {
    expect(readToolResult({ content: [], structuredContent: { result: 'x' } })).toEqual({ kind: 'ok', value: { result: 'x' } });
  });

  it('reads the create result and its key through the wrapper', () => {
    const outcome = readToolResult(wrapped(issue));
    expect(outcome.kind === 'ok' && readIssue(outcome.value)?.key).toBe('RFE-7');
  });
});

describe('classifyFailure: the three ways mcp-atlassian reports a 401 on create', () => {
  it.each([
    ['Invalid user Jira token or configuration: Unable to get current user account ID: Unauthorized (401)', true],
    ['Unauthorized (401)', true],
    ['HTTPError', false],
  ])('%s is a rejected credential', (message, certain) => {
    expect(classifyFailure(message, 'RFE')).toEqual({ kind: 'auth', message, certain });
  });

  it('does not mistake a sentence merely mentioning HTTPError for one', () => {
    expect(classifyFailure('Failed to create issue: HTTPError while reading field customfield_1', 'RFE').kind).toBe('jira');
  });
});
