/**
 * An MCP client to the Atlassian server, built the one way every caller needs it: the SDK's
 * Streamable HTTP transport over a given fetch, and a client announcing no capabilities. The session
 * pool, the site lookup and the jira-status probe differ only in these options.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from './http.ts';

export interface McpClientOptions {
  mcpUrl: string | URL;
  /** Every request goes through it: an authorizing wrapper, or plain fetch with `headers`. */
  fetch: FetchLike;
  /** Headers fixed for the client's whole life (the transport reads them once). */
  headers?: Record<string, string> | undefined;
  clientName: string;
  clientVersion: string;
  /** The SDK's background stream notices; calls report their own failures. Without it, ignored. */
  onError?: ((error: Error) => void) | undefined;
}

export interface McpClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

/** Not connected yet: the caller connects (`client.connect(transport, …)`) under its own deadline. */
export function createMcpClient(options: McpClientOptions): McpClient {
  const url = typeof options.mcpUrl === 'string' ? new URL(options.mcpUrl) : options.mcpUrl;
  const transport = new StreamableHTTPClientTransport(url, {
    ...(options.headers === undefined ? {} : { requestInit: { headers: options.headers } }),
    fetch: options.fetch,
  });
  const client = new Client({ name: options.clientName, version: options.clientVersion }, { capabilities: {} });
  if (options.onError !== undefined) client.onerror = options.onError;
  return { client, transport };
}
