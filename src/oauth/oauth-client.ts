/**
 * The one authorization-code flow, configured two ways (PRODUCT §3):
 *  - `mcp`: the hosted Rovo server — discover from the MCP endpoint, register dynamically (or use a
 *    configured client id), PKCE S256 and the RFC 8707 `resource` on authorize, token and refresh;
 *  - `classic`: a classic Atlassian 3LO app for a self-hosted MCP server — a known issuer, a
 *    confidential client, `audience=api.atlassian.com`, configured scopes.
 * Everything else (state, storage, single-flight refresh) is the same for both and lives elsewhere.
 */
import type { Logger } from 'pino';
import * as oauth from 'openid-client';
import type { KeyValueStore } from '../storage/types.ts';
import { createClientRegistry } from './client-registration.ts';
import type { ClientRegistration, ClientRegistry } from './client-registration.ts';
import { createIssuerDiscovery, createMcpDiscovery, isLoopbackHttp } from './discovery.ts';
import type { AuthorizationServerInfo, ServerDiscovery } from './discovery.ts';
import { OAuthError, toOAuthError } from './errors.ts';

export type OAuthMode =
  | {
      kind: 'mcp';
      mcpUrl: string;
      /** A pre-registered client; without it the bot registers itself (RFC 7591). */
      clientId?: string | undefined;
      clientSecret?: string | undefined;
      /** Default: the protected resource's `scopes_supported`. */
      scopes?: string[] | undefined;
    }
  | {
      kind: 'classic';
      /** Default https://auth.atlassian.com. */
      issuer: string;
      clientId: string;
      clientSecret: string;
      scopes: string[];
      /** Default api.atlassian.com. */
      audience?: string | undefined;
    };

/**
 * Classic 3LO scopes the self-hosted MCP server needs for Jira, plus refresh, plus `read:me` (the
 * user identity API) so a link can be checked against the Slack user's email.
 */
export const CLASSIC_DEFAULT_SCOPES = ['read:jira-work', 'write:jira-work', 'read:jira-user', 'read:me', 'offline_access'];

/** Maps configuration (PRODUCT §7) to a mode: a client secret means a classic 3LO app. */
export function oauthModeFromConfig(config: {
  mcpUrl: string;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  issuer?: string | undefined;
  scopes?: string[] | undefined;
}): OAuthMode {
  if (config.clientId !== undefined && config.clientSecret !== undefined) {
    return {
      kind: 'classic',
      issuer: config.issuer ?? 'https://auth.atlassian.com',
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      scopes: config.scopes ?? CLASSIC_DEFAULT_SCOPES,
    };
  }
  return { kind: 'mcp', mcpUrl: config.mcpUrl, clientId: config.clientId, scopes: config.scopes };
}

export interface TokenSet {
  accessToken: string;
  refreshToken?: string | undefined;
  /** Epoch ms. */
  expiresAt?: number | undefined;
  scope?: string | undefined;
}

export interface AuthorizationRequest {
  url: URL;
  issuer: string;
  clientId: string;
  resource: string | undefined;
}

/** What the state record remembers so the callback finishes the same flow it started. */
export interface CodeExchange {
  /** The query parameters the authorization server sent to the callback. */
  callbackParams: URLSearchParams;
  state: string;
  verifier: string;
  issuer: string;
  clientId: string;
  resource: string | undefined;
}

export interface AtlassianOAuth {
  readonly mode: OAuthMode['kind'];
  readonly redirectUri: string;
  authorizationRequest(input: { state: string; codeChallenge: string }): Promise<AuthorizationRequest>;
  exchangeCode(input: CodeExchange): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
  /** Best effort; false when the server has no revocation endpoint or it failed. */
  revoke(tokens: { accessToken: string; refreshToken?: string | undefined }): Promise<boolean>;
}

export interface AtlassianOAuthOptions {
  mode: OAuthMode;
  /** Where browsers reach this bot; the callback is `<publicUrl>/oauth/callback`. */
  publicUrl: string;
  /** Shared store for dynamic client registrations. */
  store: KeyValueStore;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Discovery results are reused this long. Default 1 hour. */
  discoveryTtlMs?: number;
  clientName?: string;
  now?: () => number;
}

export function callbackUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/oauth/callback`;
}

export function createAtlassianOAuth(options: AtlassianOAuthOptions): AtlassianOAuth {
  const { mode, logger } = options;
  const now = options.now ?? Date.now;
  const redirectUri = callbackUrl(options.publicUrl);
  const discoveryOptions = { fetch: options.fetch, logger, ttlMs: options.discoveryTtlMs, now };
  const discovery: ServerDiscovery =
    mode.kind === 'mcp' ? createMcpDiscovery(mode.mcpUrl, discoveryOptions) : createIssuerDiscovery(mode.issuer, discoveryOptions);
  const registry: ClientRegistry = createClientRegistry({
    store: options.store,
    redirectUri,
    configured: mode.clientId === undefined ? undefined : { clientId: mode.clientId, clientSecret: mode.clientSecret },
    clientName: options.clientName,
    fetch: options.fetch,
    logger,
    now,
  });

  async function current(): Promise<{ server: AuthorizationServerInfo; client: ClientRegistration }> {
    const server = await discovery.discover();
    return { server, client: await registry.clientFor(server) };
  }

  function configurationFor(
    server: AuthorizationServerInfo,
    client: { clientId: string; clientSecret?: string | undefined },
  ): oauth.Configuration {
    const methods = server.metadata.token_endpoint_auth_methods_supported;
    const auth =
      client.clientSecret === undefined
        ? oauth.None()
        : methods !== undefined && !methods.includes('client_secret_post') && methods.includes('client_secret_basic')
          ? oauth.ClientSecretBasic(client.clientSecret)
          : oauth.ClientSecretPost(client.clientSecret);
    const configuration = new oauth.Configuration(server.metadata, client.clientId, client.clientSecret, auth);
    configuration.timeout = 15;
    if (isLoopbackHttp(new URL(server.issuer))) oauth.allowInsecureRequests(configuration);
    if (options.fetch) configuration[oauth.customFetch] = options.fetch as oauth.CustomFetch;
    return configuration;
  }

  function scopeFor(server: AuthorizationServerInfo): string {
    const requested = mode.scopes ?? server.scopesSupported ?? [];
    // Nonce-free OAuth, not OpenID Connect: never ask for `openid`.
    const scopes = new Set(requested.filter((scope) => scope !== 'openid'));
    if (server.metadata.scopes_supported?.includes('offline_access')) scopes.add('offline_access');
    return [...scopes].join(' ');
  }

  /** A server that answered badly may have moved; a client it forgot must be registered again. */
  async function recover(error: OAuthError, client: ClientRegistration | undefined): Promise<void> {
    if (error.kind === 'invalid_client' && client !== undefined) await registry.invalidate(client);
    if (error.kind === 'invalid_client' || error.kind === 'unavailable' || error.kind === 'misconfigured') discovery.invalidate();
  }

  function tokenSet(response: oauth.TokenEndpointResponse, previousScope?: string): TokenSet {
    return {
      accessToken: response.access_token,
      refreshToken: response.refresh_token,
      expiresAt: typeof response.expires_in === 'number' ? now() + response.expires_in * 1000 : undefined,
      scope: response.scope ?? previousScope,
    };
  }

  return {
    mode: mode.kind,
    redirectUri,

    async authorizationRequest({ state, codeChallenge }) {
      let found: { server: AuthorizationServerInfo; client: ClientRegistration };
      try {
        found = await current();
      } catch (error) {
        const failure = toOAuthError(error, 'Preparing the authorization request');
        await recover(failure, undefined);
        throw failure;
      }
      const { server, client } = found;
      const scope = scopeFor(server);
      const parameters: Record<string, string> = {
        redirect_uri: redirectUri,
        response_type: 'code',
        scope,
        state,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
      };
      if (server.resource !== undefined) parameters.resource = server.resource;
      if (mode.kind === 'classic') parameters.audience = mode.audience ?? 'api.atlassian.com';
      // OpenID Connect servers grant offline_access only with prompt=consent (the MCP SDK does the same).
      if (mode.kind === 'classic' || scope.split(' ').includes('offline_access')) parameters.prompt = 'consent';
      const url = oauth.buildAuthorizationUrl(configurationFor(server, client), parameters);
      return { url, issuer: server.issuer, clientId: client.clientId, resource: server.resource };
    },

    async exchangeCode(input) {
      const { server, client } = await current().catch((error: unknown) => {
        throw toOAuthError(error, 'Code exchange');
      });
      if (server.issuer !== input.issuer) {
        throw new OAuthError('misconfigured', 'Code exchange failed: the authorization server changed since the sign-in started');
      }
      // The code is bound to the client that started the flow, even if we re-registered since.
      const flowClient = client.clientId === input.clientId ? client : { ...client, clientId: input.clientId, clientSecret: undefined };
      // Rebuild the callback URL from the registered redirect URI: behind a proxy, the URL the
      // HTTP server saw is not the one the authorization server redirected to.
      const callback = new URL(redirectUri);
      for (const [name, value] of input.callbackParams) callback.searchParams.append(name, value);
      try {
        const response = await oauth.authorizationCodeGrant(
          configurationFor(server, flowClient),
          callback,
          { pkceCodeVerifier: input.verifier, expectedState: input.state },
          input.resource === undefined ? undefined : { resource: input.resource },
        );
        return tokenSet(response);
      } catch (error) {
        const failure = toOAuthError(error, 'Code exchange');
        await recover(failure, flowClient);
        throw failure;
      }
    },

    async refresh(refreshToken) {
      let found: { server: AuthorizationServerInfo; client: ClientRegistration } | undefined;
      try {
        found = await current();
        const response = await oauth.refreshTokenGrant(
          configurationFor(found.server, found.client),
          refreshToken,
          found.server.resource === undefined ? undefined : { resource: found.server.resource },
        );
        return tokenSet(response);
      } catch (error) {
        const failure = toOAuthError(error, 'Token refresh');
        await recover(failure, found?.client);
        throw failure;
      }
    },

    async revoke(tokens) {
      let found: { server: AuthorizationServerInfo; client: ClientRegistration };
      try {
        found = await current();
      } catch (error) {
        logger?.warn({ reason: toOAuthError(error, 'Revocation').message }, 'Could not revoke Atlassian tokens');
        return false;
      }
      if (found.server.metadata.revocation_endpoint === undefined) return false;
      const configuration = configurationFor(found.server, found.client);
      try {
        // Revoking the refresh token ends the grant on most servers; the access token too, for the others.
        if (tokens.refreshToken !== undefined)
          await oauth.tokenRevocation(configuration, tokens.refreshToken, { token_type_hint: 'refresh_token' });
        await oauth.tokenRevocation(configuration, tokens.accessToken, { token_type_hint: 'access_token' });
        return true;
      } catch (error) {
        logger?.warn({ reason: toOAuthError(error, 'Revocation').message }, 'Could not revoke Atlassian tokens');
        return false;
      }
    },
  };
}
