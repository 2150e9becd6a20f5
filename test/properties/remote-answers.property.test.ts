/**
 * Hostile answers from the systems we call, generated (fast-check): whatever an MCP server or GitHub
 * sends back, the adapter answers with a valid value or one of our errors — never a crash, never a
 * link to something that is not an issue key, never an unbounded message.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpJiraGateway, type McpJiraGateway } from '../../src/atlassian/jira-gateway.ts';
import { ISSUE_KEY, readIssue, readIssueTypes, readSearchResult, readSites, readToolResult } from '../../src/atlassian/results.ts';
import { isVteamError } from '../../src/errors.ts';
import type { Workflow } from '../../src/publishing/model.ts';
import { createDocumentSource } from '../../src/vteam/documents.ts';
import { startFakeMcp, type FakeMcp } from '../support/fake-mcp/index.ts';
import { hostile, hostileText } from './arbitraries.ts';
import './setup.ts';

const RUNS = Number(process.env.FC_RUNS ?? 200);

/** Tool results: well-formed ones with hostile values, the three dialects' error shapes, and garbage. */
const toolResult = fc.oneof(
  hostile,
  fc.record(
    {
      content: fc.oneof(
        hostile,
        fc.array(
          fc.record(
            {
              type: fc.constantFrom('text', 'image', 'resource'),
              text: fc.oneof(
                hostileText,
                hostile.map((v) => safeJson(v)),
              ),
            },
            { requiredKeys: ['type'] },
          ),
          { maxLength: 3 },
        ),
      ),
      structuredContent: fc.oneof(
        hostile,
        fc.record({
          result: fc.oneof(
            hostileText,
            hostile.map((v) => safeJson(v)),
          ),
        }),
      ),
      isError: fc.oneof(fc.boolean(), hostile),
      _meta: fc.oneof(hostile, fc.constant({ fastmcp: { wrap_result: true } })),
    },
    { requiredKeys: [] },
  ),
  hostileText.map((text) => ({ content: [{ type: 'text', text: `{"error":true,"message":${JSON.stringify(text)}}` }] })),
  hostileText.map((text) => ({ content: [{ type: 'text', text: `Error calling tool 'create_issue': ${text}` }], isError: true })),
  fc
    .record({ key: hostileText, id: hostileText, self: hostileText })
    .map((issue) => ({ content: [{ type: 'text', text: JSON.stringify(issue) }] })),
);

describe('reading MCP tool results', () => {
  it('never throws, and a failure is one bounded line', () => {
    fc.assert(
      fc.property(toolResult, fc.boolean(), (result, wrapped) => {
        const outcome = readToolResult(result, { wrapped });
        if (outcome.kind === 'failed') {
          expect(outcome.message).not.toMatch(/[\r\n]/);
          expect(outcome.message.length).toBeLessThanOrEqual(2000);
        }
        if (outcome.kind === 'ok') {
          const issue = readIssue(outcome.value);
          if (issue !== undefined) expect(issue.key).toMatch(ISSUE_KEY);
          for (const found of readSearchResult(outcome.value) ?? []) expect(found.key).toMatch(ISSUE_KEY);
          for (const type of readIssueTypes(outcome.value) ?? []) expect(type.length).toBeLessThanOrEqual(255);
          for (const site of readSites(outcome.value) ?? []) expect(site.url).toMatch(/^https?:\/\//i);
        }
      }),
      { numRuns: RUNS * 5 },
    );
  });
});

describe('the Jira gateway against a server answering anything', () => {
  let fake: FakeMcp;
  let gateway: McpJiraGateway;
  beforeAll(async () => {
    fake = await startFakeMcp({
      dialect: 'rovo-v1',
      sites: [{ id: 'c1', url: 'https://acme.atlassian.net' }],
      projects: [{ site: 'c1', key: 'PROJ' }],
      tokens: [{ token: 'tok-0123456789', sites: ['c1'] }],
    });
    gateway = createMcpJiraGateway({
      mcpUrl: fake.url,
      credentials: { current: async () => ({ accessToken: 'tok-0123456789' }) },
      callTimeoutMs: 5_000,
      circuitBreaker: { failureThreshold: 1_000_000 },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  it('creates an issue with a real key or reports one of our errors', async () => {
    await fc.assert(
      fc.asyncProperty(toolResult, async (result) => {
        fake.overrideNextToolResults('createJiraIssue', 1, result as never);
        try {
          const issue = await gateway.createIssue(
            { teamId: 'T1', userId: 'U1' },
            {
              siteUrl: 'https://acme.atlassian.net',
              projectKey: 'PROJ',
              issueType: 'Task',
              summary: 's',
              description: 'd',
              labels: ['vteam-rfe'],
            },
          );
          expect(issue.key).toMatch(ISSUE_KEY);
          expect(issue.url).toMatch(/^https:\/\/acme\.atlassian\.net\/browse\//);
        } catch (error) {
          expect(isVteamError(error)).toBe(true);
          expect((error as { userMessage: string }).userMessage).not.toMatch(/[\r\n]/);
        } finally {
          fake.clearFaults();
        }
      }),
      { numRuns: Math.min(RUNS, 100) },
    );
  });
});

describe('GitHub answering anything', () => {
  const workflow: Workflow = {
    namespace: 'proj',
    name: 'rfe-1',
    title: 'T',
    description: '',
    branchName: 'b',
    umbrellaRepo: { url: 'https://github.com/org/repo', branch: 'main' },
    jiraLinks: [],
    resourceVersion: '1',
  };
  const answer = fc.record({
    status: fc.constantFrom(200, 200, 200, 201, 204, 301, 302, 400, 401, 403, 404, 409, 422, 429, 500, 502),
    contentType: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/vnd.github.v3.raw',
      'text/html',
    ),
    location: fc.option(fc.oneof(hostileText, fc.webUrl())),
    body: fc.oneof(
      hostileText,
      hostile.map((v) => safeJson(v)),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    ),
  });

  it('lists and reads documents, or reports one of our errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 4 }), async (answers) => {
        let call = 0;
        const fetchImpl = (async () => {
          const next = answers[Math.min(call, answers.length - 1)]!;
          call += 1;
          const headers: Record<string, string> = { 'content-type': next.contentType };
          if (next.location !== null) headers.location = next.location;
          const body = next.status === 204 ? null : next.body;
          return new Response(body, { status: next.status, headers });
        }) as typeof fetch;
        const documents = createDocumentSource({
          projects: { gitToken: async () => 'ghp_secret' },
          fetch: fetchImpl,
          maxListingBytes: 4096,
        });
        for (const attempt of [documents.list(workflow), documents.read(workflow, 'specs/001/spec.md')]) {
          try {
            const value = await attempt;
            if (Array.isArray(value)) for (const doc of value) expect(doc.path).not.toMatch(/(^|\/)\.\.(\/|$)/);
          } catch (error) {
            expect(isVteamError(error)).toBe(true);
            expect((error as { userMessage: string }).userMessage).not.toContain('ghp_secret');
          }
        }
        expect(call).toBeLessThanOrEqual(20); // bounded: no redirect loop, no retry storm
      }),
      { numRuns: RUNS },
    );
  });
});

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}
