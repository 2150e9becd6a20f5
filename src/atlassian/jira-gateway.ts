/**
 * JiraGateway over the Atlassian MCP server (hosted Rovo v1/v2 or self-hosted mcp-atlassian),
 * acting as the Slack user whose credential `credentials` supplies.
 *
 * Steady state is one MCP request per publish (the create call): sessions, tool lists and the
 * user's sites are cached. Retries here are only the safe ones — a fresh token after a 401 and a
 * re-opened session after the server forgot it, once each; rate limits and outages go back to the
 * use case, which knows whether a retry could duplicate an issue.
 *
 * Every MCP request is counted (metrics by tool and status) and reported to a circuit breaker:
 * after repeated outages the gateway answers "unreachable" at once instead of queueing users
 * behind a dead server (see circuit-breaker.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { errors, isVteamError } from '../errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import {
  sessionKey,
  type CreateIssueRequest,
  type FindIssueRequest,
  type JiraIssue,
  type SlackUserRef,
  type UpdateIssueRequest,
} from '../publishing/model.ts';
import type { JiraGateway } from '../publishing/ports.ts';
import { buildCreateCall, buildEditCall, buildIssueTypesCall, buildSearchCall, labelSearchJql } from './arguments.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.ts';
import type { ClassicSites } from './classic-sites.ts';
import type { ToolCall } from './arguments.ts';
import type { AtlassianCredential, AtlassianCredentials } from './credentials.ts';
import { SITE_LOOKUP_TOOL, USER_INFO_TOOL } from './dialect.ts';
import type { McpGatewayProfile } from './gateway-profile.ts';
import { RecoverableFailure, classifyTransportError, isOutage } from './failures.ts';
import { newProbe } from './http.ts';
import type { CallProbe, FetchLike } from './http.ts';
import {
  readAccountEmail,
  browseUrl,
  chooseBrowseUrl,
  classifyFailure,
  findSite,
  readIssue,
  readIssueTypes,
  readSearchResult,
  readSites,
  readToolResult,
} from './results.ts';
import type { AtlassianSite } from './results.ts';
import { SessionPool, describe } from './session-pool.ts';
import type { InvokeMeta, McpSession, SessionPoolStats } from './session-pool.ts';

export interface McpJiraGatewayOptions {
  /** The MCP endpoint, e.g. https://mcp.atlassian.com/v1/mcp or http://mcp-atlassian:8000/mcp. */
  mcpUrl: string;
  credentials: AtlassianCredentials;
  logger?: Logger;
  fetch?: typeof fetch;
  /** Deadline for each MCP request. */
  callTimeoutMs?: number;
  /** Sessions unused this long are closed. */
  idleSessionMs?: number;
  /** How long a user's granted-sites list is trusted before it is read again. */
  siteCacheMs?: number;
  clientName?: string;
  clientVersion?: string;
  /** MCP calls by tool and status, and the circuit state. */
  metrics?: Pick<Metrics, 'mcpCalls' | 'circuitState'> | undefined;
  /** When to stop calling a failing server (default: 5 outages in 30 s open it for 30 s). */
  circuitBreaker?: CircuitBreakerOptions;
  /**
   * Classic 3LO tokens (self-hosted server): how a publish's site becomes the cloud id sent with
   * it. Without it, the credential's own `cloudId` is sent.
   */
  classicSites?: ClassicSites | undefined;
  /** A gateway in front of the server (MCP Context Forge): which answers are its own. */
  profile?: McpGatewayProfile | undefined;
}

/** Whether a gateway holding users' tokens has a working Atlassian authorization for the user. */
export type GatewayAccessCheck =
  | {
      state: 'authorized';
      sites: AtlassianSite[] | undefined;
      /** With `account`: the Atlassian account's email (atlassianUserInfo), when the server tells it. */
      accountEmail?: string | undefined;
    }
  | { state: 'unauthorized' };

export interface McpJiraGatewayStats {
  sessions: SessionPoolStats;
  toolCalls: number;
  siteLookups: number;
  credentialRetries: number;
  sessionReopens: number;
}

export type McpJiraGateway = JiraGateway & {
  listIssueTypes(user: SlackUserRef, request: { siteUrl: string; projectKey: string }): Promise<string[]>;
  /**
   * One read call as the user (their sites, or who they are): behind a gateway holding users'
   * tokens, the only way to learn whether the user has linked there. Throws the gateway's refusals.
   */
  checkAccess(user: SlackUserRef, options?: { account?: boolean }): Promise<GatewayAccessCheck>;
  /** Whether calls currently reach the MCP server (for jira-status and the rate limiter). */
  circuitState(): CircuitState;
  close(): Promise<void>;
  stats(): McpJiraGatewayStats;
};

const DEFAULTS = { callTimeoutMs: 30_000, idleSessionMs: 10 * 60_000, siteCacheMs: 60 * 60_000 };

export function createMcpJiraGateway(options: McpJiraGatewayOptions): McpJiraGateway {
  return new McpJiraGatewayImpl(options);
}

interface CallContext {
  user: SlackUserRef;
  session: McpSession;
  /** The self-hosted server's `X-Atlassian-Cloud-Id` for this operation's site, once chosen (null: none). */
  cloudIdHeader?: string | null | undefined;
}

class McpJiraGatewayImpl implements JiraGateway {
  private readonly credentials: AtlassianCredentials;
  private readonly logger: Logger | undefined;
  private readonly callTimeoutMs: number;
  private readonly siteCacheMs: number;
  private readonly probes = new AsyncLocalStorage<CallProbe>();
  private readonly pool: SessionPool;
  private readonly sites = new Map<string, { sites: AtlassianSite[]; readAt: number }>();
  private readonly counters = { toolCalls: 0, siteLookups: 0, credentialRetries: 0, sessionReopens: 0 };
  private readonly metrics: McpJiraGatewayOptions['metrics'];
  private readonly breaker: CircuitBreaker;
  private readonly classicSites: ClassicSites | undefined;
  private readonly profile: McpGatewayProfile | undefined;

  constructor(options: McpJiraGatewayOptions) {
    this.credentials = options.credentials;
    this.profile = options.profile;
    this.classicSites = options.classicSites;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.breaker = new CircuitBreaker({
      ...options.circuitBreaker,
      onStateChange: (state, previous) => {
        this.metrics?.circuitState.set(state === 'closed' ? 0 : 1);
        if (state === 'open') this.logger?.warn({ previous }, 'MCP server unreachable repeatedly; failing fast for a while');
        else if (state === 'closed') this.logger?.info({ previous }, 'MCP server reachable again');
        else this.logger?.info('letting one probe call through to the MCP server');
        options.circuitBreaker?.onStateChange?.(state, previous);
      },
    });
    this.metrics?.circuitState.set(0);
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULTS.callTimeoutMs;
    this.siteCacheMs = options.siteCacheMs ?? DEFAULTS.siteCacheMs;
    const baseFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
    this.pool = new SessionPool({
      mcpUrl: new URL(options.mcpUrl),
      fetch: baseFetch,
      probes: this.probes,
      invoke: (meta, request) => this.invoke(meta, request),
      idleMs: options.idleSessionMs ?? DEFAULTS.idleSessionMs,
      clientName: options.clientName ?? 'vteam-slack',
      clientVersion: options.clientVersion ?? '0.1.0',
      logger: this.logger,
    });
  }

  async createIssue(user: SlackUserRef, request: CreateIssueRequest): Promise<JiraIssue> {
    return this.run(user, 'createIssue', async (context) => {
      const { dialect } = context.session;
      if (dialect.create === undefined) throw errors.mcpNoCreateTool();
      const cloudId = await this.cloudIdFor(context, request.siteUrl);
      const call = buildCreateCall(dialect.create, dialect.family, request, cloudId);
      const value = await this.callTool(context, call, { mutating: true, projectKey: request.projectKey });
      const issue = readIssue(value);
      // Jira may have created the issue even though we cannot read its key: say "outcome unknown" so
      // the use case looks it up by label instead of creating a second one.
      if (issue === undefined) throw errors.mcpUnreachable(new Error('The create result carries no valid issue key'), true);
      return {
        key: issue.key,
        url: chooseBrowseUrl(request.siteUrl, issue.key, issue.browseUrl),
        summary: request.summary,
        issueType: issue.issueType ?? request.issueType,
      };
    });
  }

  async updateIssue(user: SlackUserRef, request: UpdateIssueRequest): Promise<JiraIssue> {
    return this.run(user, 'updateIssue', async (context) => {
      const { dialect } = context.session;
      if (dialect.edit === undefined) throw errors.mcpNoCreateTool('edit Jira issues');
      const cloudId = await this.cloudIdFor(context, request.siteUrl);
      const call = buildEditCall(
        dialect.edit,
        dialect.family,
        request.issueKey,
        { summary: request.summary, description: request.description },
        cloudId,
      );
      const projectKey = request.issueKey.replace(/-\d+$/, '');
      const value = await this.callTool(context, call, { mutating: true, projectKey });
      const issue = readIssue(value);
      return {
        key: request.issueKey,
        url: chooseBrowseUrl(request.siteUrl, request.issueKey, issue?.key === request.issueKey ? issue.browseUrl : undefined),
        summary: request.summary,
        issueType: issue?.key === request.issueKey ? (issue.issueType ?? '') : '',
      };
    });
  }

  async findIssueByLabel(user: SlackUserRef, request: FindIssueRequest): Promise<JiraIssue | undefined> {
    return this.run(user, 'findIssueByLabel', async (context) => {
      const { dialect } = context.session;
      if (dialect.search === undefined) throw errors.mcpNoCreateTool('search Jira issues');
      const cloudId = await this.cloudIdFor(context, request.siteUrl);
      const call = buildSearchCall(dialect.search, dialect.family, labelSearchJql(request.projectKey, request.label), cloudId);
      const value = await this.callTool(context, call, { mutating: false, projectKey: request.projectKey });
      const issues = readSearchResult(value);
      if (issues === undefined) throw errors.mcpUnreachable(new Error('The search result has no issue list'));
      // Trust the labels we can see over the server's JQL handling; keys must belong to the project.
      const match = issues.find(
        (issue) => issue.key.startsWith(`${request.projectKey}-`) && (issue.labels === undefined || issue.labels.includes(request.label)),
      );
      if (match === undefined) return undefined;
      return {
        key: match.key,
        url: chooseBrowseUrl(request.siteUrl, match.key, match.browseUrl),
        summary: match.summary ?? '',
        issueType: match.issueType ?? '',
      };
    });
  }

  /**
   * Issue types (not sub-tasks) the user may create in a project. Empty when the server offers no
   * such tool (sooperset without the `jira_projects` toolset): the caller then lets the user type one.
   */
  async listIssueTypes(user: SlackUserRef, request: { siteUrl: string; projectKey: string }): Promise<string[]> {
    return this.run(user, 'listIssueTypes', async (context) => {
      const route = context.session.dialect.issueTypes;
      if (route === undefined) return [];
      const cloudId = await this.cloudIdFor(context, request.siteUrl);
      const call = buildIssueTypesCall(route, context.session.dialect.family, request.projectKey, cloudId);
      const value = await this.callTool(context, call, { mutating: false, projectKey: request.projectKey });
      const types = readIssueTypes(value);
      if (types === undefined) throw errors.mcpUnreachable(new Error('The issue type list is not in the expected form'));
      return types;
    });
  }

  async checkAccess(user: SlackUserRef, options: { account?: boolean } = {}): Promise<GatewayAccessCheck> {
    try {
      return await this.run(user, 'checkAccess', async (context) => {
        const { dialect } = context.session;
        const read = options.account === true ? (dialect.userInfo ?? dialect.siteLookup) : (dialect.siteLookup ?? dialect.userInfo);
        if (read === undefined) {
          // The self-hosted server has neither: a search bounded to the last minute reads little.
          if (dialect.search === undefined) throw errors.mcpNoCreateTool('read Jira');
          const call = buildSearchCall(dialect.search, dialect.family, 'created >= -1m', undefined);
          await this.callTool(context, call, { mutating: false, projectKey: '' });
          return { state: 'authorized', sites: undefined };
        }
        const label = read === dialect.siteLookup ? SITE_LOOKUP_TOOL : USER_INFO_TOOL;
        const value = await this.callTool(context, { name: read, arguments: {}, label }, { mutating: false, projectKey: '' });
        const sites = read === dialect.siteLookup ? readSites(value) : undefined;
        if (sites !== undefined) this.sites.set(sessionKey(user), { sites, readAt: Date.now() });
        return { state: 'authorized', sites, accountEmail: read === dialect.userInfo ? readAccountEmail(value) : undefined };
      });
    } catch (error) {
      if (isVteamError(error, 'NOT_LINKED') || isVteamError(error, 'AUTH_EXPIRED')) return { state: 'unauthorized' };
      throw error;
    }
  }

  browseUrl(siteUrl: string, key: string): string {
    return browseUrl(siteUrl, key);
  }

  circuitState(): CircuitState {
    return this.breaker.state();
  }

  stats(): McpJiraGatewayStats {
    return { sessions: this.pool.stats(), ...this.counters };
  }

  async close(): Promise<void> {
    await this.pool.close();
    this.sites.clear();
  }

  /** Acquire the user's session and run `work`, recovering once from a rejected token and once from a lost session. */
  private async run<T>(user: SlackUserRef, operation: string, work: (context: CallContext) => Promise<T>): Promise<T> {
    const key = sessionKey(user);
    const passage = this.breaker.tryPass();
    if (passage === 'refuse') {
      throw this.logged(
        key,
        operation,
        errors.mcpUnreachable(
          new Error(`Not calling the MCP server (circuit open until ${new Date(this.breaker.retryAt() ?? Date.now()).toISOString()})`),
        ),
      );
    }
    try {
      return await this.runPassed(user, key, operation, work);
    } finally {
      if (passage === 'probe') this.breaker.endProbe();
    }
  }

  private async runPassed<T>(user: SlackUserRef, key: string, operation: string, work: (context: CallContext) => Promise<T>): Promise<T> {
    let credential: AtlassianCredential | undefined = await this.credentials.current(user);
    if (credential === undefined) throw errors.notLinked();
    let refreshed = false;
    let retriedFresh = false;
    let reopened = false;
    for (;;) {
      let session: McpSession | undefined;
      try {
        session = await this.pool.acquire(key, credential);
        try {
          return await work({ user, session });
        } finally {
          this.pool.release(session);
        }
      } catch (error) {
        if (!(error instanceof RecoverableFailure)) {
          this.logFailure(key, operation, error);
          throw error;
        }
        if (error.kind === 'session-lost') {
          if (session !== undefined) await this.pool.discard(session);
          if (!reopened) {
            reopened = true;
            this.counters.sessionReopens += 1;
            this.logger?.info({ session: key, operation }, 'MCP server forgot the session; re-initializing');
            continue;
          }
          throw this.logged(key, operation, errors.mcpUnreachable(error.cause));
        }
        // kind === 'auth'
        if (!refreshed && this.credentials.afterRejection !== undefined) {
          refreshed = true;
          const next: AtlassianCredential | undefined = await this.credentials.afterRejection(user, credential.accessToken);
          if (next !== undefined) {
            this.counters.credentialRetries += 1;
            this.logger?.info({ session: key, operation }, 'MCP server rejected the credential; retrying once with a fresh one');
            credential = next;
            retriedFresh = true;
            continue;
          }
        }
        // A bare HTTPError that a fresh token did not cure was not about the token: Jira's refusal stands.
        const final =
          retriedFresh && !error.certain
            ? errors.jiraRejected('Jira refused the request without saying why (HTTPError)')
            : errors.authExpired(error.cause);
        throw this.logged(key, operation, final);
      }
    }
  }

  /**
   * Rovo needs the site's cloud id as an argument; the self-hosted server takes it as a header
   * with classic tokens (chosen here per site, sent by the fetch wrapper) and never as an argument.
   */
  private async cloudIdFor(context: CallContext, siteUrl: string): Promise<string | undefined> {
    const { session } = context;
    if (session.dialect.family === 'self-hosted') {
      if (this.classicSites !== undefined) {
        context.cloudIdHeader =
          (await this.classicSites.cloudIdFor(context.user, sessionKey(context.user), session.credential, siteUrl)) ?? null;
      }
      return undefined;
    }
    // Without a lookup tool, Rovo accepts the site URL itself as the cloud id.
    const siteLookup = session.dialect.siteLookup;
    if (siteLookup === undefined) return session.credential.cloudId ?? siteUrl;

    const key = sessionKey(context.user);
    const cached = this.sites.get(key);
    if (cached !== undefined && Date.now() - cached.readAt < this.siteCacheMs) {
      const site = findSite(cached.sites, siteUrl);
      if (site !== undefined) return site.id;
    }
    // Unknown or stale: read again, since the user may have granted the site since.
    this.counters.siteLookups += 1;
    const lookup = { name: siteLookup, arguments: {}, label: SITE_LOOKUP_TOOL };
    const value = await this.callTool(context, lookup, { mutating: false, projectKey: '' });
    const sites = readSites(value);
    if (sites === undefined) throw errors.mcpUnreachable(new Error('The site list is not in the expected form'));
    this.sites.set(key, { sites, readAt: Date.now() });
    const site = findSite(sites, siteUrl);
    if (site === undefined) throw errors.siteNotGranted(siteUrl);
    return site.id;
  }

  private async callTool(context: CallContext, call: ToolCall, meta: { mutating: boolean; projectKey: string }): Promise<unknown> {
    this.counters.toolCalls += 1;
    const tool = toolLabel(call);
    const result = await this.invoke({ tool, mutating: meta.mutating, recordSuccess: false, cloudId: context.cloudIdHeader }, (options) =>
      context.session.client.request(
        { method: 'tools/call', params: { name: call.name, arguments: call.arguments } },
        CallToolResultSchema,
        options,
      ),
    );
    const outcome = readToolResult(result, { wrapped: context.session.dialect.wrappedResults.has(call.name) });
    this.metrics?.mcpCalls.inc({ tool, status: outcome.kind === 'failed' ? 'error' : outcome.kind });
    if (outcome.kind === 'ok') return outcome.value;
    if (outcome.kind === 'garbled') {
      throw errors.mcpUnreachable(new Error(`Unreadable result from ${call.name}: ${outcome.reason}`), meta.mutating);
    }
    const ownAnswer = this.profile?.toolFailure(outcome.message);
    if (ownAnswer !== undefined) throw ownAnswer;
    const failure = classifyFailure(outcome.message, meta.projectKey);
    if (failure.kind === 'auth') throw new RecoverableFailure('auth', new Error(failure.message), failure.certain);
    if (failure.kind === 'rate-limited') throw errors.rateLimited(failure.retryAfterMs, new Error(failure.message));
    throw failure.error;
  }

  /** One MCP request under a deadline, with its HTTP outcome recorded by the fetch wrapper. */
  private async invoke<T>(meta: InvokeMeta, request: (options: { signal: AbortSignal; timeout: number }) => Promise<T>): Promise<T> {
    const timeoutMs = meta.timeoutMs ?? this.callTimeoutMs;
    const controller = new AbortController();
    const probe = newProbe(controller.signal, meta.cloudId);
    const timer = setTimeout(() => {
      probe.timedOut = true;
      controller.abort(new Error(`MCP request timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      // Our deadline fires first; the SDK's own timeout is only a backstop.
      const value = await this.probes.run(probe, () => request({ signal: controller.signal, timeout: timeoutMs + 5_000 }));
      this.breaker.success();
      if (meta.recordSuccess !== false) this.metrics?.mcpCalls.inc({ tool: meta.tool, status: 'ok' });
      return value;
    } catch (error) {
      if (isOutage(error, probe)) this.breaker.failure();
      else this.breaker.success();
      this.metrics?.mcpCalls.inc({ tool: meta.tool, status: failureStatus(error, probe) });
      // The gateway's own refusals (its 401/403/404) are about its setup, never the user's Atlassian token.
      const refusal = error instanceof StreamableHTTPError ? this.profile?.httpRefusal(error.code ?? 0, error.message) : undefined;
      throw refusal ?? classifyTransportError(error, probe, meta.mutating);
    } finally {
      clearTimeout(timer);
    }
  }

  private logFailure(session: string, operation: string, error: unknown): void {
    if (isVteamError(error)) {
      // A gateway's "not linked yet" is the expected answer while a user is linking (asked every few seconds).
      const level = error.code === 'NOT_LINKED' ? 'debug' : 'warn';
      this.logger?.[level](
        { session, operation, code: error.code, outcomeUnknown: error.outcomeUnknown, err: describe(error.cause) },
        'Jira call through MCP failed',
      );
    } else {
      this.logger?.error({ session, operation, err: describe(error) }, 'Jira call through MCP failed unexpectedly');
    }
  }

  private logged<E>(session: string, operation: string, error: E): E {
    this.logFailure(session, operation, error);
    return error;
  }
}

/** Metric label of a tool call: canonical names (`executeRead/<operation>` for execute tools), same behind a gateway. */
function toolLabel(call: ToolCall): string {
  return call.label;
}

/** Metric status of a failed request: its HTTP status when the server answered, else how it failed. */
function failureStatus(error: unknown, probe: CallProbe): string {
  if (probe.timedOut) return 'timeout';
  if (probe.status !== undefined && probe.status >= 400) return `http_${probe.status}`;
  if (error instanceof McpError) return 'error';
  return 'unreachable';
}
