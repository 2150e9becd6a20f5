/**
 * The three tool dialects of the fake, registered on an official-SDK McpServer (one per session).
 * Shapes follow /work/shared/reference/atlassian-mcp.md: Rovo v1 (A.3), Rovo v2 (primaries +
 * discover/executeRead/executeWrite), and sooperset/mcp-atlassian (Part B).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { JiraAuthError, JiraError, hierarchyLevel } from './jira.ts';
import {
  SENTENCES,
  TOKEN_CHECK_CACHE_MS,
  WRAPPED_OUTPUT_SCHEMA,
  inputSchema,
  markdownToWiki,
  toolError,
  wrappedResult,
} from './mcp-atlassian-wire.ts';
import type { FakeIssue, FakeJira, FakeSite, FakeToken } from './jira.ts';

export type FakeDialect = 'rovo-v1' | 'rovo-v2' | 'self-hosted';

export interface ToolOverride {
  result: CallToolResult;
  /** Run the real operation first (so an issue may be created), then answer with `result`. */
  afterEffect: boolean;
}

export interface ToolContext {
  jira: FakeJira;
  dialect: FakeDialect;
  /** Rovo: also set `isError: true` on `{"error":true,…}` results (undocumented whether the real one does). */
  rovoErrorsAsIsError: boolean;
  /** Rovo: list each site once per scope group, as the real server is seen to do. */
  duplicateResources: boolean;
  /** Self-hosted: list `jira_get_project_issue_types` (sooperset's `jira_projects` toolset). */
  projectsToolset: boolean;
  takeOverride(operation: string): ToolOverride | undefined;
  onIssueCreated(issue: FakeIssue): void;
  selfHosted: SelfHostedState;
}

/** How the self-hosted server is deployed, and what it remembers between calls. */
export interface SelfHostedState {
  /** `cloud`: Bearer + X-Atlassian-Cloud-Id to api.atlassian.com; `dc`: Bearer to JIRA_URL. */
  deployment: 'cloud' | 'dc';
  /** Server/DC: the JIRA_URL the server talks to (a site of the fake Jira). */
  jiraUrl: string | undefined;
  /** Jira's 401 body is JSON, so an expired token on create reads only `HTTPError`. */
  jsonUnauthorizedBody: boolean;
  /** Tokens that passed the `/myself` check, by token and cloud id (cached 300 s). */
  checkedTokens: Map<string, number>;
}

interface Extra {
  authInfo?: AuthInfo | undefined;
}

/** Wire a fresh McpServer for one session. */
export function registerTools(server: McpServer, context: ToolContext): void {
  if (context.dialect === 'self-hosted') registerSelfHosted(server, context);
  else registerRovo(server, context, context.dialect);
}

// --- shared plumbing -------------------------------------------------------------------------

function text(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }] };
}

/** A tool failure in the dialect's own words. */
export function errorResult(context: Pick<ToolContext, 'dialect' | 'rovoErrorsAsIsError'>, fn: string, message: string): CallToolResult {
  if (context.dialect === 'self-hosted') return toolError(fn, message);
  const result = text({ error: true, message });
  return context.rovoErrorsAsIsError ? { ...result, isError: true } : result;
}

async function handle(
  context: ToolContext,
  operation: string,
  fn: string,
  extra: Extra,
  work: (caller: FakeToken) => unknown,
): Promise<CallToolResult> {
  const override = context.takeOverride(operation);
  if (override !== undefined && !override.afterEffect) return override.result;
  let result: CallToolResult;
  try {
    const caller = context.jira.validToken(extra.authInfo?.token);
    if (caller === undefined) throw new JiraAuthError('Unauthorized');
    result = text(await work(caller));
  } catch (error) {
    if (!(error instanceof JiraError)) throw error;
    result = errorResult(context, fn, error.message);
  }
  return override?.result ?? result;
}

function restIssue(site: FakeSite, issue: FakeIssue) {
  return {
    id: issue.id,
    key: issue.key,
    self: `${site.url}/rest/api/3/issue/${issue.id}`,
    fields: {
      summary: issue.summary,
      description: issue.description,
      labels: issue.labels,
      issuetype: { name: issue.issueType, subtask: issue.hierarchyLevel === -1, hierarchyLevel: issue.hierarchyLevel },
      project: { key: issue.projectKey },
      status: { name: 'To Do' },
      ...(issue.parent === undefined ? {} : { parent: { key: issue.parent } }),
      created: issue.created,
      updated: issue.updated,
    },
  };
}

// --- Rovo v1 and v2 --------------------------------------------------------------------------

const cloudIdSchema = z.string().describe("Cloud ID (UUID or site URL). If not working, use the 'getAccessibleAtlassianResources' tool");

function registerRovo(server: McpServer, context: ToolContext, dialect: 'rovo-v1' | 'rovo-v2'): void {
  const { jira } = context;

  server.registerTool(
    'getAccessibleAtlassianResources',
    { description: 'Sites the user can access', inputSchema: {} },
    async (_args, extra) =>
      handle(context, 'getAccessibleAtlassianResources', 'getAccessibleAtlassianResources', extra, (caller) => {
        const groups = context.duplicateResources ? [['read:jira-work'], ['write:jira-work']] : [['read:jira-work', 'write:jira-work']];
        return jira.accessibleSites(caller).flatMap((site) =>
          groups.map((scopes) => ({
            id: site.id,
            url: site.url,
            name: site.name,
            scopes,
            avatarUrl: `${site.url}/avatar.png`,
          })),
        );
      }),
  );

  server.registerTool('atlassianUserInfo', { description: 'The current user', inputSchema: {} }, async (_args, extra) =>
    handle(context, 'atlassianUserInfo', 'atlassianUserInfo', extra, (caller) => ({
      account_id: caller.account.accountId,
      name: caller.account.name,
      email: caller.account.email,
      account_status: 'active',
    })),
  );

  const createShape: z.ZodRawShape = {
    cloudId: cloudIdSchema,
    projectKey: z.string(),
    ...(dialect === 'rovo-v1'
      ? { issueTypeName: z.string().describe('Type (Task, Bug, Story)') }
      : { issueType: z.string().describe('Issue type name') }),
    summary: z.string(),
    description: z.string().optional().describe('Description (Markdown)'),
    parent: z.string().optional().describe('Parent for subtasks'),
    ...(dialect === 'rovo-v1'
      ? { assignee_account_id: z.string().optional() }
      : { assignee: z.string().optional(), priority: z.string().optional() }),
    additional_fields: z.record(z.string(), z.unknown()).optional(),
  };
  server.registerTool(
    'createJiraIssue',
    { description: 'Create a Jira issue', inputSchema: createShape },
    async (args: Record<string, unknown>, extra: Extra) =>
      handle(context, 'createJiraIssue', 'createJiraIssue', extra, (caller) => {
        const a = args as Record<string, unknown> & { cloudId: string; projectKey: string; summary: string };
        const site = jira.site(caller, a.cloudId);
        const issueType = String(a.issueTypeName ?? a.issueType ?? '');
        const fields = { ...((a.additional_fields as Record<string, unknown> | undefined) ?? {}) };
        if (dialect === 'rovo-v2' && typeof a.priority === 'string') fields.priority = { name: a.priority };
        const issue = jira.create(caller, site, {
          projectKey: a.projectKey,
          issueType,
          summary: a.summary,
          description: a.description as string | undefined,
          parent: a.parent as string | undefined,
          fields,
        });
        context.onIssueCreated(issue);
        return { id: issue.id, key: issue.key, self: `${site.url}/rest/api/3/issue/${issue.id}` };
      }),
  );

  const operations = rovoOperations(context);
  if (dialect === 'rovo-v1') {
    for (const [name, operation] of Object.entries(operations)) {
      if (operation.v1 === undefined) continue;
      server.registerTool(
        operation.v1,
        { description: operation.description, inputSchema: { cloudId: cloudIdSchema, ...operation.shape } },
        async (args, extra) =>
          handle(context, operation.v1 ?? name, operation.v1 ?? name, extra, (caller) => {
            const { cloudId, ...inputs } = args as Record<string, unknown> & { cloudId: string };
            return operation.run(caller, jira.site(caller, cloudId), inputs);
          }),
      );
    }
    return;
  }

  // v2: everything else is reached through discover + executeRead / executeWrite.
  server.registerTool(
    'discover',
    { description: 'Find the operation for a task', inputSchema: { query: z.string() } },
    async (args, extra) =>
      handle(context, 'discover', 'discover', extra, () => {
        const words = args.query.toLowerCase().split(/\W+/).filter(Boolean);
        return Object.entries(operations)
          .filter(([name, op]) => words.length === 0 || words.some((word) => `${name} ${op.description}`.toLowerCase().includes(word)))
          .map(([name, op]) => ({ name, kind: op.kind, description: op.description, inputs: z.toJSONSchema(z.object(op.shape)) }));
      }),
  );
  for (const executor of ['executeRead', 'executeWrite'] as const) {
    const kind = executor === 'executeRead' ? 'read' : 'write';
    server.registerTool(
      executor,
      {
        description: `Run a ${kind} operation found with discover`,
        inputSchema: { name: z.string(), cloudId: cloudIdSchema, inputs: z.record(z.string(), z.unknown()).optional() },
      },
      async (args, extra) =>
        handle(context, args.name, args.name, extra, (caller) => {
          const operation = operations[args.name];
          if (operation === undefined) throw new JiraError(`Unknown operation '${args.name}'; use discover to find operations.`);
          if (operation.kind !== kind)
            throw new JiraError(
              `Operation '${args.name}' is a ${operation.kind} operation; use execute${operation.kind === 'read' ? 'Read' : 'Write'}.`,
            );
          const parsed = z.object(operation.shape).safeParse(args.inputs ?? {});
          if (!parsed.success)
            throw new JiraError(
              `Invalid inputs for ${args.name}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
            );
          return operation.run(caller, jira.site(caller, args.cloudId), parsed.data);
        }),
    );
  }
}

interface RovoOperation {
  /** Tool name in v1 (undefined: v2 only). */
  v1: string | undefined;
  kind: 'read' | 'write';
  description: string;
  shape: z.ZodRawShape;
  run(caller: FakeToken, site: FakeSite, inputs: Record<string, unknown>): unknown;
}

function rovoOperations(context: ToolContext): Record<string, RovoOperation> {
  const { jira } = context;
  const search: RovoOperation = {
    v1: 'searchJiraIssuesUsingJql',
    kind: 'read',
    description: 'Search Jira issues using JQL',
    shape: {
      jql: z.string(),
      maxResults: z.number().optional(),
      fields: z.array(z.string()).optional(),
      nextPageToken: z.string().optional(),
    },
    run: (_caller, site, inputs) => {
      const max = Math.min(Math.max(1, Number(inputs.maxResults ?? 50)), 100);
      const found = jira.search(site, String(inputs.jql));
      return { issues: found.slice(0, max).map((issue) => restIssue(site, issue)), isLast: found.length <= max };
    },
  };
  const getIssue: RovoOperation = {
    v1: 'getJiraIssue',
    kind: 'read',
    description: 'Get a Jira issue',
    shape: { issueIdOrKey: z.string(), fields: z.array(z.string()).optional(), expand: z.string().optional() },
    run: (_caller, site, inputs) => {
      const issue = jira.find(site, String(inputs.issueIdOrKey));
      if (issue === undefined) throw new JiraError('Issue does not exist or you do not have permission to see it.');
      return restIssue(site, issue);
    },
  };
  const edit: RovoOperation = {
    v1: 'editJiraIssue',
    kind: 'write',
    description: 'Edit a Jira issue',
    shape: { issueIdOrKey: z.string(), fields: z.record(z.string(), z.unknown()) },
    run: (_caller, site, inputs) => restIssue(site, jira.edit(site, String(inputs.issueIdOrKey), inputs.fields as Record<string, unknown>)),
  };
  const projects = (v1: string | undefined): RovoOperation => ({
    v1,
    kind: 'read',
    description: 'List Jira projects the user can see',
    shape: {
      searchString: z.string().optional(),
      action: z.string().optional(),
      maxResults: z.number().optional(),
      expandIssueTypes: z.boolean().optional(),
    },
    run: (caller, site, inputs) => ({
      values: jira.projects
        .filter((p) => p.cloudId === site.id && (inputs.action !== 'create' || !caller.denyCreateIn.includes(p.key)))
        .filter(
          (p) =>
            inputs.searchString === undefined || `${p.key} ${p.name}`.toLowerCase().includes(String(inputs.searchString).toLowerCase()),
        )
        .map((p) => ({ key: p.key, name: p.name, issueTypes: p.issueTypes.map((name, i) => ({ id: String(10_000 + i), name })) })),
      isLast: true,
    }),
  });
  const issueTypes = (v1: string | undefined): RovoOperation => ({
    v1,
    kind: 'read',
    description: 'Issue types of a Jira project',
    shape: { projectIdOrKey: z.string(), startAt: z.number().optional(), maxResults: z.number().optional() },
    run: (_caller, site, inputs) => {
      const project = jira.project(site, String(inputs.projectIdOrKey));
      if (project === undefined) throw new JiraError(`No project could be found with key '${String(inputs.projectIdOrKey)}'.`);
      // Jira Cloud's createmeta issue types carry `subtask` and `hierarchyLevel`.
      return {
        issueTypes: project.issueTypes.map((name, i) => {
          const level = hierarchyLevel(project, name);
          return { id: String(10_000 + i), name, subtask: level === -1, hierarchyLevel: level };
        }),
      };
    },
  });
  return context.dialect === 'rovo-v1'
    ? {
        searchJiraIssuesUsingJql: search,
        getJiraIssue: getIssue,
        editJiraIssue: edit,
        getVisibleJiraProjects: projects('getVisibleJiraProjects'),
        getJiraProjectIssueTypesMetadata: issueTypes('getJiraProjectIssueTypesMetadata'),
      }
    : {
        searchJiraIssuesUsingJql: search,
        getJiraIssue: getIssue,
        editJiraIssue: edit,
        listJiraProjects: projects(undefined),
        listJiraProjectIssueTypesMetadata: issueTypes(undefined),
      };
}

// --- sooperset/mcp-atlassian --------------------------------------------------------------------
// Wire shapes (wrapping, sentences, schemas) live in mcp-atlassian-wire.ts.

function simplifiedIssue(site: FakeSite, issue: FakeIssue, jira: FakeJira, browse: boolean, selfLink: string) {
  const project = jira.project(site, issue.projectKey);
  return {
    id: issue.id,
    key: issue.key,
    summary: issue.summary,
    url: selfLink,
    // Search and get results carry a browse URL built on JIRA_URL; the create result does not.
    ...(browse ? { browse_url: `${site.url}/browse/${issue.key}` } : {}),
    description: issue.description,
    status: { name: 'To Do', category: 'To Do' },
    issue_type: { name: issue.issueType },
    priority: { name: 'Medium' },
    project: { key: issue.projectKey, name: project?.name ?? issue.projectKey },
    assignee: null,
    reporter: { display_name: issue.reporter },
    labels: issue.labels,
    ...(issue.parent === undefined ? {} : { parent: { key: issue.parent } }),
    created: issue.created,
    updated: issue.updated,
  };
}

function parseJsonField(name: string, value: string | undefined): Record<string, unknown> {
  if (value === undefined || value === null || value.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new JiraError(`Invalid JSON in ${name}: expected a JSON object string`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new JiraError(`${name} must be a JSON object string`);
  return parsed as Record<string, unknown>;
}

interface SelfHostedTool {
  name: string;
  /** The Python function behind it, as named in error texts. */
  fn: string;
  description: string;
  shape: z.ZodRawShape;
  /** Whether a 401 here is reported as create reports it (`Unauthorized (401)` / `HTTPError`). */
  creates?: boolean;
  run(caller: FakeToken, site: FakeSite, args: Record<string, unknown>): unknown;
}

/** Who calls and on which site, as mcp-atlassian's UserTokenMiddleware and its `/myself` check decide. */
function selfHostedCaller(context: ToolContext, tool: SelfHostedTool, extra: Extra): { caller: FakeToken; site: FakeSite } {
  const { jira, selfHosted } = context;
  const token = extra.authInfo?.token;
  const cloudId = extra.authInfo?.extra?.cloudId;
  // Cloud: the Bearer goes to api.atlassian.com/ex/jira/<cloud id>; without the header it is a DC PAT
  // for JIRA_URL. Server/DC: the Bearer goes to JIRA_URL; a cloud id sends it to Atlassian instead.
  const site =
    typeof cloudId === 'string'
      ? selfHosted.deployment === 'cloud'
        ? jira.siteFor(cloudId)
        : undefined
      : selfHosted.deployment === 'dc' && selfHosted.jiraUrl !== undefined
        ? jira.siteFor(selfHosted.jiraUrl)
        : undefined;
  const found = jira.validToken(token);
  const valid = site !== undefined && found !== undefined && found.sites.includes(site.id);
  const checkKey = `${token ?? ''}|${typeof cloudId === 'string' ? cloudId : ''}`;
  const checkedAt = selfHosted.checkedTokens.get(checkKey);
  if (checkedAt === undefined || Date.now() - checkedAt > TOKEN_CHECK_CACHE_MS) {
    if (!valid) throw new JiraAuthError(SENTENCES.invalidUserToken);
    selfHosted.checkedTokens.set(checkKey, Date.now());
  } else if (!valid) {
    if (tool.creates === true)
      throw new JiraAuthError(selfHosted.jsonUnauthorizedBody ? SENTENCES.createHttpError : SENTENCES.createUnauthorized);
    throw new JiraAuthError(SENTENCES.authFailed);
  }
  return { caller: found as FakeToken, site: site as FakeSite };
}

function registerSelfHosted(server: McpServer, context: ToolContext): void {
  const { jira, selfHosted } = context;
  const restSelf = (site: FakeSite, issue: FakeIssue) =>
    selfHosted.deployment === 'cloud'
      ? `https://api.atlassian.com/ex/jira/${site.id}/rest/api/2/issue/${issue.id}`
      : `${site.url}/rest/api/2/issue/${issue.id}`;
  const description = (markdown: string | undefined) =>
    markdown === undefined || selfHosted.deployment === 'cloud' ? markdown : markdownToWiki(markdown);

  const tools: SelfHostedTool[] = [
    {
      name: 'jira_create_issue',
      fn: 'create_issue',
      creates: true,
      description: 'Create a new Jira issue with optional Epic link or parent for subtasks.',
      shape: {
        project_key: z
          .string()
          .regex(/^[A-Z][A-Z0-9_]+$/)
          .describe('The JIRA project key'),
        summary: z.string(),
        issue_type: z.string().describe('Issue type (e.g. Task, Bug, Story, Epic, Subtask)'),
        assignee: z.string().optional(),
        description: z.string().optional(),
        components: z.string().optional(),
        additional_fields: z.string().optional().describe('JSON string of additional fields, e.g. {"labels":["rfe"]}'),
      },
      run: (caller, site, args) => {
        const fields = parseJsonField('additional_fields', args.additional_fields as string | undefined);
        const issue = jira.create(caller, site, {
          projectKey: String(args.project_key),
          issueType: String(args.issue_type),
          summary: String(args.summary),
          description: description(args.description as string | undefined),
          fields,
        });
        context.onIssueCreated(issue);
        return { message: SENTENCES.created, issue: simplifiedIssue(site, issue, jira, false, restSelf(site, issue)) };
      },
    },
    {
      name: 'jira_update_issue',
      fn: 'update_issue',
      description: 'Update an existing Jira issue including changing status, adding Epic links, updating fields, etc.',
      shape: {
        issue_key: z.string(),
        fields: z.string().describe('JSON string of fields to update, e.g. {"summary": "New title"}'),
        additional_fields: z.string().optional(),
      },
      run: (_caller, site, args) => {
        const fields = {
          ...parseJsonField('fields', args.fields as string),
          ...parseJsonField('additional_fields', args.additional_fields as string | undefined),
        };
        if (typeof fields.description === 'string') fields.description = description(fields.description);
        const key = String(args.issue_key);
        if (jira.find(site, key) === undefined) throw new JiraError(SENTENCES.notFound(key));
        const issue = jira.edit(site, key, fields);
        return { message: SENTENCES.updated, issue: simplifiedIssue(site, issue, jira, true, restSelf(site, issue)) };
      },
    },
    {
      name: 'jira_search',
      fn: 'search',
      description: 'Search Jira issues using JQL (Jira Query Language).',
      shape: {
        jql: z.string(),
        fields: z.string().optional(),
        limit: z.number().int().min(1).max(50).optional(),
        page_token: z.string().optional(),
      },
      run: (_caller, site, args) => {
        const limit = typeof args.limit === 'number' ? args.limit : 10;
        const found = jira.search(site, String(args.jql));
        return {
          // Jira Cloud's enhanced search no longer counts: the server reports -1 there.
          total: selfHosted.deployment === 'cloud' ? -1 : found.length,
          start_at: 0,
          max_results: limit,
          issues: found.slice(0, limit).map((issue) => simplifiedIssue(site, issue, jira, true, restSelf(site, issue))),
        };
      },
    },
    ...(context.projectsToolset
      ? [
          {
            name: 'jira_get_project_issue_types',
            fn: 'get_project_issue_types',
            description: 'Get available issue types for a Jira project.',
            shape: {
              project_key: z
                .string()
                .regex(/^[A-Z][A-Z0-9_]+$/)
                .describe("Jira project key (e.g., 'PROJ', 'JTEST')"),
            },
            run: (_caller: FakeToken, site: FakeSite, args: Record<string, unknown>) => {
              const project = jira.project(site, String(args.project_key));
              if (project === undefined) throw new JiraError(`Project ${String(args.project_key)} not found.`);
              // A bare JSON array of compact types (servers/jira.py get_project_issue_types).
              return project.issueTypes.map((name, i) => ({
                id: String(10_000 + i),
                name,
                description: null,
                subtask: hierarchyLevel(project, name) === -1,
              }));
            },
          },
        ]
      : []),
    {
      name: 'jira_get_issue',
      fn: 'get_issue',
      description: 'Get details of a specific Jira issue.',
      shape: { issue_key: z.string(), fields: z.string().optional() },
      run: (_caller, site, args) => {
        const issue = jira.find(site, String(args.issue_key));
        if (issue === undefined) throw new JiraError(SENTENCES.notFound(String(args.issue_key)));
        return simplifiedIssue(site, issue, jira, true, restSelf(site, issue));
      },
    },
  ];

  for (const tool of tools) {
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: tool.shape },
      async (args: Record<string, unknown>, extra: Extra) => {
        const override = context.takeOverride(tool.name);
        if (override !== undefined && !override.afterEffect) return override.result;
        let result: CallToolResult;
        try {
          const { caller, site } = selfHostedCaller(context, tool, extra);
          result = wrappedResult(await tool.run(caller, site, args));
        } catch (error) {
          if (!(error instanceof JiraError)) throw error;
          result = toolError(tool.fn, error.message);
        }
        return override?.result ?? result;
      },
    );
  }
  // FastMCP's listing: the wrapper's output schema on every tool, strict inputs with `default: null`.
  server.server.removeRequestHandler('tools/list');
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: inputSchema(z.toJSONSchema(z.object(tool.shape)) as Record<string, unknown>) as { type: 'object' },
      outputSchema: { ...WRAPPED_OUTPUT_SCHEMA } as unknown as { type: 'object' },
    })),
  }));
}
