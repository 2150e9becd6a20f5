/**
 * One initialized MCP session per Slack user, reused across publishes: `initialize` and
 * `tools/list` cost two round trips, so paying them per publish would triple the traffic.
 * Sessions idle for `idleMs` are closed (and terminated on the server, best effort).
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Logger } from 'pino';
import type { AtlassianCredential } from './credentials.ts';
import { detectDialect } from './dialect.ts';
import type { Dialect, ToolDescription } from './dialect.ts';
import { createAuthorizingFetch } from './http.ts';
import type { CallProbe, FetchLike } from './http.ts';
import { createMcpClient } from './mcp-client.ts';

export interface McpSession {
  readonly key: string;
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  readonly dialect: Dialect;
  /** What the fetch wrapper sends; replaced when the user's token changes. */
  credential: AtlassianCredential;
  lastUsedAt: number;
  inFlight: number;
}

/** What one MCP request is, for its deadline, its failure classification and the metrics. */
export interface InvokeMeta {
  /** Metric label: a tool name, or the protocol step (`initialize`, `tools/list`, `terminate`). */
  tool: string;
  /** The call creates or changes an issue, so "maybe sent" means "maybe done". */
  mutating: boolean;
  timeoutMs?: number;
  /** False when the caller records the outcome itself (tool calls: ok or a tool error). */
  recordSuccess?: boolean;
  /** Sent as `X-Atlassian-Cloud-Id` (self-hosted server, classic tokens); null: a Server/DC site, none. */
  cloudId?: string | null | undefined;
}

/** Runs one MCP request under a deadline, classifying its failure; supplied by the gateway. */
export type Invoke = <T>(meta: InvokeMeta, request: (options: { signal: AbortSignal; timeout: number }) => Promise<T>) => Promise<T>;

export interface SessionPoolOptions {
  mcpUrl: URL;
  fetch: FetchLike;
  probes: AsyncLocalStorage<CallProbe>;
  invoke: Invoke;
  idleMs: number;
  clientName: string;
  clientVersion: string;
  logger: Logger | undefined;
  now?: () => number;
}

export interface SessionPoolStats {
  open: number;
  opened: number;
  closedIdle: number;
  discarded: number;
}

export class SessionPool {
  private readonly options: SessionPoolOptions;
  private readonly sessions = new Map<string, Promise<McpSession>>();
  private readonly counters = { opened: 0, closedIdle: 0, discarded: 0 };
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(options: SessionPoolOptions) {
    this.options = options;
    this.sweeper = setInterval(() => void this.sweep(), Math.max(1_000, Math.min(options.idleMs, 60_000)));
    this.sweeper.unref();
  }

  /** The user's session, opened on first use; marks it busy until `release`. */
  async acquire(key: string, credential: AtlassianCredential): Promise<McpSession> {
    if (this.closed) throw new Error('The MCP session pool is closed');
    let pending = this.sessions.get(key);
    if (pending === undefined) {
      pending = this.open(key, credential);
      this.sessions.set(key, pending);
      // A session that failed to open is forgotten at once, so the next call starts afresh.
      pending.catch(() => {
        if (this.sessions.get(key) === pending) this.sessions.delete(key);
      });
    }
    const session = await pending;
    session.credential = credential;
    session.inFlight += 1;
    session.lastUsedAt = this.now();
    return session;
  }

  release(session: McpSession): void {
    session.inFlight = Math.max(0, session.inFlight - 1);
    session.lastUsedAt = this.now();
  }

  /** Drops a session the server no longer knows (or that failed); the next acquire re-initializes. */
  async discard(session: McpSession): Promise<void> {
    const pending = this.sessions.get(session.key);
    if (pending !== undefined && (await pending.catch(() => undefined)) === session) this.sessions.delete(session.key);
    this.counters.discarded += 1;
    await this.shutdown(session, false);
  }

  stats(): SessionPoolStats {
    return { open: this.sessions.size, ...this.counters };
  }

  async sweep(): Promise<void> {
    const cutoff = this.now() - this.options.idleMs;
    for (const [key, pending] of [...this.sessions]) {
      const session = await pending.catch(() => undefined);
      if (session === undefined || session.inFlight > 0 || session.lastUsedAt > cutoff) continue;
      if (this.sessions.get(key) !== pending) continue;
      this.sessions.delete(key);
      this.counters.closedIdle += 1;
      this.options.logger?.debug({ session: key }, 'closing idle MCP session');
      await this.shutdown(session, true);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const pending = [...this.sessions.values()];
    this.sessions.clear();
    const sessions = await Promise.all(pending.map((p) => p.catch(() => undefined)));
    await Promise.all(sessions.map((session) => (session === undefined ? undefined : this.shutdown(session, true))));
  }

  private async open(key: string, credential: AtlassianCredential): Promise<McpSession> {
    const holder = { credential };
    const { client, transport } = createMcpClient({
      mcpUrl: this.options.mcpUrl,
      fetch: createAuthorizingFetch({ fetch: this.options.fetch, credential: () => holder.credential, probes: this.options.probes }),
      clientName: this.options.clientName,
      clientVersion: this.options.clientVersion,
      onError: (error) => this.options.logger?.debug({ session: key, err: describe(error) }, 'MCP transport notice'),
    });
    try {
      await this.options.invoke({ tool: 'initialize', mutating: false }, (options) => client.connect(transport, options));
      const tools = await this.listTools(client);
      const dialect = detectDialect(tools);
      this.counters.opened += 1;
      this.options.logger?.debug({ session: key, family: dialect.family, tools: tools.length }, 'opened MCP session');
      const session: McpSession = {
        key,
        client,
        transport,
        dialect,
        get credential() {
          return holder.credential;
        },
        set credential(next: AtlassianCredential) {
          holder.credential = next;
        },
        lastUsedAt: this.now(),
        inFlight: 0,
      };
      return session;
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
  }

  private async listTools(client: Client): Promise<ToolDescription[]> {
    const tools: ToolDescription[] = [];
    let cursor: string | undefined;
    // Bounded: a server that pages forever must not hold the publish hostage.
    for (let page = 0; page < 20; page += 1) {
      const result = await this.options.invoke({ tool: 'tools/list', mutating: false }, (options) =>
        client.listTools(cursor === undefined ? {} : { cursor }, options),
      );
      tools.push(
        ...result.tools.map((tool) => ({
          name: tool.name,
          inputSchema: tool.inputSchema as ToolDescription['inputSchema'],
          outputSchema: tool.outputSchema,
        })),
      );
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    return tools;
  }

  private async shutdown(session: McpSession, terminate: boolean): Promise<void> {
    if (terminate) {
      // Short deadline: closing must not wait on a server that stopped answering.
      await this.options
        .invoke({ tool: 'terminate', mutating: false, timeoutMs: 2_000 }, () => session.transport.terminateSession())
        .catch(() => undefined);
    }
    await session.client.close().catch(() => undefined);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** Error text for logs: message and code only, never request headers. */
export function describe(error: unknown): { message: string; code?: unknown } {
  if (error instanceof Error) return { message: error.message, code: (error as { code?: unknown }).code };
  return { message: String(error) };
}
