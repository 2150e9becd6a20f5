import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { describe, expect, it } from 'vitest';
import type { FetchLike } from '../../src/atlassian/http.ts';
import { probeMcpAsUser } from '../../src/status/mcp-probe.ts';

/** A stateless in-process MCP server listing `names`, answered without a socket (one transport per request). */
function serverListing(names: readonly string[]): FetchLike {
  return async (url, init) => {
    const server = new McpServer({ name: 'mcf', version: '1' });
    for (const name of names) server.registerTool(name, { inputSchema: {} }, () => ({ content: [] }));
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    return transport.handleRequest(new Request(url, init));
  };
}

describe('probeMcpAsUser', () => {
  it('reports the create tool by its listed name behind Context Forge', async () => {
    const fetch = serverListing(['rovo-getaccessibleatlassianresources', 'rovo-createjiraissue', 'rovo-executeread']);
    const status = await probeMcpAsUser(
      { mcpUrl: 'http://mcf.test/servers/s1/mcp', fetch },
      { accessToken: 't' },
      AbortSignal.timeout(5000),
    );
    expect(status).toMatchObject({ reachable: true, dialect: 'rovo', toolCount: 3, createTool: 'rovo-createjiraissue' });
  });

  it('reports a self-hosted server behind Context Forge', async () => {
    const fetch = serverListing(['mcp-atlassian-jira-search', 'mcp-atlassian-jira-create-issue']);
    const status = await probeMcpAsUser(
      { mcpUrl: 'http://mcf.test/servers/s1/mcp', fetch },
      { accessToken: 't' },
      AbortSignal.timeout(5000),
    );
    expect(status).toMatchObject({ dialect: 'self-hosted', createTool: 'mcp-atlassian-jira-create-issue' });
  });
});
