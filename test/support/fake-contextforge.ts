/**
 * A loopback IBM MCP Context Forge (MCF) for tests, in front of the Rovo test server, copying what a
 * running MCF answers (reference Part D), quirks included:
 *
 * - `POST /servers/<serverId>/mcp`: Streamable HTTP, stateless (no Mcp-Session-Id), JSON answers,
 *   GET 405. Clients authenticate with an HS256 JWT (iss, aud, exp, jti required); FastAPI-style
 *   `{"detail": …}` bodies for 401/403; tool errors are HTTP 200 results with `isError: true`.
 * - Tools are the upstream's, listed once at start with an admin's token and renamed
 *   `<gateway slug><separator><tool slug>`; calls are mapped back to the upstream's names.
 * - MCF is an OAuth relay: each user authorizes once (`/oauth/authorize/<gatewayId>` with the
 *   user's JWT → 307 to the authorization server; `/oauth/callback` stores the tokens under the
 *   user's email and shows an admin page), MCF refreshes within 300 s of expiry and injects the
 *   user's token into every upstream request. A tool call costs the upstream four requests.
 *
 * Resource indicator: MCF sends the upstream's *origin* as `resource` (as observed; newer MCF sends
 * the gateway URL, `resource: 'url'`). The test environment must let the authorization server issue
 * tokens for `handle.resource` (`auth.addResource`) and make the fake MCP accept that audience
 * (`mcp.setAuthorization({ …, audience: handle.resource })`).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { JWTPayload } from 'jose';
import { allowsServer, authenticate, DETAIL, isLimited, mintContextForgeToken, permits } from './fake-contextforge/auth.ts';
import type { ContextForgeUser, Identity, JwtSettings, MintOptions } from './fake-contextforge/auth.ts';
import { emptyCounters } from './fake-contextforge/counters.ts';
import type { ContextForgeCounters, ToolCallOutcome } from './fake-contextforge/counters.ts';
import type { TokenSet } from './fake-contextforge/oauth-client.ts';
import { OAuthRelay } from './fake-contextforge/oauth-relay.ts';
import { contextForgeSlug } from './fake-contextforge/slug.ts';
import { callUpstreamTool, failureMessage, listUpstreamTools, UpstreamHttpError } from './fake-contextforge/upstream.ts';

export { mintContextForgeToken } from './fake-contextforge/auth.ts';
export type { JwtSettings, MintOptions } from './fake-contextforge/auth.ts';
export type { CallbackOutcome, ContextForgeCounters, ContextForgeToolCall, ToolCallOutcome } from './fake-contextforge/counters.ts';
export type { TokenSet } from './fake-contextforge/oauth-client.ts';
export { contextForgeSlug } from './fake-contextforge/slug.ts';

export interface FakeContextForgeOptions {
  /** The upstream MCP endpoint (the fake MCP's `url`). */
  upstreamUrl: string;
  /** A static token the upstream accepts: MCF lists the tools once, at gateway registration, as an admin. */
  catalogToken: string;
  /** MCF's JWT_SECRET_KEY. */
  jwtSecret: string;
  /** Default `mcpgateway`. */
  jwtIssuer?: string;
  /** Default `mcpgateway-api`. */
  jwtAudience?: string;
  /** MCF users by email, with the teams they belong to. */
  users?: Record<string, { teams?: string[] }>;
  /** Default `rovo`. */
  gatewayName?: string;
  /** GATEWAY_TOOL_NAME_SEPARATOR; default `-`. MCF's slugs join words with it too. */
  separator?: string;
  /** Default: random 32-hex ids, as MCF's. */
  serverId?: string;
  gatewayId?: string;
  /** The upstream's authorization server; without it `/oauth/authorize` answers 400 (link users with `linkUser`). */
  authorization?: {
    issuer: string;
    /** The resource's scopes; `offline_access` is added. Default `read:jira-work write:jira-work`. */
    scopes?: string[];
    /** `origin` (default, as observed) or `url` (the upstream URL, as newer MCF does). */
    resource?: 'origin' | 'url';
    /**
     * Appended to the authorization URL; MCF sends none. The test authorization server (oidc-provider)
     * grants `offline_access`, hence a refresh token, only with `{ prompt: 'consent' }`; Atlassian's does not need it.
     */
    extraParams?: Record<string, string>;
  };
  /** Lifetime of an authorization's state; default 300. */
  stateTtlSeconds?: number;
  /** Real MCF also runs a tool called by its upstream name on a server endpoint (undocumented); default false. */
  acceptOriginalNames?: boolean;
  port?: number;
}

export interface FakeContextForge {
  /** MCF's base URL (no trailing slash). */
  url: string;
  /** `{url}/servers/{serverId}/mcp`. */
  mcpUrl: string;
  serverId: string;
  gatewayId: string;
  gatewayName: string;
  /** `{url}/oauth/callback`, the redirect URI registered with the authorization server. */
  callbackUrl: string;
  /** The RFC 8707 resource sent to the authorization server. */
  resource: string;
  /** The client id MCF registered (undefined without `authorization`). */
  clientId: string | undefined;
  /** The listed tool names and the upstream names they map to. */
  tools: readonly { listedName: string; upstreamName: string }[];
  /** A JWT as MCF's secret holder mints one: `claims` plus iss, aud, iat, exp, jti. */
  mintToken(claims: JWTPayload, options?: MintOptions): Promise<string>;
  addUser(email: string, user?: { teams?: string[] }): void;
  removeUser(email: string): void;
  removeFromTeam(email: string, team: string): void;
  /** Stores an upstream token for `email`, as a completed authorization would. */
  linkUser(email: string, accessToken: string, options?: { refreshToken?: string; expiresAt?: number }): void;
  unlinkUser(email: string): boolean;
  hasToken(email: string): boolean;
  /** A copy of the stored upstream tokens (tests only; MCF shows them to nobody). */
  storedToken(email: string): TokenSet | undefined;
  counters: ContextForgeCounters;
  /** The verified claims of every request with a valid JWT, in order. */
  jwtClaimsSeen: JWTPayload[];
  resetCounters(): void;
  close(): Promise<void>;
}

const SUPPORTED_PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];

interface CatalogEntry {
  listed: Tool;
  upstreamName: string;
}

interface JsonRpcMessage {
  jsonrpc?: unknown;
  id?: string | number | null;
  method?: unknown;
  params?: Record<string, unknown>;
}

export async function startFakeContextForge(options: FakeContextForgeOptions): Promise<FakeContextForge> {
  const jwt: JwtSettings = {
    secret: options.jwtSecret,
    issuer: options.jwtIssuer ?? 'mcpgateway',
    audience: options.jwtAudience ?? 'mcpgateway-api',
  };
  const separator = options.separator ?? '-';
  const gatewayName = options.gatewayName ?? 'rovo';
  const serverId = options.serverId ?? randomUUID().replaceAll('-', '');
  const gatewayId = options.gatewayId ?? randomUUID().replaceAll('-', '');
  const stateTtlMs = (options.stateTtlSeconds ?? 300) * 1000;
  const upstreamUrl = options.upstreamUrl;
  const resource = options.authorization?.resource === 'url' ? withoutQuery(upstreamUrl) : new URL(upstreamUrl).origin;
  const scope = [...(options.authorization?.scopes ?? ['read:jira-work', 'write:jira-work']), 'offline_access'].join(' ');

  const users = new Map<string, ContextForgeUser>();
  const counters = emptyCounters();
  const jwtClaimsSeen: JWTPayload[] = [];
  const key = (email: string) => email.trim().toLowerCase();
  const addUser = (email: string, user: { teams?: string[] } = {}) =>
    users.set(key(email), { email: key(email), teams: new Set(user.teams ?? []) });
  for (const [email, user] of Object.entries(options.users ?? {})) addUser(email, user);

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      reply(req, res, 500, { detail: `fake Context Forge internal error: ${error instanceof Error ? error.message : String(error)}` });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const callbackUrl = `${base}/oauth/callback`;

  async function close(): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  }

  let catalog: CatalogEntry[];
  let relay: OAuthRelay;
  try {
    const slug = (text: string) => contextForgeSlug(text, separator);
    catalog = (await listUpstreamTools(upstreamUrl, options.catalogToken)).map((tool) => ({
      listed: { ...tool, name: `${slug(gatewayName)}${separator}${slug(tool.name)}` },
      upstreamName: tool.name,
    }));
    const settings = { gatewayName, callbackUrl, resource, scope, stateTtlMs, extraParams: options.authorization?.extraParams ?? {} };
    relay = await OAuthRelay.start(settings, counters, options.authorization?.issuer);
  } catch (error) {
    await close();
    throw error;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const mcp = /^\/servers\/([^/]+)\/mcp\/?$/.exec(url.pathname);
    if (mcp !== null) return serveMcp(req, res, decodeURIComponent(mcp[1] ?? ''));
    const authorize = /^\/oauth\/authorize\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && authorize !== null) return serveAuthorize(req, res, decodeURIComponent(authorize[1] ?? ''));
    if (req.method === 'GET' && url.pathname === '/oauth/callback') return serveCallback(req, res, url);
    if (req.method === 'GET' && url.pathname === '/health') return reply(req, res, 200, { status: 'healthy' });
    return reply(req, res, 404, { detail: 'Not Found' });
  }

  /** Authenticates like MCF's middleware; answers the failure itself and returns undefined. */
  async function identify(req: IncomingMessage, res: ServerResponse): Promise<Identity | undefined> {
    const authentication = await authenticate(req.headers.authorization, jwt, users);
    const claims = authentication.ok ? authentication.identity.claims : authentication.claims;
    if (claims !== undefined) jwtClaimsSeen.push(structuredClone(claims));
    if (authentication.ok) return authentication.identity;
    reply(
      req,
      res,
      authentication.status,
      { detail: authentication.detail },
      authentication.challenge ? { 'www-authenticate': 'Bearer' } : {},
    );
    return undefined;
  }

  async function serveMcp(req: IncomingMessage, res: ServerResponse, requestedServer: string): Promise<void> {
    const body = await readBody(req);
    const identity = await identify(req, res);
    if (identity === undefined) return;
    if (!allowsServer(identity, requestedServer)) return reply(req, res, 403, { detail: DETAIL.denied });
    if (requestedServer !== serverId) return reply(req, res, 404, { detail: 'Server not found' });
    if (req.method !== 'POST') return reply(req, res, 405, { detail: 'Method Not Allowed' }, { allow: 'POST' });

    const message = parseMessage(body);
    if (message === undefined) return reply(req, res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    if (typeof message.method !== 'string') return reply(req, res, 202, undefined); // a response to us: nothing to say
    const needed = message.method === 'tools/list' ? 'tools.read' : message.method === 'tools/call' ? 'tools.execute' : undefined;
    if (needed !== undefined && !permits(identity, needed)) return reply(req, res, 403, { detail: DETAIL.denied });
    if (message.id === undefined) return reply(req, res, 202, undefined); // notifications/initialized and friends

    const id = message.id;
    const params = message.params ?? {};
    switch (message.method) {
      case 'initialize': {
        const offered = params.protocolVersion;
        const protocolVersion =
          typeof offered === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(offered) ? offered : SUPPORTED_PROTOCOL_VERSIONS[0];
        const result = { protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'mcpgateway', version: '1.0.0' } };
        return reply(req, res, 200, { jsonrpc: '2.0', id, result });
      }
      case 'ping':
        return reply(req, res, 200, { jsonrpc: '2.0', id, result: {} });
      case 'tools/list':
        return reply(req, res, 200, { jsonrpc: '2.0', id, result: { tools: catalog.map((entry) => structuredClone(entry.listed)) } });
      case 'tools/call':
        return reply(req, res, 200, { jsonrpc: '2.0', id, result: await callTool(identity, params) });
      default:
        return reply(req, res, 200, { jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } });
    }
  }

  async function callTool(identity: Identity, params: Record<string, unknown>): Promise<CallToolResult> {
    const listedName = typeof params.name === 'string' ? params.name : '';
    const args = isRecord(params.arguments) ? params.arguments : {};
    const outcome = (upstreamName: string | undefined, result: ToolCallOutcome) =>
      counters.toolCalls.push({ email: identity.email, listedName, upstreamName, outcome: result });

    if (identity.teams.length === 0) {
      outcome(undefined, 'access-denied');
      return toolError('Access denied');
    }
    const entry =
      catalog.find((candidate) => candidate.listed.name === listedName) ??
      (options.acceptOriginalNames === true ? catalog.find((candidate) => candidate.upstreamName === listedName) : undefined);
    if (entry === undefined) {
      outcome(undefined, 'unknown-tool');
      return toolError(`Tool not found: ${listedName}`);
    }
    const token = await relay.currentToken(identity.email);
    if (token === undefined) {
      outcome(entry.upstreamName, 'not-authorized');
      return toolError(
        `Tool invocation failed: Please authorize ${gatewayName} first. Visit /oauth/authorize/${gatewayId} to complete OAuth flow.`,
      );
    }
    try {
      const result = await callUpstreamTool(upstreamUrl, token.accessToken, entry.upstreamName, args);
      outcome(entry.upstreamName, result.isError === true ? 'relayed-error' : 'relayed');
      return {
        content: result.content,
        ...(result.structuredContent === undefined ? {} : { structuredContent: result.structuredContent }),
        isError: result.isError === true,
      };
    } catch (error) {
      outcome(entry.upstreamName, error instanceof UpstreamHttpError && error.status === 401 ? 'upstream-unauthorized' : 'upstream-failed');
      return toolError(`Tool invocation failed: ${failureMessage(error)}`);
    }
  }

  async function serveAuthorize(req: IncomingMessage, res: ServerResponse, requestedGateway: string): Promise<void> {
    const identity = await identify(req, res);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      counters.authorizeRequests.push({ email: identity?.email, gatewayId: requestedGateway, status });
      reply(req, res, status, body, headers);
    };
    if (identity === undefined) {
      counters.authorizeRequests.push({ email: undefined, gatewayId: requestedGateway, status: res.statusCode });
      return;
    }
    if (isLimited(identity)) return answer(403, { detail: DETAIL.denied });
    if (requestedGateway !== gatewayId) return answer(404, { detail: 'Gateway not found' });
    const location = relay.authorizationUrl(identity.email);
    if (location === undefined) return answer(400, { detail: 'Gateway is not configured for OAuth' });
    return answer(307, undefined, { location });
  }

  async function serveCallback(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const page = await relay.complete(url.searchParams);
    reply(req, res, page.status, page.html, { 'content-type': 'text/html; charset=utf-8' });
  }

  function reply(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    counters.requests.push({ method: req.method ?? 'GET', path: new URL(req.url ?? '/', base).pathname, status });
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  }

  return {
    url: base,
    mcpUrl: `${base}/servers/${serverId}/mcp`,
    serverId,
    gatewayId,
    gatewayName,
    callbackUrl,
    resource,
    clientId: relay.clientId,
    tools: catalog.map((entry) => ({ listedName: entry.listed.name, upstreamName: entry.upstreamName })),
    mintToken: (claims, mintOptions) => mintContextForgeToken(jwt, claims, mintOptions),
    addUser,
    removeUser(email) {
      users.delete(key(email));
    },
    removeFromTeam(email, team) {
      users.get(key(email))?.teams.delete(team);
    },
    linkUser(email, accessToken, link = {}) {
      relay.store(email, { accessToken, refreshToken: link.refreshToken, expiresAt: link.expiresAt });
    },
    unlinkUser: (email) => relay.forget(email),
    hasToken: (email) => relay.stored(email) !== undefined,
    storedToken: (email) => relay.stored(email),
    counters,
    jwtClaimsSeen,
    resetCounters() {
      Object.assign(counters, emptyCounters());
      jwtClaimsSeen.length = 0;
    },
    close,
  };
}

function toolError(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

function parseMessage(body: string): JsonRpcMessage | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    return isRecord(parsed) ? (parsed as JsonRpcMessage) : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
