/**
 * A loopback Atlassian MCP server for tests, built on the official SDK server (McpServer + the
 * SDK's Streamable HTTP transport, stateful sessions with mcp-session-id). It speaks one of three
 * tool dialects per instance and keeps an inspectable in-memory Jira behind them.
 *
 * The web-standard flavour of the SDK transport is used (the node one is a thin wrapper around it)
 * so a response can be held back and replaced: that is how "the issue was created but the answer
 * was a 502" is simulated.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { FakeJira } from './jira.ts';
import type { FakeIssue, FakeProject, FakeSite, FakeToken, ProjectInput, SiteInput, TokenInput } from './jira.ts';
import { SENTENCES } from './mcp-atlassian-wire.ts';
import { errorResult, registerTools } from './tools.ts';
import type { FakeDialect, ToolOverride } from './tools.ts';

export { FakeJira, JiraError, parseJql } from './jira.ts';
export type { FakeIssue, FakeProject, FakeSite, FakeToken, ProjectInput, SiteInput, TokenInput } from './jira.ts';
export type { FakeDialect } from './tools.ts';

export interface FakeMcpOptions {
  dialect: FakeDialect;
  /** MCP endpoint path; default `/v1/mcp` (rovo-v1), `/v2/mcp` (rovo-v2), `/mcp` (self-hosted). */
  path?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** How POST responses are sent; the SDK client handles both. Default `json`. */
  responseMode?: 'json' | 'sse';
  /**
   * Answer HTTP 429 with `Retry-After` to any POST arriving while `maxConcurrent` POSTs are already
   * in flight, as Rovo does above ~20 parallel calls (PRODUCT §8 burst target: 10).
   */
  rateLimit?: RateLimitMode;
  /** Rovo: set `isError: true` on error results too (default false: only the `{"error":true}` body). */
  rovoErrorsAsIsError?: boolean;
  /** Self-hosted: offer `jira_get_project_issue_types` (default true, as with TOOLSETS including jira_projects). */
  projectsToolset?: boolean;
  /**
   * Self-hosted: `cloud` (default) takes Bearer + X-Atlassian-Cloud-Id; `dc` sends the Bearer to
   * `jiraUrl` (a site of this fake). `jsonUnauthorizedBody`: an expired token on create reads `HTTPError`.
   */
  selfHosted?: { deployment?: 'cloud' | 'dc'; jiraUrl?: string; jsonUnauthorizedBody?: boolean };
  /** Rovo: list each site once per scope group (default true). */
  duplicateResources?: boolean;
  sites?: SiteInput[];
  projects?: ProjectInput[];
  tokens?: TokenInput[];
  /**
   * Accept OAuth access tokens from a real authorization server (as Rovo does): its issuer is named in
   * the protected-resource metadata, and a token is valid while `verify` says it was issued for this
   * endpoint. Such tokens are granted `sites`.
   */
  authorization?: {
    issuer: string;
    /** `email`: the account's, answered by atlassianUserInfo (default `<sub>@example.com`). */
    verify(token: string): Promise<{ sub: string; aud?: string | string[] | undefined; email?: string | undefined } | undefined>;
    sites: string[];
    /** The audience tokens must carry; default this endpoint (classic 3LO tokens: Atlassian's API gateway). */
    audience?: string;
  };
}

export interface RateLimitMode {
  maxConcurrent: number;
  /** Sent as `Retry-After`; default 1. 0 asks for an immediate retry. */
  retryAfterSeconds?: number;
}

export interface HttpFailure {
  /** 401, 429, 500, 502, … */
  status: number;
  /** Sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
  body?: string;
  /** Only requests carrying this JSON-RPC method, or this tool/operation (including inside executeRead/Write). */
  match?: { method?: string; tool?: string };
  /** Process the request first (so the issue may be created), then answer with the failure. */
  afterEffect?: boolean;
  /** Never answer (with `afterEffect`: after processing), as a server whose reply is lost. */
  hang?: boolean;
}

/** Which requests a gate or a hook applies to: a JSON-RPC method and/or a tool (as in HttpFailure.match). */
export interface RequestMatch {
  method?: string;
  tool?: string;
}

/** Requests held on arrival, before the server looks at them, until `release()`. */
export interface RequestGate {
  /** Resolves when the first matching request is held. */
  arrived: Promise<void>;
  /** How many requests are held right now. */
  readonly held: number;
  /** Lets the held requests (and any later matching ones) through; a request whose client is gone is dropped. */
  release(): void;
}

/** A failure of failNextRequests as it was applied to a request. */
export interface AppliedFailure {
  failure: HttpFailure;
  /** The operations of the request it was applied to (tool names, or JSON-RPC methods). */
  operations: string[];
  at: number;
}

export interface ToolCallRecord {
  /** The tool named in tools/call. */
  name: string;
  /** The operation: same as `name`, or the `name` inside executeRead/executeWrite. */
  operation: string;
  arguments: Record<string, unknown>;
  /** The bearer token the call came with (tests compare; never log it). */
  token: string | undefined;
  sessionId: string | undefined;
  /** The `X-Atlassian-Cloud-Id` header the call came with. */
  cloudId: string | undefined;
}

export interface FakeMcpCounters {
  /** Every HTTP request to the MCP path (POST, GET, DELETE), including failed ones. */
  httpRequests: number;
  httpPosts: number;
  initializes: number;
  sessionsOpened: number;
  sessionsTerminated: number;
  issuesCreated: number;
  toolCalls: ToolCallRecord[];
  /** POSTs being served right now (429s excluded). */
  inFlight: number;
  /** The most POSTs ever served at once (429s excluded). */
  peakInFlight: number;
  /** POSTs answered 429 by the `rateLimit` mode. */
  rateLimited: number;
}

export interface FakeMcpState {
  dialect: FakeDialect;
  listening: boolean;
  sites: FakeSite[];
  projects: FakeProject[];
  issues: FakeIssue[];
  openSessions: number;
  counters: FakeMcpCounters;
}

export interface FakeMcp {
  /** The MCP endpoint URL (stable across stop/start). */
  url: string;
  /** Scheme, host and port. */
  origin: string;
  dialect: FakeDialect;
  jira: FakeJira;
  close(): Promise<void>;

  addSite(input: SiteInput): FakeSite;
  addProject(input: ProjectInput): FakeProject;
  addToken(input: TokenInput): FakeToken;
  revokeToken(token: string): void;
  /** Accept tokens from a real authorization server from now on (see the `authorization` option). */
  setAuthorization(authorization: NonNullable<FakeMcpOptions['authorization']>): void;

  issues(filter?: { projectKey?: string; label?: string }): FakeIssue[];
  issue(key: string): FakeIssue | undefined;
  state(): FakeMcpState;
  counters: FakeMcpCounters;
  toolCalls(operation?: string): ToolCallRecord[];
  resetCounters(): void;

  setLatency(ms: number): void;
  /** Switch the 429-above-N mode on (or off with undefined). */
  setRateLimit(mode: RateLimitMode | undefined): void;
  failNextRequests(count: number, failure: HttpFailure): void;
  /** Every failure of failNextRequests taken so far, in order (the hung ones included). */
  appliedFailures(): AppliedFailure[];
  /**
   * Holds requests matching `match` as they arrive (after the latency, before failures, auth or
   * processing) until the gate is released; only the first `times` of them (default: all).
   * `clearFaults`, `close` and `stop` release it too.
   */
  gate(match: RequestMatch, options?: { times?: number }): RequestGate;
  /** Runs `run` synchronously when the next request matching `match` arrives (before it is processed). */
  onNextRequest(match: RequestMatch, run: () => void): void;
  /** Jira's eventually consistent search: issues show up in JQL search results only `ms` after creation. */
  setSearchLag(ms: number): void;
  /** The next `count` calls of `operation` fail with Jira's `message`, formatted as this dialect does. */
  failNextToolCalls(operation: string, count: number, message: string, options?: { afterEffect?: boolean }): void;
  /** The next `count` calls of `operation` answer with `result` verbatim (garbled or hostile results). */
  overrideNextToolResults(operation: string, count: number, result: CallToolResult, options?: { afterEffect?: boolean }): void;
  clearFaults(): void;
  /** The server forgets every session (as after a restart); old session ids get 404. */
  forgetSessions(): Promise<void>;
  /** Stop listening (connections refused) / listen again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

const DEFAULT_PATHS: Record<FakeDialect, string> = { 'rovo-v1': '/v1/mcp', 'rovo-v2': '/v2/mcp', 'self-hosted': '/mcp' };

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
}

export async function startFakeMcp(options: FakeMcpOptions): Promise<FakeMcp> {
  const dialect = options.dialect;
  const path = options.path ?? DEFAULT_PATHS[dialect];
  const jira = new FakeJira();
  for (const site of options.sites ?? []) jira.addSite(site);
  for (const project of options.projects ?? []) jira.addProject(project);
  for (const token of options.tokens ?? []) jira.addToken(token);

  const sessions = new Map<string, Session>();
  let authorization = options.authorization;
  const counters = emptyCounters();
  let latencyMs = 0;
  let rateLimit = options.rateLimit;
  let httpFailures: { remaining: number; failure: HttpFailure }[] = [];
  let toolOverrides: { operation: string; remaining: number; override: ToolOverride }[] = [];
  const applied: AppliedFailure[] = [];
  let gates: {
    match: RequestMatch;
    remaining: number;
    held: number;
    open: boolean;
    opened: Promise<void>;
    openGate: () => void;
    arrive: () => void;
  }[] = [];
  let hooks: { match: RequestMatch; run: () => void }[] = [];

  const toolContext = {
    jira,
    dialect,
    rovoErrorsAsIsError: options.rovoErrorsAsIsError ?? false,
    duplicateResources: options.duplicateResources ?? true,
    projectsToolset: options.projectsToolset ?? true,
    takeOverride(operation: string): ToolOverride | undefined {
      const entry = toolOverrides.find((candidate) => candidate.operation === operation && candidate.remaining > 0);
      if (entry === undefined) return undefined;
      entry.remaining -= 1;
      toolOverrides = toolOverrides.filter((candidate) => candidate.remaining > 0);
      return entry.override;
    },
    onIssueCreated: () => {
      counters.issuesCreated += 1;
    },
    selfHosted: {
      deployment: options.selfHosted?.deployment ?? 'cloud',
      jiraUrl: options.selfHosted?.jiraUrl,
      jsonUnauthorizedBody: options.selfHosted?.jsonUnauthorizedBody ?? false,
      checkedTokens: new Map<string, number>(),
    },
  };

  let origin = '';
  let port = options.port ?? 0;
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `fake MCP internal error: ${error instanceof Error ? error.message : String(error)}` }));
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    if (req.method === 'GET' && url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && url.pathname.startsWith('/.well-known/oauth-protected-resource')) {
      return json(res, 200, {
        resource: `${origin}${path}`,
        authorization_servers: [authorization?.issuer ?? `${origin}/auth`],
        bearer_methods_supported: ['header'],
      });
    }
    if (url.pathname !== path) return json(res, 404, { error: 'Not found' });

    const body = req.method === 'POST' ? await readBody(req) : '';
    counters.httpRequests += 1;
    if (req.method !== 'POST') return serve(req, res, url, body);
    counters.httpPosts += 1;
    if (rateLimit !== undefined && counters.inFlight >= rateLimit.maxConcurrent) {
      counters.rateLimited += 1;
      return fail(res, { status: 429, retryAfterSeconds: rateLimit.retryAfterSeconds ?? 1 });
    }
    counters.inFlight += 1;
    counters.peakInFlight = Math.max(counters.peakInFlight, counters.inFlight);
    try {
      return await serve(req, res, url, body);
    } finally {
      counters.inFlight -= 1;
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<void> {
    if (latencyMs > 0) await sleep(latencyMs);
    if (res.destroyed) return;

    const parsed = parseJson(body);
    const messages: JsonRpc[] = Array.isArray(parsed) ? parsed : parsed === undefined ? [] : [parsed as JsonRpc];

    const due = hooks.filter((hook) => matchesMessages(hook.match, messages));
    if (due.length > 0) {
      hooks = hooks.filter((hook) => !due.includes(hook));
      for (const hook of due) hook.run();
    }
    const gate = gates.find((candidate) => !candidate.open && candidate.remaining > 0 && matchesMessages(candidate.match, messages));
    if (gate !== undefined) {
      gate.remaining -= 1;
      gate.held += 1;
      gate.arrive();
      await gate.opened;
      gate.held -= 1;
      // The client gave up (or was killed) while held: the request never reaches Jira.
      if (res.destroyed || req.socket.destroyed) return;
    }

    const failure = takeHttpFailure(messages);
    if (failure !== undefined) applied.push({ failure: { ...failure }, operations: operationsOf(messages), at: Date.now() });
    if (failure !== undefined && failure.afterEffect !== true) return failure.hang === true ? undefined : fail(res, failure);

    const token = bearer(req);
    if (authorization !== undefined && token !== undefined) await checkIssuedToken(token, authorization);
    if (dialect === 'self-hosted') {
      if (req.headers.authorization === undefined) return json(res, 401, { error: SENTENCES.noCredentials });
      if (token === undefined)
        return json(res, 401, { error: 'Unauthorized: unsupported Authorization header (use Bearer, Token or Basic)' });
    } else if (jira.validToken(token) === undefined) {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource${path}"`,
      });
      res.end(JSON.stringify({ error: 'invalid_token', error_description: 'Missing or invalid access token' }));
      return;
    }

    if (req.method === 'GET') {
      // No standalone SSE stream: the spec lets a server answer 405, and the SDK client accepts it.
      res.writeHead(405, { allow: 'POST, DELETE' });
      res.end();
      return;
    }

    const sessionId = header(req, 'mcp-session-id');
    const cloudId = header(req, 'x-atlassian-cloud-id');
    let session: Session | undefined;
    if (sessionId !== undefined) {
      session = sessions.get(sessionId);
      if (session === undefined) return json(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    } else if (req.method === 'POST' && messages.some((m) => m.method === 'initialize')) {
      session = await openSession();
    } else {
      return json(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: No valid session ID provided' }, id: null });
    }

    for (const message of messages) {
      if (message.method === 'initialize') counters.initializes += 1;
      if (message.method === 'tools/call') {
        const name = String(message.params?.name ?? '');
        const args = (message.params?.arguments ?? {}) as Record<string, unknown>;
        const operation = name.startsWith('execute') && typeof args.name === 'string' ? args.name : name;
        counters.toolCalls.push({ name, operation, arguments: structuredClone(args), token, sessionId, cloudId });
      }
    }

    const request = new Request(url, {
      method: req.method ?? 'POST',
      headers: toHeaders(req),
      ...(req.method === 'POST' ? { body } : {}),
    });
    const response = await session.transport.handleRequest(request, {
      ...(parsed === undefined ? {} : { parsedBody: parsed }),
      ...(token === undefined ? {} : { authInfo: { token, clientId: 'fake-mcp-client', scopes: [], extra: { cloudId } } }),
    });
    if (failure !== undefined) {
      await response.text().catch(() => undefined);
      if (failure.hang === true) return;
      return fail(res, failure);
    }
    await send(res, response);
  }

  /** Tokens from the authorization server are checked on every request, so expiry and revocation apply. */
  async function checkIssuedToken(token: string, authorization: NonNullable<FakeMcpOptions['authorization']>): Promise<void> {
    if (options.tokens?.some((t) => t.token === token)) return;
    const verified = await authorization.verify(token).catch(() => undefined);
    const audiences = [verified?.aud].flat();
    if (verified !== undefined && audiences.includes(authorization.audience ?? `${origin}${path}`)) {
      if (jira.validToken(token) === undefined) {
        const email = verified.email === undefined ? {} : { email: verified.email };
        jira.addToken({ token, sites: authorization.sites, account: { accountId: verified.sub, name: verified.sub, ...email } });
      }
    } else {
      jira.tokens.delete(token);
    }
  }

  async function openSession(): Promise<Session> {
    const mcp = new McpServer({ name: 'fake-atlassian-mcp', version: '1.0.0' }, { capabilities: { tools: {} } });
    registerTools(mcp, toolContext);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: (options.responseMode ?? 'json') === 'json',
      onsessioninitialized: (id) => {
        sessions.set(id, session);
        counters.sessionsOpened += 1;
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
        counters.sessionsTerminated += 1;
      },
    });
    const session: Session = { transport, server: mcp };
    await mcp.connect(transport);
    return session;
  }

  function takeHttpFailure(messages: JsonRpc[]): HttpFailure | undefined {
    const index = httpFailures.findIndex(({ failure }) => matchesFailure(failure, messages));
    const entry = index === -1 ? undefined : httpFailures[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    httpFailures = httpFailures.filter((candidate) => candidate.remaining > 0);
    return entry.failure;
  }

  async function listen(): Promise<void> {
    const next = createServer(handler);
    next.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    port = (next.address() as AddressInfo).port;
    origin = `http://127.0.0.1:${port}`;
    server = next;
  }

  function releaseGates(): void {
    for (const gate of gates) gate.openGate();
    gates = [];
  }

  async function stopListening(): Promise<void> {
    releaseGates();
    const current = server;
    server = undefined;
    if (current === undefined) return;
    const closed = new Promise<void>((resolve) => current.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  }

  async function forgetSessions(): Promise<void> {
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.all(
      open.map(async (session) => {
        await session.server.close().catch(() => undefined);
      }),
    );
  }

  await listen();

  const fake: FakeMcp = {
    get url() {
      return `${origin}${path}`;
    },
    get origin() {
      return origin;
    },
    dialect,
    jira,
    async close() {
      await stopListening();
      await forgetSessions();
    },
    addSite: (input) => jira.addSite(input),
    addProject: (input) => jira.addProject(input),
    addToken: (input) => jira.addToken(input),
    setAuthorization(value) {
      authorization = value;
    },
    revokeToken(token) {
      const found = jira.tokens.get(token);
      if (found !== undefined) found.revoked = true;
    },
    issues(filter = {}) {
      return jira.issues
        .filter(
          (issue) =>
            (filter.projectKey === undefined || issue.projectKey === filter.projectKey) &&
            (filter.label === undefined || issue.labels.includes(filter.label)),
        )
        .map((issue) => structuredClone(issue));
    },
    issue(key) {
      const found = jira.issues.find((issue) => issue.key === key);
      return found === undefined ? undefined : structuredClone(found);
    },
    state() {
      return structuredClone({
        dialect,
        listening: server !== undefined,
        sites: jira.sites,
        projects: jira.projects,
        issues: jira.issues,
        openSessions: sessions.size,
        counters,
      });
    },
    counters,
    toolCalls(operation) {
      return counters.toolCalls.filter((call) => operation === undefined || call.operation === operation);
    },
    resetCounters() {
      Object.assign(counters, { ...emptyCounters(), inFlight: counters.inFlight });
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setRateLimit(mode) {
      rateLimit = mode;
    },
    failNextRequests(count, failure) {
      httpFailures.push({ remaining: count, failure });
    },
    appliedFailures() {
      return applied.map((entry) => ({ ...entry, failure: { ...entry.failure }, operations: [...entry.operations] }));
    },
    gate(match, { times = Number.POSITIVE_INFINITY } = {}) {
      let openGate: () => void = () => undefined;
      let arrive: () => void = () => undefined;
      const opened = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      const arrived = new Promise<void>((resolve) => {
        arrive = resolve;
      });
      const entry = {
        match,
        remaining: times,
        held: 0,
        open: false,
        opened,
        openGate: () => {
          entry.open = true;
          openGate();
        },
        arrive,
      };
      gates.push(entry);
      return {
        arrived,
        get held() {
          return entry.held;
        },
        release() {
          entry.openGate();
          gates = gates.filter((candidate) => candidate !== entry);
        },
      };
    },
    onNextRequest(match, run) {
      hooks.push({ match, run });
    },
    setSearchLag(ms) {
      jira.searchLagMs = ms;
    },
    failNextToolCalls(operation, count, message, opts = {}) {
      const fn = dialect === 'self-hosted' ? operation.replace(/^jira_/, '') : operation;
      toolOverrides.push({
        operation,
        remaining: count,
        override: { result: errorResult(toolContext, fn, message), afterEffect: opts.afterEffect ?? false },
      });
    },
    overrideNextToolResults(operation, count, result, opts = {}) {
      toolOverrides.push({ operation, remaining: count, override: { result, afterEffect: opts.afterEffect ?? false } });
    },
    clearFaults() {
      httpFailures = [];
      toolOverrides = [];
      latencyMs = 0;
      hooks = [];
      jira.searchLagMs = 0;
      releaseGates();
    },
    forgetSessions,
    stop: stopListening,
    async start() {
      if (server === undefined) await listen();
    },
  };
  return fake;
}

interface JsonRpc {
  method?: string;
  params?: { name?: unknown; arguments?: unknown };
}

function emptyCounters(): FakeMcpCounters {
  return {
    httpRequests: 0,
    httpPosts: 0,
    initializes: 0,
    sessionsOpened: 0,
    sessionsTerminated: 0,
    issuesCreated: 0,
    toolCalls: [],
    inFlight: 0,
    peakInFlight: 0,
    rateLimited: 0,
  };
}

function matchesFailure(failure: HttpFailure, messages: JsonRpc[]): boolean {
  return failure.match === undefined || matchesMessages(failure.match, messages);
}

/** The tool (or the operation inside executeRead/Write) of each message, else its JSON-RPC method. */
function operationsOf(messages: JsonRpc[]): string[] {
  return messages.map((message) => {
    const name = message.params?.name;
    const inner = (message.params?.arguments as { name?: unknown } | undefined)?.name;
    if (message.method === 'tools/call' && typeof name === 'string')
      return name.startsWith('execute') && typeof inner === 'string' ? inner : name;
    return message.method ?? '';
  });
}

function matchesMessages(match: RequestMatch, messages: JsonRpc[]): boolean {
  return messages.some((message) => {
    if (match.method !== undefined && message.method !== match.method) return false;
    if (match.tool !== undefined) {
      if (message.method !== 'tools/call') return false;
      const name = message.params?.name;
      const inner = (message.params?.arguments as { name?: unknown } | undefined)?.name;
      if (name !== match.tool && !(typeof name === 'string' && name.startsWith('execute') && inner === match.tool)) return false;
    }
    return true;
  });
}

function fail(res: ServerResponse, failure: HttpFailure): void {
  const headers: Record<string, string> = { 'content-type': 'text/plain' };
  if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
  res.writeHead(failure.status, headers);
  res.end(failure.body ?? defaultBody(failure.status));
}

function defaultBody(status: number): string {
  if (status === 429) return 'Too Many Requests';
  if (status === 401) return 'Unauthorized';
  if (status === 502) return 'Bad Gateway';
  if (status === 503) return 'Service Unavailable';
  return 'Internal Server Error';
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stream = Readable.fromWeb(response.body as WebReadableStream);
    stream.on('error', () => resolve());
    res.on('close', () => resolve());
    stream.pipe(res);
  });
}

function bearer(req: IncomingMessage): string | undefined {
  const value = req.headers.authorization;
  const match = value === undefined ? null : /^Bearer\s+(\S+)$/i.exec(value);
  return match?.[1];
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function toHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(key, item);
  }
  return headers;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
