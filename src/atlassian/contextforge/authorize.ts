/**
 * Starting a user's Atlassian link inside MCP Context Forge: `GET {mcf}/oauth/authorize/<gateway>`
 * as that user answers a redirect to Atlassian's authorization server, carrying MCF's own state
 * (valid 300 s), PKCE and callback. The browser goes there; MCF finishes the code exchange itself.
 * MCF refuses this request to server-limited tokens, hence the `authorize` token.
 */
import type { VteamError } from '../../errors.ts';
import { readCapped } from '../../lib/http-body.ts';
import type { FetchLike } from '../http.ts';
import type { McpGatewayProfile } from '../gateway-profile.ts';
import type { ContextForgeTokens } from './tokens.ts';

export type AuthorizationStart =
  | { kind: 'redirect'; url: string }
  /** MCF does not know this gateway id (it was re-registered): learn it again. */
  | { kind: 'unknown-gateway' }
  /** MCF refused the user or the bot (a VteamError saying what to do). */
  | { kind: 'refused'; error: VteamError };

export interface AuthorizationStarterOptions {
  baseUrl: string;
  tokens: ContextForgeTokens;
  profile: McpGatewayProfile;
  fetch?: FetchLike | undefined;
  timeoutMs?: number;
}

const MAX_BODY_BYTES = 4096;

export function createAuthorizationStarter(options: AuthorizationStarterOptions) {
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const base = options.baseUrl.replace(/\/+$/, '');

  /** Throws on a network failure or an answer that is no redirect to an http(s) URL. */
  return async function start(email: string, gatewayId: string): Promise<AuthorizationStart> {
    const token = await options.tokens.mint(email, 'authorize');
    const endpoint = `${base}/oauth/authorize/${encodeURIComponent(gatewayId)}`;
    const response = await doFetch(endpoint, {
      method: 'GET',
      redirect: 'manual',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const location = response.headers.get('location');
    // MCF's refusals are a line of JSON; more is not read (a larger body is cut off, never downloaded).
    const body = await readCapped(response, MAX_BODY_BYTES)
      .then((bytes) => new TextDecoder().decode(bytes))
      .catch(() => '');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      const url = new URL(location, endpoint);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`MCP Context Forge redirected to a ${url.protocol} URL`);
      return { kind: 'redirect', url: url.href };
    }
    if (response.status === 404 && /gateway/i.test(body)) return { kind: 'unknown-gateway' };
    const refusal = options.profile.httpRefusal(response.status, body);
    if (refusal !== undefined) return { kind: 'refused', error: refusal };
    throw new Error(`MCP Context Forge answered HTTP ${response.status} to the authorize request`);
  };
}

export type AuthorizationStarter = ReturnType<typeof createAuthorizationStarter>;
