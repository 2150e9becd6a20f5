/**
 * Which Atlassian MCP server we are talking to, decided from its live `tools/list` — never from the
 * URL — because Rovo v1 and v2 differ in argument names, v2 silently drops unknown ones, and the
 * self-hosted server (sooperset/mcp-atlassian) uses its own names and JSON-string fields.
 */

/** The parts of a JSON schema we look at. */
export interface PropertySchema {
  type?: string | string[] | undefined;
  [key: string]: unknown;
}

export interface ToolDescription {
  name: string;
  inputSchema?: { properties?: Record<string, PropertySchema> | undefined; required?: string[] | undefined } | undefined;
  outputSchema?: Record<string, unknown> | undefined;
}

/** Rovo takes the site as a `cloudId` argument; the self-hosted server takes it as a header. */
export type DialectFamily = 'rovo' | 'self-hosted';

/** How a value must be encoded for a property: as-is, or as a JSON string (FastMCP `str` params). */
export type FieldEncoding = 'object' | 'json-string';

/**
 * How to reach an operation: a listed tool, or an execute tool wrapping `{name, cloudId, inputs}` (Rovo v2).
 * `tool` is the name as listed (what is called); `operation` and `executor` are canonical names.
 */
export type OperationRoute =
  | { via: 'direct'; tool: string; operation: string; properties: Record<string, PropertySchema> }
  | { via: 'execute'; tool: string; executor: string; operation: string };

export interface CreateTool {
  /** The name as listed: what is called. */
  tool: string;
  /** The canonical name (`createJiraIssue`, `jira_create_issue`), for fall-backs and metric labels. */
  operation: string;
  /** Argument names as this server spells them. */
  projectKey: string;
  issueType: string;
  summary: string;
  description: string | undefined;
  cloudId: string | undefined;
  /** A top-level `parent` argument, when declared; otherwise the parent goes into additional fields. */
  parent: string | undefined;
  /** A top-level array `labels` argument, when declared; otherwise labels go into additional fields. */
  labels: string | undefined;
  additionalFields: { name: string; encoding: FieldEncoding } | undefined;
}

export interface Dialect {
  family: DialectFamily;
  create: CreateTool | undefined;
  search: OperationRoute | undefined;
  edit: OperationRoute | undefined;
  /** The issue types of a project (for the jira-config modal); undefined when the server has no such tool. */
  issueTypes: OperationRoute | undefined;
  /** Listed name of getAccessibleAtlassianResources: Rovo lists a token's sites; the self-hosted server has none. */
  siteLookup: string | undefined;
  /** Listed name of Rovo's atlassianUserInfo, when offered. */
  userInfo: string | undefined;
  /** Tools whose results FastMCP wraps as `{result: "<text>"}` (mcp-atlassian: every string-returning tool). */
  wrappedResults: ReadonlySet<string>;
}

export const SITE_LOOKUP_TOOL = 'getAccessibleAtlassianResources';
export const USER_INFO_TOOL = 'atlassianUserInfo';

const SELF_HOSTED = { create: 'jira_create_issue', search: 'jira_search', edit: 'jira_update_issue' } as const;
const ROVO = { create: 'createJiraIssue', search: 'searchJiraIssuesUsingJql', edit: 'editJiraIssue' } as const;
/** sooperset lists it only with `TOOLSETS` including `jira_projects`. */
const SELF_HOSTED_ISSUE_TYPES = 'jira_get_project_issue_types';
/** v1 lists `getJiraProjectIssueTypesMetadata`; v2 reaches `listJiraProjectIssueTypesMetadata` through executeRead. */
const ROVO_ISSUE_TYPES = { v1: 'getJiraProjectIssueTypesMetadata', v2: 'listJiraProjectIssueTypesMetadata' } as const;
const EXECUTE_READ = ['executeRead', 'execute'] as const;
const EXECUTE_WRITE = ['executeWrite', 'execute'] as const;

/** How a gateway renames the tools of a server behind it: `<prefix><separator><transform(canonical name)>`. */
export interface GatewayToolNaming {
  readonly gateway: string;
  readonly separators: readonly string[];
  readonly transform: (canonical: string, separator: string) => string;
}

/** Context Forge's slug: lower case, its words joined by the separator (as MCF joins them), none at either end. */
export function slugify(name: string, separator = '-'): string {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .join(separator);
}

/** Gateway namings are data: another gateway is one more row, not another code path. */
export const GATEWAY_TOOL_NAMINGS: readonly GatewayToolNaming[] = [
  // IBM MCP Context Forge; the separator is its configurable GATEWAY_TOOL_NAME_SEPARATOR (reference Part D).
  { gateway: 'contextforge', separators: ['-', '--', '_', '__', '.'], transform: slugify },
];

/** `listed` is `<non-empty prefix><separator><transform(canonical)>` under one of the namings. */
export function isGatewayName(listed: string, canonical: string, namings: readonly GatewayToolNaming[] = GATEWAY_TOOL_NAMINGS): boolean {
  return namings.some(({ separators, transform }) => {
    return separators.some((separator) => {
      const tool = transform(canonical, separator);
      return listed.length > separator.length + tool.length && listed.endsWith(separator + tool);
    });
  });
}

/** The listed tool offering `canonical`: an exact name wins, else the first gateway-named one in listing order. */
export function findTool(tools: readonly ToolDescription[], canonical: string): ToolDescription | undefined {
  return tools.find((tool) => tool.name === canonical) ?? tools.find((tool) => isGatewayName(tool.name, canonical));
}

type Find = (canonical: string) => ToolDescription | undefined;

export function detectDialect(tools: readonly ToolDescription[]): Dialect {
  const find: Find = (canonical) => findTool(tools, canonical);
  const family: DialectFamily = find(SELF_HOSTED.create) !== undefined && find(ROVO.create) === undefined ? 'self-hosted' : 'rovo';
  const names = family === 'self-hosted' ? SELF_HOSTED : ROVO;
  const createTool = find(names.create);
  return {
    family,
    create: createTool === undefined ? undefined : describeCreateTool(createTool, names.create),
    search: route(find, names.search, EXECUTE_READ),
    edit: route(find, names.edit, EXECUTE_WRITE),
    issueTypes:
      family === 'self-hosted'
        ? route(find, SELF_HOSTED_ISSUE_TYPES, [])
        : (route(find, ROVO_ISSUE_TYPES.v1, []) ?? route(find, ROVO_ISSUE_TYPES.v2, EXECUTE_READ)),
    siteLookup: find(SITE_LOOKUP_TOOL)?.name,
    userInfo: find(USER_INFO_TOOL)?.name,
    // Keyed by listed name: results are looked up with the name that was called.
    wrappedResults: new Set(tools.filter((tool) => wrapsResult(tool)).map((tool) => tool.name)),
  };
}

/** FastMCP marks the wrapper in the advertised output schema (reference Part B). */
export function wrapsResult(tool: ToolDescription): boolean {
  return tool.outputSchema?.['x-fastmcp-wrap-result'] === true;
}

function route(find: Find, operation: string, executors: readonly string[]): OperationRoute | undefined {
  const direct = find(operation);
  if (direct !== undefined) return { via: 'direct', tool: direct.name, operation, properties: propertiesOf(direct) };
  for (const executor of executors) {
    const tool = find(executor);
    if (tool !== undefined) return { via: 'execute', tool: tool.name, executor, operation };
  }
  return undefined;
}

/** `operation`: the canonical name the listed tool was resolved to (default: the listed name itself). */
export function describeCreateTool(tool: ToolDescription, operation: string = tool.name): CreateTool {
  const properties = propertiesOf(tool);
  const has = (name: string) => Object.hasOwn(properties, name);
  const first = (...candidates: string[]) => candidates.find(has);
  const additional = first('additional_fields', 'additionalFields');
  const labels = has('labels') && declaresType(properties.labels, 'array') ? 'labels' : undefined;
  return {
    tool: tool.name,
    operation,
    // Fall back to the documented spelling when a server publishes no schema at all.
    projectKey: first('projectKey', 'project_key') ?? (operation === SELF_HOSTED.create ? 'project_key' : 'projectKey'),
    issueType: first('issueTypeName', 'issueType', 'issue_type') ?? (operation === SELF_HOSTED.create ? 'issue_type' : 'issueTypeName'),
    summary: 'summary',
    description: has('description') || Object.keys(properties).length === 0 ? 'description' : undefined,
    cloudId: has('cloudId') ? 'cloudId' : undefined,
    parent: has('parent') ? 'parent' : undefined,
    labels,
    additionalFields: additional === undefined ? undefined : { name: additional, encoding: encodingOf(properties[additional]) },
  };
}

/** A property declared only as `string` must receive JSON text; anything else gets the object. */
export function encodingOf(schema: PropertySchema | undefined): FieldEncoding {
  if (schema === undefined) return 'object';
  return declaresType(schema, 'string') && !declaresType(schema, 'object') ? 'json-string' : 'object';
}

function declaresType(schema: PropertySchema | undefined, type: string): boolean {
  if (schema === undefined) return false;
  const declared = schema.type;
  if (declared === type || (Array.isArray(declared) && declared.includes(type))) return true;
  // FastMCP may emit `anyOf: [{type: string}, {type: null}]` for optional parameters.
  const anyOf = schema.anyOf;
  return (
    Array.isArray(anyOf) &&
    anyOf.some((branch) => typeof branch === 'object' && branch !== null && (branch as PropertySchema).type === type)
  );
}

function propertiesOf(tool: ToolDescription): Record<string, PropertySchema> {
  const properties = tool.inputSchema?.properties;
  return properties !== undefined && typeof properties === 'object' ? properties : {};
}
