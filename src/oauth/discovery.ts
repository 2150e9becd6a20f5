/**
 * Where to send users to sign in, found the way an MCP client must (MCP authorization spec):
 * POST to the MCP endpoint without a token → 401 with `WWW-Authenticate: Bearer
 * resource_metadata="…"` (RFC 9728) → the protected-resource metadata names the authorization
 * server → its metadata (RFC 8414, or OpenID discovery). Atlassian moved its authorization server
 * once and told clients not to cache any of this forever, so results live for a TTL and callers
 * invalidate them when the server misbehaves.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ServerMetadata } from 'openid-client';
import { OAuthError } from './errors.ts';

export interface AuthorizationServerInfo {
  issuer: string;
  /** The RFC 8707 resource to bind tokens to (the MCP URL); undefined for a classic 3LO issuer. */
  resource: string | undefined;
  /** Scopes to ask for, from the protected resource (else the authorization server). */
  scopesSupported: string[] | undefined;
  /** Authorization-server metadata, as openid-client takes it. */
  metadata: ServerMetadata;
  /** The document the metadata came from. */
  metadataUrl: string;
  discoveredAt: number;
}

export interface ServerDiscovery {
  discover(): Promise<AuthorizationServerInfo>;
  /** Forget the cached result; the next `discover()` asks the servers again. */
  invalidate(): void;
}

export interface DiscoveryOptions {
  fetch?: typeof fetch;
  logger?: Logger;
  /** How long a discovery result is reused. Default 1 hour. */
  ttlMs?: number;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
  now?: () => number;
}

const DEFAULT_TTL_MS = 60 * 60 * 1000;
const DEFAULT_TIMEOUT_MS = 10_000;

const protectedResourceSchema = z.object({
  resource: z.string().optional(),
  authorization_servers: z.array(z.string()).min(1),
  scopes_supported: z.array(z.string()).optional(),
});

const serverMetadataSchema = z.looseObject({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  registration_endpoint: z.string().optional(),
  revocation_endpoint: z.string().optional(),
  scopes_supported: z.array(z.string()).optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});

/** Discovery starting from the MCP endpoint (the hosted Rovo server). */
export function createMcpDiscovery(mcpUrl: string, options: DiscoveryOptions = {}): ServerDiscovery {
  return cached(options, () => discoverFromMcp(mcpUrl, options));
}

/** Discovery of a known issuer (classic 3LO app): no protected resource, no `resource` parameter. */
export function createIssuerDiscovery(issuer: string, options: DiscoveryOptions = {}): ServerDiscovery {
  return cached(options, async () => {
    const found = await fetchAuthorizationServerMetadata(issuer, options);
    return { ...found, resource: undefined, scopesSupported: found.metadata.scopes_supported, discoveredAt: (options.now ?? Date.now)() };
  });
}

function cached(options: DiscoveryOptions, load: () => Promise<AuthorizationServerInfo>): ServerDiscovery {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const now = options.now ?? Date.now;
  let current: Promise<AuthorizationServerInfo> | undefined;
  let loadedAt = 0;
  return {
    discover() {
      if (current === undefined || now() - loadedAt >= ttlMs) {
        loadedAt = now();
        const attempt = load();
        current = attempt;
        // A failed discovery is not cached: the next caller tries again.
        attempt.catch(() => {
          if (current === attempt) current = undefined;
        });
      }
      return current;
    },
    invalidate() {
      current = undefined;
    },
  };
}

export async function discoverFromMcp(mcpUrl: string, options: DiscoveryOptions = {}): Promise<AuthorizationServerInfo> {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const endpoint = new URL(mcpUrl);
  requireSafeUrl(endpoint, 'MCP endpoint');

  // 1. Ask the resource itself; it names its metadata in the 401 challenge.
  let challenged: string | undefined;
  try {
    const response = await doFetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'vteam-slack', version: '0' } },
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (response.status === 401) challenged = resourceMetadataFromChallenge(response.headers.get('www-authenticate'));
    else
      options.logger?.warn(
        { status: response.status },
        'MCP endpoint did not answer an unauthenticated request with 401; trying the well-known metadata',
      );
  } catch (error) {
    throw new OAuthError('unavailable', 'OAuth discovery failed: the MCP endpoint could not be reached', { cause: error });
  }

  // 2. Protected-resource metadata: the advertised URL, else the RFC 9728 well-known locations.
  const candidates = challenged !== undefined ? [challenged] : protectedResourceMetadataCandidates(endpoint);
  let resourceMetadata: z.infer<typeof protectedResourceSchema> | undefined;
  const seen = { down: false };
  for (const candidate of candidates) {
    const url = new URL(candidate, endpoint);
    requireSafeUrl(url, 'protected resource metadata');
    const found = await getJson(doFetch, url, timeoutMs, seen);
    const parsed = found === undefined ? undefined : protectedResourceSchema.safeParse(found);
    if (parsed?.success) {
      resourceMetadata = parsed.data;
      break;
    }
  }
  if (resourceMetadata === undefined) {
    throw new OAuthError(
      seen.down ? 'unavailable' : 'misconfigured',
      'OAuth discovery failed: the MCP endpoint publishes no usable protected-resource metadata',
    );
  }
  const resource = resourceMetadata.resource ?? mcpUrl;
  if (!resourceCovers(resource, endpoint)) {
    throw new OAuthError(
      'misconfigured',
      'OAuth discovery failed: the protected-resource metadata names a different resource than the MCP endpoint',
    );
  }

  // 3. The authorization server's own metadata.
  const issuer = resourceMetadata.authorization_servers[0] as string;
  const found = await fetchAuthorizationServerMetadata(issuer, options);
  return {
    ...found,
    resource,
    scopesSupported: resourceMetadata.scopes_supported ?? found.metadata.scopes_supported,
    discoveredAt: (options.now ?? Date.now)(),
  };
}

/** RFC 8414 (path inserted after the well-known prefix), then the OpenID Connect forms, as the MCP spec orders them. */
export async function fetchAuthorizationServerMetadata(
  issuer: string,
  options: DiscoveryOptions = {},
): Promise<{ issuer: string; metadata: ServerMetadata; metadataUrl: string }> {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = new URL(issuer);
  requireSafeUrl(base, 'authorization server');
  const path = base.pathname === '/' ? '' : base.pathname.replace(/\/+$/, '');
  const candidates =
    path === ''
      ? [`${base.origin}/.well-known/oauth-authorization-server`, `${base.origin}/.well-known/openid-configuration`]
      : [
          `${base.origin}/.well-known/oauth-authorization-server${path}`,
          `${base.origin}/.well-known/openid-configuration${path}`,
          `${base.origin}${path}/.well-known/openid-configuration`,
        ];
  const seen = { down: false };
  for (const candidate of candidates) {
    const found = await getJson(doFetch, new URL(candidate), timeoutMs, seen);
    if (found === undefined) continue;
    const parsed = serverMetadataSchema.safeParse(found);
    if (!parsed.success) continue;
    // RFC 8414 §3.3: the document must be about the issuer we asked for.
    if (parsed.data.issuer.replace(/\/+$/, '') !== issuer.replace(/\/+$/, '')) {
      throw new OAuthError('misconfigured', 'OAuth discovery failed: the authorization server metadata names a different issuer');
    }
    const methods = parsed.data.code_challenge_methods_supported;
    if (methods !== undefined && !methods.includes('S256')) {
      throw new OAuthError('misconfigured', 'OAuth discovery failed: the authorization server does not support PKCE S256');
    }
    return { issuer: parsed.data.issuer, metadata: parsed.data as ServerMetadata, metadataUrl: candidate };
  }
  throw new OAuthError(
    seen.down ? 'unavailable' : 'misconfigured',
    'OAuth discovery failed: the authorization server publishes no usable metadata',
  );
}

/** The `resource_metadata` parameter of a Bearer challenge, if any. */
export function resourceMetadataFromChallenge(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /(?:^|[\s,])resource_metadata\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/i.exec(header);
  if (match === null) return undefined;
  const value = match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
  return value === '' ? undefined : value;
}

/** RFC 9728 §3.1: path-specific first, then the origin-wide document. */
export function protectedResourceMetadataCandidates(resource: URL): string[] {
  const path = resource.pathname === '/' ? '' : resource.pathname.replace(/\/+$/, '');
  const root = `${resource.origin}/.well-known/oauth-protected-resource`;
  return path === '' ? [root] : [`${root}${path}`, root];
}

/** The metadata's resource must be the endpoint or a parent of it, on the same origin. */
function resourceCovers(resource: string, endpoint: URL): boolean {
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    return false;
  }
  if (url.origin !== endpoint.origin) return false;
  const parent = url.pathname.replace(/\/+$/, '');
  const child = endpoint.pathname.replace(/\/+$/, '');
  return child === parent || child.startsWith(`${parent}/`);
}

/** Loopback HTTP is for tests and local development; anything else must be HTTPS. */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

function requireSafeUrl(url: URL, what: string): void {
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) {
    throw new OAuthError('misconfigured', `OAuth discovery failed: the ${what} URL must use https`);
  }
}

/** A JSON document, or undefined when absent; `down` records whether the server looked unavailable. */
async function getJson(doFetch: typeof fetch, url: URL, timeoutMs: number, seen?: { down: boolean }): Promise<unknown> {
  let response: Response;
  try {
    response = await doFetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    if (seen) seen.down = true;
    return undefined;
  }
  if (!response.ok) {
    if (seen && (response.status >= 500 || response.status === 429)) seen.down = true;
    await response.body?.cancel();
    return undefined;
  }
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}
