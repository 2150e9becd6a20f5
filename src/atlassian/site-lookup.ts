import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Logger } from 'pino';
import { BodyTooLargeError, decodeText, readCapped } from '../lib/http-body.ts';
import { readSites, readToolResult, type AtlassianSite } from './results.ts';

export interface SiteLookupResult {
  sites: AtlassianSite[];
  accountName?: string | undefined;
}

export type SiteLookup = (accessToken: string) => Promise<SiteLookupResult>;

/** The site list could not be read; `status` when Atlassian answered (401/403: the token was refused). */
export class SiteLookupError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SiteLookupError';
    this.status = status;
  }

  get tokenRefused(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** A list of a user's sites is a few hundred bytes; a megabyte is not an answer from Atlassian. */
const MAX_SITES_BODY_BYTES = 1024 * 1024;
const LOOKUP_TIMEOUT_MS = 15_000;

/** `<ATLASSIAN_API_URL>/oauth/token/accessible-resources`, the classic 3LO way to list a token's sites. */
export function accessibleResourcesUrl(apiUrl: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/oauth/token/accessible-resources`;
}

/**
 * Which Atlassian sites a token reaches. MCP-native tokens only work on the MCP server
 * (getAccessibleAtlassianResources); classic 3LO tokens use Atlassian's REST endpoint for the same
 * list, on the configurable API gateway. Asked when a user links their account, and again by the
 * gateway when a publish names a site the stored list lacks.
 */
export function createSiteLookup(options: {
  mode: 'mcp' | 'classic';
  mcpUrl: string;
  /** Classic mode: Atlassian's API gateway (ATLASSIAN_API_URL), default https://api.atlassian.com. */
  apiUrl?: string;
  fetch?: typeof fetch;
  logger?: Logger;
}): SiteLookup {
  const doFetch = options.fetch ?? fetch;

  async function viaMcp(accessToken: string): Promise<SiteLookupResult> {
    const transport = new StreamableHTTPClientTransport(new URL(options.mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
      fetch: doFetch,
    });
    const client = new Client({ name: 'vteam-slack', version: '0.1.0' }, { capabilities: {} });
    // One deadline for the whole lookup: the OAuth callback page waits on it.
    const signal = AbortSignal.timeout(LOOKUP_TIMEOUT_MS);
    const request = { signal, timeout: LOOKUP_TIMEOUT_MS };
    await client.connect(transport, request);
    try {
      const sitesResult = readToolResult(await client.callTool({ name: 'getAccessibleAtlassianResources', arguments: {} }, undefined, request));
      const sites = sitesResult.kind === 'ok' ? readSites(sitesResult.value) ?? [] : [];
      let accountName: string | undefined;
      try {
        const user = readToolResult(await client.callTool({ name: 'atlassianUserInfo', arguments: {} }, undefined, request));
        const info = user.kind === 'ok' ? user.value as { name?: unknown; displayName?: unknown } | undefined : undefined;
        const name = info?.name ?? info?.displayName;
        accountName = typeof name === 'string' ? name.slice(0, 200) : undefined;
      } catch (error) {
        options.logger?.debug({ err: error }, 'atlassianUserInfo unavailable');
      }
      return { sites, accountName };
    } finally {
      await Promise.race([transport.terminateSession().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      await client.close().catch(() => undefined);
    }
  }

  const restUrl = accessibleResourcesUrl(options.apiUrl ?? 'https://api.atlassian.com');

  async function viaRest(accessToken: string): Promise<SiteLookupResult> {
    let response: Response;
    try {
      response = await doFetch(restUrl, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        redirect: 'error', // the token goes to this host only
        signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
      });
    } catch (error) {
      throw new SiteLookupError('accessible-resources could not be reached', undefined, error);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new SiteLookupError(`accessible-resources answered ${response.status}`, response.status);
    }
    let value: unknown;
    try {
      value = JSON.parse(decodeText(await readCapped(response, MAX_SITES_BODY_BYTES)));
    } catch (error) {
      const reason = error instanceof BodyTooLargeError ? 'is too large' : 'is not JSON';
      throw new SiteLookupError(`the accessible-resources answer ${reason}`, response.status, error);
    }
    const sites = readSites(value);
    if (sites === undefined) throw new SiteLookupError('the accessible-resources answer is not a site list', response.status);
    return { sites };
  }

  return options.mode === 'mcp' ? viaMcp : viaRest;
}
