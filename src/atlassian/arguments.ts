/**
 * Builds `tools/call` parameters for each dialect. Pure: the gateway decides *when* to call, these
 * functions decide *what* to send, from what the live schema declares.
 */
import type { CreateIssueRequest } from '../publishing/model.ts';
import { encodingOf } from './dialect.ts';
import type { CreateTool, Dialect, FieldEncoding, OperationRoute } from './dialect.ts';

export interface ToolCall {
  /** The tool as listed: what is called. */
  name: string;
  arguments: Record<string, unknown>;
  /** Metric label from canonical names (`createJiraIssue`, `executeRead/searchJiraIssuesUsingJql`): unchanged behind a gateway. */
  label: string;
}

/** How many issues a label search asks for: one is expected, a few more reveal duplicates. */
export const LABEL_SEARCH_LIMIT = 10;

export function buildCreateCall(
  tool: CreateTool,
  family: Dialect['family'],
  request: CreateIssueRequest,
  cloudId: string | undefined,
): ToolCall {
  const args: Record<string, unknown> = {
    [tool.projectKey]: request.projectKey,
    [tool.issueType]: request.issueType,
    [tool.summary]: request.summary,
  };
  if (tool.cloudId !== undefined && cloudId !== undefined) args[tool.cloudId] = cloudId;
  if (tool.description !== undefined) args[tool.description] = request.description;

  const additional: Record<string, unknown> = {};
  if (request.labels.length > 0) {
    if (tool.labels !== undefined) args[tool.labels] = [...request.labels];
    else additional.labels = [...request.labels];
  }
  if (request.parentKey !== undefined) {
    if (tool.parent !== undefined) args[tool.parent] = request.parentKey;
    // Jira REST wants {key}; the self-hosted server documents the bare key in additional_fields.
    else additional.parent = family === 'self-hosted' ? request.parentKey : { key: request.parentKey };
  }
  if (Object.keys(additional).length > 0) {
    if (tool.additionalFields === undefined) {
      // Nowhere to put them: dropping labels would break idempotency, so refuse loudly.
      throw new Error(`Tool ${tool.tool} declares no additional_fields argument for ${Object.keys(additional).join(', ')}`);
    }
    args[tool.additionalFields.name] = encode(additional, tool.additionalFields.encoding);
  }
  return { name: tool.tool, arguments: args, label: tool.operation };
}

export function buildSearchCall(route: OperationRoute, family: Dialect['family'], jql: string, cloudId: string | undefined): ToolCall {
  if (family === 'self-hosted') return callFor(route, { jql, limit: LABEL_SEARCH_LIMIT }, cloudId);
  return callFor(route, { jql, maxResults: LABEL_SEARCH_LIMIT, fields: ['summary', 'issuetype', 'labels'] }, cloudId);
}

export function buildEditCall(
  route: OperationRoute,
  family: Dialect['family'],
  issueKey: string,
  fields: { summary: string; description: string },
  cloudId: string | undefined,
): ToolCall {
  if (family === 'self-hosted') {
    // sooperset declares `fields` as a JSON string; honour an object if a build ever declares one.
    const declared = route.via === 'direct' ? route.properties.fields : undefined;
    const encoding = declared === undefined ? 'json-string' : encodingOf(declared);
    return callFor(route, { issue_key: issueKey, fields: encode(fields, encoding) }, cloudId);
  }
  return callFor(route, { issueIdOrKey: issueKey, fields: { ...fields } }, cloudId);
}

export function buildIssueTypesCall(
  route: OperationRoute,
  family: Dialect['family'],
  projectKey: string,
  cloudId: string | undefined,
): ToolCall {
  if (family === 'self-hosted') return callFor(route, { project_key: projectKey }, cloudId);
  return callFor(route, { projectIdOrKey: projectKey, maxResults: ISSUE_TYPES_LIMIT }, cloudId);
}

/** Far more issue types than any project has; one page is enough. */
export const ISSUE_TYPES_LIMIT = 100;

/** Direct calls carry `cloudId` among the arguments (when declared); execute calls at top level, never in `inputs`. */
function callFor(route: OperationRoute, inputs: Record<string, unknown>, cloudId: string | undefined): ToolCall {
  if (route.via === 'execute') {
    // The inner name stays canonical: gateways pass arguments through untouched.
    const args = { name: route.operation, ...(cloudId === undefined ? {} : { cloudId }), inputs };
    return { name: route.tool, arguments: args, label: `${route.executor}/${route.operation}` };
  }
  const declaresCloudId = Object.hasOwn(route.properties, 'cloudId') || Object.keys(route.properties).length === 0;
  const args = cloudId !== undefined && declaresCloudId ? { cloudId, ...inputs } : inputs;
  return { name: route.tool, arguments: args, label: route.operation };
}

function encode(value: Record<string, unknown>, encoding: FieldEncoding): unknown {
  return encoding === 'json-string' ? JSON.stringify(value) : value;
}

/**
 * `project = KEY AND labels = "label"`. Both values are quoted and escaped even though we generate
 * them, so nothing a project admin types can change the query.
 */
export function labelSearchJql(projectKey: string, label: string): string {
  return `project = ${jqlString(projectKey)} AND labels = ${jqlString(label)}`;
}

export function jqlString(value: string): string {
  // JQL string literals use backslash escapes; control characters have no business in a label.
  const cleaned = Array.from(value, (char) => (isControl(char) ? ' ' : char)).join('');
  return `"${cleaned.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function isControl(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f;
}
