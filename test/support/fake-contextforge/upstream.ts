/**
 * Context Forge's connection to the upstream MCP server: a fresh SDK client per use, the user's
 * token as `Authorization: Bearer`, closed without DELETE. MCF's Python client opens no standalone
 * GET stream (a tool call costs the upstream exactly four POSTs), so the GET the TypeScript SDK would
 * send after `notifications/initialized` is answered 405 locally and never reaches the upstream.
 * HTTP failures read as httpx words them: `Client error '401 Unauthorized' for url '…'`.
 */
import { STATUS_CODES } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';

export class UpstreamHttpError extends Error {
  readonly status: number;
  constructor(status: number, url: string) {
    const kind = status >= 500 ? 'Server error' : 'Client error';
    super(`${kind} '${status} ${STATUS_CODES[status] ?? ''}' for url '${url}'`);
    this.name = 'UpstreamHttpError';
    this.status = status;
  }
}

async function withUpstream<T>(url: string, token: string, run: (client: Client) => Promise<T>): Promise<T> {
  let failedStatus: number | undefined;
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: async (input, init) => {
      if ((init?.method ?? 'GET').toUpperCase() === 'GET') return new Response(null, { status: 405 });
      const response = await fetch(input, init);
      if (response.status >= 400) failedStatus ??= response.status;
      return response;
    },
  });
  const client = new Client({ name: 'mcpgateway', version: '1.0.0' });
  try {
    await client.connect(transport);
    return await run(client);
  } catch (error) {
    if (failedStatus !== undefined) throw new UpstreamHttpError(failedStatus, url);
    throw error;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** What MCF does at gateway registration: list the upstream's tools once, with an admin's token. */
export async function listUpstreamTools(url: string, token: string): Promise<Tool[]> {
  return withUpstream(url, token, async (client) => {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools;
  });
}

/** initialize, notifications/initialized, tools/call, tools/list: the four requests of one MCF tool call. */
export async function callUpstreamTool(url: string, token: string, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return withUpstream(url, token, async (client) => {
    const result = await client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema);
    await client.listTools().catch(() => undefined);
    return result;
  });
}

/** The short message after "Tool invocation failed: ". */
export function failureMessage(error: unknown): string {
  if (error instanceof UpstreamHttpError) return error.message;
  if (error instanceof TypeError && error.message === 'fetch failed') return 'All connection attempts failed';
  return error instanceof Error ? error.message : String(error);
}
