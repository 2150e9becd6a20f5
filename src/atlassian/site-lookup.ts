import type { Logger } from 'pino';
import { BodyTooLargeError, decodeText, readCapped } from '../lib/http-body.ts';
import { createMcpClient } from './mcp-client.ts';
import { readSites, readToolResult, type AtlassianSite } from './results.ts';

export interface SiteLookupResult {
  sites: AtlassianSite[];
  accountName?: string | undefined;
  /** MCP: the account's email from `atlassianUserInfo`, for the identity check at link time. */
  accountEmail?: string | undefined;
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
/** A user profile is well under a kilobyte. */
const MAX_ME_BODY_BYTES = 64 * 1024;
const LOOKUP_TIMEOUT_MS = 15_000;
const MAX_EMAIL_LENGTH = 254;

/** `<ATLASSIAN_API_URL>/oauth/token/accessible-resources`, the classic 3LO way to list a token's sites. */
export function accessibleResourcesUrl(apiUrl: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/oauth/token/accessible-resources`;
}

/** `<ATLASSIAN_API_URL>/me`, Atlassian's user identity API (scope read:me): `{account_id, email, name, …}`. */
export function meUrl(apiUrl: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/me`;
}

/** The account email of a classic 3LO token, or undefined when the answer has none. Throws SiteLookupError. */
export type AccountEmailLookup = (accessToken: string) => Promise<string | undefined>;

/**
 * Classic 3LO: who a token belongs to, from `/me` on the API gateway — asked once, when a user
 * links, to check the account is the Slack user's own. The token goes to that one host only.
 */
export function createAccountEmailLookup(options: { apiUrl?: string; fetch?: typeof fetch }): AccountEmailLookup {
  const url = meUrl(options.apiUrl ?? 'https://api.atlassian.com');
  return async (accessToken) => {
    const { value } = await getJson(options.fetch ?? fetch, url, accessToken, MAX_ME_BODY_BYTES, '/me');
    return emailOf((value as { email?: unknown } | null)?.email);
  };
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
    const { client, transport } = createMcpClient({
      mcpUrl: options.mcpUrl,
      fetch: doFetch,
      headers: { authorization: `Bearer ${accessToken}` },
      clientName: 'vteam-slack',
      clientVersion: '0.1.0',
    });
    // One deadline for the whole lookup: the OAuth callback page waits on it.
    const signal = AbortSignal.timeout(LOOKUP_TIMEOUT_MS);
    const request = { signal, timeout: LOOKUP_TIMEOUT_MS };
    await client.connect(transport, request);
    try {
      const sitesResult = readToolResult(
        await client.callTool({ name: 'getAccessibleAtlassianResources', arguments: {} }, undefined, request),
      );
      const sites = sitesResult.kind === 'ok' ? (readSites(sitesResult.value) ?? []) : [];
      let accountName: string | undefined;
      let accountEmail: string | undefined;
      try {
        const user = readToolResult(await client.callTool({ name: 'atlassianUserInfo', arguments: {} }, undefined, request));
        const info =
          user.kind === 'ok' ? (user.value as { name?: unknown; displayName?: unknown; email?: unknown } | null | undefined) : undefined;
        const name = info?.name ?? info?.displayName;
        accountName = typeof name === 'string' ? name.slice(0, 200) : undefined;
        accountEmail = emailOf(info?.email);
      } catch (error) {
        options.logger?.debug({ err: error }, 'atlassianUserInfo unavailable');
      }
      return { sites, accountName, accountEmail };
    } finally {
      await Promise.race([
        transport.terminateSession().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
      ]);
      await client.close().catch(() => undefined);
    }
  }

  const restUrl = accessibleResourcesUrl(options.apiUrl ?? 'https://api.atlassian.com');

  async function viaRest(accessToken: string): Promise<SiteLookupResult> {
    const { value, status } = await getJson(doFetch, restUrl, accessToken, MAX_SITES_BODY_BYTES, 'accessible-resources');
    const sites = readSites(value);
    if (sites === undefined) throw new SiteLookupError('the accessible-resources answer is not a site list', status);
    return { sites };
  }

  return options.mode === 'mcp' ? viaMcp : viaRest;
}

/** GET with the token to this URL only (no redirects), within the deadline and the size cap. */
async function getJson(
  doFetch: typeof fetch,
  url: string,
  accessToken: string,
  maxBytes: number,
  what: string,
): Promise<{ value: unknown; status: number }> {
  let response: Response;
  try {
    response = await doFetch(url, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      redirect: 'error', // the token goes to this host only
      signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
    });
  } catch (error) {
    throw new SiteLookupError(`${what} could not be reached`, undefined, error);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new SiteLookupError(`${what} answered ${response.status}`, response.status);
  }
  try {
    return { value: JSON.parse(decodeText(await readCapped(response, maxBytes))) as unknown, status: response.status };
  } catch (error) {
    const reason = error instanceof BodyTooLargeError ? 'is too large' : 'is not JSON';
    throw new SiteLookupError(`the ${what} answer ${reason}`, response.status, error);
  }
}

function emailOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' && value.length <= MAX_EMAIL_LENGTH ? value.trim() : undefined;
}
