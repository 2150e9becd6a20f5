/**
 * Reading what an MCP server returned. Pure and defensive: a tool result is remote input, so nothing
 * in it becomes a link or a message before it has been validated and bounded.
 */
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { VteamError } from '../errors.ts';

/** Jira issue keys: project key (upper-case letter first), dash, positive number. */
export const ISSUE_KEY = /^[A-Z][A-Z0-9_]+-[1-9][0-9]{0,14}$/;

/** Far above any real result of the tools we call; anything larger is not a Jira answer. */
export const MAX_RESULT_CHARS = 1_000_000;
const MAX_MESSAGE_CHARS = 2_000;

export type ToolOutcome = { kind: 'ok'; value: unknown } | { kind: 'failed'; message: string } | { kind: 'garbled'; reason: string };

const ToolResult = z.object({
  content: z.array(z.looseObject({ type: z.string(), text: z.string().optional() })).optional(),
  structuredContent: z.unknown().optional(),
  isError: z.boolean().optional(),
  _meta: z.unknown().optional(),
});

export interface ReadOptions {
  /**
   * The tool's output schema says FastMCP wraps its string result (`x-fastmcp-wrap-result`), as
   * mcp-atlassian's tools do: `structuredContent` is then `{result: "<JSON text>"}`, not the value.
   */
  wrapped?: boolean;
}

/**
 * The value of a tool result, from wherever the server put it: `structuredContent`, FastMCP's
 * `{result: "<text>"}` wrapper, or the text content only. Rovo signals failures with `isError` or
 * (undocumented whether both) a `{"error":true,…}` body.
 */
export function readToolResult(result: unknown, options: ReadOptions = {}): ToolOutcome {
  const parsed = ToolResult.safeParse(result);
  if (!parsed.success) return { kind: 'garbled', reason: 'not a tool result' };
  const { content = [], isError = false } = parsed.data;
  const text = content.flatMap((item) => (item.type === 'text' && item.text !== undefined ? [item.text] : [])).join('\n');
  if (text.length > MAX_RESULT_CHARS) return { kind: 'garbled', reason: `result text of ${text.length} characters` };
  const structured = unwrapStructured(parsed.data.structuredContent, options.wrapped === true || wrapFlagged(parsed.data._meta));
  if (structured.kind === 'garbled') return structured;
  const structuredContent = structured.value;

  const json = parseJson(text);
  if (isError) return { kind: 'failed', message: failureMessage(text, json ?? structuredContent) };
  if (/^\s*\{\s*"error"\s*:\s*true\b/.test(text) || isErrorObject(json) || isErrorObject(structuredContent)) {
    return { kind: 'failed', message: failureMessage(text, isErrorObject(json) ? json : structuredContent) };
  }
  if (structuredContent !== undefined && structuredContent !== null) return { kind: 'ok', value: structuredContent };
  return { kind: 'ok', value: json === undefined ? text : json };
}

/** `_meta: {fastmcp: {wrap_result: true}}`, as FastMCP 3 marks a wrapped result. */
function wrapFlagged(meta: unknown): boolean {
  const fastmcp = isRecord(meta) ? meta.fastmcp : undefined;
  return isRecord(fastmcp) && fastmcp.wrap_result === true;
}

/** The wrapped value, parsed when it is JSON text; the wrapper itself never reaches a reader. */
function unwrapStructured(structured: unknown, wrapped: boolean): { kind: 'value'; value: unknown } | { kind: 'garbled'; reason: string } {
  if (!wrapped || structured === undefined || structured === null) return { kind: 'value', value: structured };
  if (!isRecord(structured) || !Object.hasOwn(structured, 'result'))
    return { kind: 'garbled', reason: 'a wrapped result without its result field' };
  const inner = structured.result;
  if (typeof inner !== 'string') return { kind: 'value', value: inner };
  if (inner.length > MAX_RESULT_CHARS) return { kind: 'garbled', reason: `wrapped result of ${inner.length} characters` };
  const json = parseJson(inner);
  return { kind: 'value', value: json === undefined ? inner : json };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

function isErrorObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as Record<string, unknown>).error === true;
}

/** Jira's own words, from whichever error shape arrived; the self-hosted server's prefix dropped. */
export function failureMessage(text: string, json: unknown): string {
  const fromJson = messageFromJson(json);
  const raw = fromJson ?? text.replace(/^Error calling tool '[^']*':\s*/, '');
  const oneLine = raw.replace(/\s+/g, ' ').trim();
  const bounded = oneLine.length > MAX_MESSAGE_CHARS ? `${oneLine.slice(0, MAX_MESSAGE_CHARS - 1)}…` : oneLine;
  return bounded.length > 0 ? bounded : 'The Atlassian MCP server reported an error without a message.';
}

function messageFromJson(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const body = json as Record<string, unknown>;
  if (typeof body.message === 'string' && body.message.trim() !== '') return body.message;
  if (typeof body.error === 'string' && body.error.trim() !== '') return body.error;
  // Jira REST: {"errorMessages": [...], "errors": {"field": "message"}}
  const parts: string[] = [];
  if (Array.isArray(body.errorMessages)) parts.push(...body.errorMessages.filter((m): m is string => typeof m === 'string'));
  if (typeof body.errors === 'object' && body.errors !== null) {
    for (const [field, message] of Object.entries(body.errors)) {
      if (typeof message === 'string') parts.push(`${field}: ${message}`);
    }
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}

export type FailureClass =
  /** `certain`: the server said 401; otherwise a bare `HTTPError`, which is how mcp-atlassian reports a 401 with a JSON body. */
  | { kind: 'auth'; message: string; certain: boolean }
  | { kind: 'rate-limited'; retryAfterMs: number; message: string }
  | { kind: 'jira'; error: VteamError };

const AUTH_FAILURE = /authentication failed|invalid user jira token|unauthori[sz]ed|token (?:has )?expired|invalid (?:access )?token/i;
const PERMISSION = /permission|not allowed to create|forbidden/i;
const RATE_LIMIT = /rate limit[^]*?retry-after:?\s*(\d{1,6})/i;
/** mcp-atlassian 0.23.1 on create when Jira's 401 body is `application/json;charset=UTF-8` (reference Part B). */
const BARE_HTTP_ERROR = /^HTTPError\.?$/;

/** Sorts a tool-level failure: retryable with a fresh token, rate limited, or Jira's final word. */
export function classifyFailure(message: string, projectKey: string): FailureClass {
  if (AUTH_FAILURE.test(message)) return { kind: 'auth', message, certain: true };
  // Nothing was created (Jira refused the request), so one retry with a fresh token is safe.
  if (BARE_HTTP_ERROR.test(message.trim())) return { kind: 'auth', message, certain: false };
  const rate = RATE_LIMIT.exec(message);
  if (rate?.[1] !== undefined) return { kind: 'rate-limited', retryAfterMs: Number(rate[1]) * 1000, message };
  if (PERMISSION.test(message)) return { kind: 'jira', error: errors.jiraPermission(projectKey, message) };
  return { kind: 'jira', error: errors.jiraRejected(message) };
}

export interface IssueFacts {
  key: string;
  summary: string | undefined;
  issueType: string | undefined;
  labels: string[] | undefined;
  browseUrl: string | undefined;
}

const Named = z.union([z.string(), z.looseObject({ name: z.string() }).transform((value) => value.name)]);
const IssueShape = z.looseObject({
  key: z.string(),
  summary: z.string().optional(),
  browse_url: z.string().optional(),
  issue_type: Named.optional(),
  labels: z.array(z.string()).optional(),
  fields: z
    .looseObject({
      summary: z.string().optional(),
      issuetype: Named.optional(),
      labels: z.array(z.string()).optional(),
    })
    .optional(),
});

/**
 * One issue in any of the shapes we meet: Jira REST (`{key, fields}`), the create response
 * (`{key, id, self}`), or the self-hosted `{message, issue: {...}}` wrapper.
 * Undefined when there is no valid key: a garbled result must never become a link.
 */
export function readIssue(value: unknown): IssueFacts | undefined {
  const candidate =
    typeof value === 'object' && value !== null && 'issue' in value && !('key' in value) ? (value as { issue: unknown }).issue : value;
  const parsed = IssueShape.safeParse(candidate);
  if (!parsed.success || !ISSUE_KEY.test(parsed.data.key)) return undefined;
  const issue = parsed.data;
  return {
    key: issue.key,
    summary: issue.fields?.summary ?? issue.summary,
    issueType: issue.fields?.issuetype ?? issue.issue_type,
    labels: issue.fields?.labels ?? issue.labels,
    browseUrl: issue.browse_url,
  };
}

/** Issues of a search result (`{issues: [...]}` from either server); entries without a valid key are skipped. */
export function readSearchResult(value: unknown): IssueFacts[] | undefined {
  const issues = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { issues?: unknown }).issues : value;
  if (!Array.isArray(issues)) return undefined;
  return issues.flatMap((issue) => {
    const facts = readIssue(issue);
    return facts === undefined ? [] : [facts];
  });
}

const IssueType = z.looseObject({ name: z.string().trim().min(1).max(255), subtask: z.boolean().optional() });
const MAX_ISSUE_TYPES = 200;

/**
 * Issue type names from any of the shapes we meet: Jira's createmeta page (`{issueTypes}` or
 * `{values}`, Rovo), or a bare array (self-hosted). Sub-task types are left out: a published
 * document is never a sub-task. Undefined when the value is no list at all.
 */
export function readIssueTypes(value: unknown): string[] | undefined {
  const record = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const list = Array.isArray(value) ? value : (record?.issueTypes ?? record?.values ?? record?.issue_types);
  if (!Array.isArray(list)) return undefined;
  const names = new Set<string>();
  for (const entry of list) {
    const parsed = IssueType.safeParse(entry);
    if (parsed.success && parsed.data.subtask !== true) names.add(parsed.data.name);
    if (names.size >= MAX_ISSUE_TYPES) break;
  }
  return [...names];
}

/** `atlassianUserInfo`'s `email`: one bounded address, or undefined. */
export function readAccountEmail(value: unknown): string | undefined {
  const email = typeof value === 'object' && value !== null ? (value as { email?: unknown }).email : undefined;
  return typeof email === 'string' && email.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(email.trim()) ? email.trim() : undefined;
}

export interface AtlassianSite {
  id: string;
  url: string;
  name: string;
}

const Site = z.looseObject({ id: z.string().min(1).max(200), url: z.string().max(2000), name: z.string().max(500).optional() });

/** `getAccessibleAtlassianResources` lists a site once per scope group: keep the first of each id. */
export function readSites(value: unknown): AtlassianSite[] | undefined {
  const list = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null
      ? (value as { resources?: unknown }).resources
      : undefined;
  if (!Array.isArray(list)) return undefined;
  const sites = new Map<string, AtlassianSite>();
  for (const entry of list) {
    const parsed = Site.safeParse(entry);
    if (!parsed.success || sites.has(parsed.data.id) || hostOf(parsed.data.url) === undefined) continue;
    sites.set(parsed.data.id, { id: parsed.data.id, url: parsed.data.url, name: parsed.data.name ?? parsed.data.url });
  }
  return [...sites.values()];
}

/** Sites are matched by host: the configured URL may differ in scheme case, path or trailing slash. */
export function findSite(sites: readonly AtlassianSite[], siteUrl: string): AtlassianSite | undefined {
  const host = hostOf(siteUrl);
  return host === undefined ? undefined : sites.find((site) => hostOf(site.url) === host);
}

export function hostOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.host.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/** `<site>/browse/<key>`, built from our own configuration rather than from the server's answer. */
export function browseUrl(siteUrl: string, key: string): string {
  const base = siteUrl.replace(/\/+$/, '');
  return `${base}/browse/${encodeURIComponent(key)}`;
}

/** The server's `browse_url` only when it points at the same site and the same key. */
export function chooseBrowseUrl(siteUrl: string, key: string, offered: string | undefined): string {
  if (offered !== undefined) {
    try {
      const url = new URL(offered);
      const site = new URL(siteUrl);
      if (url.origin === site.origin && url.pathname.endsWith(`/browse/${key}`) && url.search === '' && url.hash === '') return url.href;
    } catch {
      // fall through to the built URL
    }
  }
  return browseUrl(siteUrl, key);
}
