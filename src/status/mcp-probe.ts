/**
 * Is the Atlassian MCP server usable? As the caller when they are linked: a short-lived SDK client
 * (initialize, tools/list) reports the negotiated protocol version, the tool dialect and whether an
 * issue-create tool is offered to them. Otherwise a bare, unauthenticated initialize POST proves the
 * endpoint answers: a 401 with an OAuth challenge is exactly what a healthy server says to a stranger.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { AtlassianCredential } from '../atlassian/credentials.ts';
import { detectDialect, type ToolDescription } from '../atlassian/dialect.ts';
import { detailOf } from '../atlassian/contextforge/profile.ts';
import type { McpGatewayProfile } from '../atlassian/gateway-profile.ts';
import type { FetchLike } from '../atlassian/http.ts';
import { createMcpClient } from '../atlassian/mcp-client.ts';
import type { McpStatus } from './report.ts';

export interface McpProbeOptions {
  mcpUrl: string;
  fetch?: FetchLike | undefined;
  logger?: Logger | undefined;
  clientName?: string;
  clientVersion?: string;
  /** A gateway in front of the server: its own refusals are reported as such. */
  gateway?: Pick<McpGatewayProfile, 'name'> | undefined;
}

/** As the caller: initialize and list tools on a throwaway session, then end it. */
export async function probeMcpAsUser(options: McpProbeOptions, credential: AtlassianCredential, signal: AbortSignal): Promise<McpStatus> {
  const baseFetch = options.fetch ?? fetch;
  let lastStatus: number | undefined;
  const authorizingFetch: FetchLike = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${credential.accessToken}`);
    if (credential.cloudId !== undefined) headers.set('x-atlassian-cloud-id', credential.cloudId);
    const response = await baseFetch(url, { ...init, headers, signal: init.signal ? AbortSignal.any([init.signal, signal]) : signal });
    if ((init.method ?? 'GET').toUpperCase() === 'POST') lastStatus = response.status;
    return response;
  };
  const { client, transport } = createMcpClient({
    mcpUrl: options.mcpUrl,
    fetch: authorizingFetch,
    clientName: options.clientName ?? 'vteam-slack-status',
    clientVersion: options.clientVersion ?? '1',
    onError: () => undefined, // background stream notices are irrelevant to a one-shot probe
  });
  const base: McpStatus = { url: options.mcpUrl, mode: 'authenticated', reachable: false, gateway: options.gateway?.name };
  try {
    try {
      await client.connect(transport, { signal });
    } catch (error) {
      if (options.gateway !== undefined && (lastStatus === 401 || lastStatus === 403 || lastStatus === 404)) {
        // The gateway's own refusal: its setup (secret, user, team, server), not the user's Atlassian token.
        return { ...base, reachable: true, httpStatus: lastStatus, gatewayRefusal: detailOf((error as Error).message ?? '') };
      }
      if (lastStatus === 401 || lastStatus === 403) return { ...base, reachable: true, httpStatus: lastStatus, tokenRejected: true };
      throw error;
    }
    const started = performance.now();
    const tools = await listTools(client, signal);
    const rttMs = Math.round(performance.now() - started);
    const dialect = detectDialect(tools);
    return {
      ...base,
      reachable: true,
      rttMs,
      protocolVersion: transport.protocolVersion,
      server: client.getServerVersion(),
      dialect: dialect.family,
      toolCount: tools.length,
      createTool: dialect.create?.tool,
    };
  } finally {
    // Ending the session must not hold the reply: done in the background, bounded.
    endSession(client, transport, options.logger).catch((error: unknown) =>
      options.logger?.debug({ err: error }, 'status probe: could not end the MCP session'),
    );
  }
}

/** Without credentials: one initialize POST; any HTTP answer proves reachability. */
export async function probeMcpUnauthenticated(options: McpProbeOptions, signal: AbortSignal, note?: string): Promise<McpStatus> {
  const baseFetch = options.fetch ?? fetch;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: options.clientName ?? 'vteam-slack-status', version: options.clientVersion ?? '1' },
    },
  });
  const started = performance.now();
  const response = await baseFetch(options.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body,
    signal,
  });
  const rttMs = Math.round(performance.now() - started);
  await response.body?.cancel().catch(() => undefined);
  const challenge = response.headers.get('www-authenticate');
  const sessionId = response.headers.get('mcp-session-id');
  if (sessionId !== null)
    void baseFetch(options.mcpUrl, { method: 'DELETE', headers: { 'mcp-session-id': sessionId }, signal: AbortSignal.timeout(2000) }).catch(
      () => undefined,
    );
  return {
    url: options.mcpUrl,
    mode: 'unauthenticated',
    // 5xx means a proxy or the server itself is failing: not usable.
    reachable: response.status < 500,
    httpStatus: response.status,
    authChallenge: challenge !== null && /bearer/i.test(challenge),
    rttMs,
    note,
  };
}

async function listTools(client: Client, signal: AbortSignal): Promise<ToolDescription[]> {
  const tools: ToolDescription[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10; page += 1) {
    const result = await client.listTools(cursor === undefined ? {} : { cursor }, { signal });
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

async function endSession(client: Client, transport: StreamableHTTPClientTransport, logger: Logger | undefined): Promise<void> {
  try {
    if (transport.sessionId !== undefined) {
      await Promise.race([transport.terminateSession(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    }
  } catch (error) {
    logger?.debug({ reason: (error as Error).message }, 'status probe: could not end the MCP session');
  } finally {
    await client.close().catch(() => undefined);
  }
}
