/**
 * How sooperset/mcp-atlassian 0.23.1 (FastMCP 3.4.4, protocol 2025-11-25) answers on the wire, in
 * one place, as observed on a running server and written down in
 * /work/shared/reference/atlassian-mcp.md Part B. When the reference changes, change this file.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** Every string-returning tool advertises this output schema (FastMCP's wrapper). */
export const WRAPPED_OUTPUT_SCHEMA = {
  type: 'object',
  properties: { result: { type: 'string' } },
  required: ['result'],
  'x-fastmcp-wrap-result': true,
} as const;

/** A successful call: the JSON text both in the text item and, wrapped, in `structuredContent`. */
export function wrappedResult(value: unknown): CallToolResult {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return {
    _meta: { fastmcp: { wrap_result: true } },
    content: [{ type: 'text', text }],
    structuredContent: { result: text },
    isError: false,
  };
}

/** Any tool exception: `isError`, text only. `fn` is the Python function name (`create_issue`), not the tool name. */
export function toolError(fn: string, detail: string): CallToolResult {
  return { content: [{ type: 'text', text: `Error calling tool '${fn}': ${detail}` }], isError: true };
}

/** Sentences the server uses, verbatim. */
export const SENTENCES = {
  /** Jira 401/403 on search, links, transitions, users. */
  authFailed: 'Authentication failed for Jira API (401). Token may be expired or invalid. Please verify credentials.',
  /** A bad token on the first call with it (the server checks `GET /rest/api/2/myself`, cached 300 s per token). */
  invalidUserToken: 'Invalid user Jira token or configuration: Unable to get current user account ID: Unauthorized (401)',
  /** A token that expired after that check, on create (Jira's 401 body as text/plain). */
  createUnauthorized: 'Unauthorized (401)',
  /** The same, when Jira's 401 body is `application/json;charset=UTF-8`. */
  createHttpError: 'HTTPError',
  notFound: (key: string) => `Issue ${key} not found. Verify the issue key and project access.`,
  noCredentials: 'Authentication required: no Atlassian credentials were provided.',
  created: 'Issue created successfully',
  updated: 'Issue updated successfully',
} as const;

/** How long the server trusts a token it checked against `/myself`. */
export const TOKEN_CHECK_CACHE_MS = 300_000;

/**
 * FastMCP's schema of a Python signature: `T | None = None` collapses to the plain type with
 * `default: null`, and no extra argument is accepted.
 */
export function inputSchema(jsonSchema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = jsonSchema;
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((schema.required ?? []) as string[]);
  return {
    ...schema,
    properties: Object.fromEntries(
      Object.entries(properties).map(([name, property]) => [name, required.has(name) ? property : { ...property, default: null }]),
    ),
    additionalProperties: false,
  };
}

/**
 * Markdown → Jira wiki markup, as the server converts descriptions on Server/DC — only the parts
 * that matter to us, quirks included: a `---` line after a paragraph (blank line or not) becomes
 * an empty `h2. ` heading rather than a rule.
 */
export function markdownToWiki(markdown: string): string {
  const out: string[] = [];
  let lastContent: string | undefined;
  for (const line of markdown.split('\n')) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (/^-{3,}\s*$/.test(line) && lastContent !== undefined && !/^(h[1-6]\.|----)/.test(lastContent)) {
      out.push('h2. ');
    } else if (/^-{3,}\s*$/.test(line)) {
      out.push('----');
    } else if (heading !== null) {
      out.push(`h${heading[1]?.length ?? 1}. ${heading[2] ?? ''}`);
    } else {
      out.push(line.replace(/\*\*([^*]+)\*\*/g, '*$1*'));
    }
    if (line.trim() !== '') lastContent = out[out.length - 1];
  }
  return out.join('\n');
}
