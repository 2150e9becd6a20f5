import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Logger } from 'pino';
import { readSites, readToolResult, type AtlassianSite } from './results.ts';

export interface SiteLookupResult {
  sites: AtlassianSite[];
  accountName?: string | undefined;
}

/**
 * Which Atlassian sites a freshly issued token reaches, asked once when a user links their account.
 * MCP-native tokens only work on the MCP server (getAccessibleAtlassianResources); classic 3LO
 * tokens use Atlassian's REST endpoint for the same list.
 */
export function createSiteLookup(options: {
  mode: 'mcp' | 'classic';
  mcpUrl: string;
  /** Classic mode: where accessible-resources lives (Atlassian's API gateway). */
  accessibleResourcesUrl?: string;
  fetch?: typeof fetch;
  logger?: Logger;
}): (accessToken: string) => Promise<SiteLookupResult> {
  const doFetch = options.fetch ?? fetch;

  async function viaMcp(accessToken: string): Promise<SiteLookupResult> {
    const transport = new StreamableHTTPClientTransport(new URL(options.mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
      fetch: doFetch,
    });
    const client = new Client({ name: 'vteam-slack', version: '0.1.0' }, { capabilities: {} });
    await client.connect(transport);
    try {
      const sitesResult = readToolResult(await client.callTool({ name: 'getAccessibleAtlassianResources', arguments: {} }));
      const sites = sitesResult.kind === 'ok' ? readSites(sitesResult.value) ?? [] : [];
      let accountName: string | undefined;
      try {
        const user = readToolResult(await client.callTool({ name: 'atlassianUserInfo', arguments: {} }));
        const info = user.kind === 'ok' ? user.value as { name?: unknown; displayName?: unknown } | undefined : undefined;
        const name = info?.name ?? info?.displayName;
        accountName = typeof name === 'string' ? name.slice(0, 200) : undefined;
      } catch (error) {
        options.logger?.debug({ err: error }, 'atlassianUserInfo unavailable');
      }
      return { sites, accountName };
    } finally {
      await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    }
  }

  async function viaRest(accessToken: string): Promise<SiteLookupResult> {
    const url = options.accessibleResourcesUrl ?? 'https://api.atlassian.com/oauth/token/accessible-resources';
    const response = await doFetch(url, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' }, signal: AbortSignal.timeout(15_000) });
    if (!response.ok) throw new Error(`accessible-resources answered ${response.status}`);
    return { sites: readSites(await response.json()) ?? [] };
  }

  return options.mode === 'mcp' ? viaMcp : viaRest;
}
