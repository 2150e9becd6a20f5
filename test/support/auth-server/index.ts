/**
 * A real OAuth 2.1 authorization server for tests: `oidc-provider` on loopback, configured like the
 * one behind Atlassian's MCP endpoint — open dynamic client registration, PKCE S256 required,
 * resource indicators (tokens are audience-bound to the MCP URL), rotating single-use refresh
 * tokens (reusing one revokes the grant: invalid_grant), `offline_access`, token revocation.
 *
 * The sign-in and consent pages are a minimal interaction of our own (plain HTML forms checked
 * against an in-memory account store) so `completeBrowserLeg` can drive them over plain HTTP.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Provider, { errors as oidcErrors } from 'oidc-provider';
import type { InteractionDetails, OidcContext } from 'oidc-provider';
import { bearerChallenge, protectedResourceMetadata, protectedResourceMetadataUrl } from './protected-resource.ts';
import type { ProtectedResourceMetadata } from './protected-resource.ts';

export { completeBrowserLeg, BrowserLegError } from './browser.ts';
export type { BrowserLegOptions } from './browser.ts';
export { bearerChallenge, protectedResourceMetadata, protectedResourceMetadataUrl } from './protected-resource.ts';
export type { ProtectedResourceMetadata } from './protected-resource.ts';

export interface TestAccount {
  password: string;
  name?: string;
  /** The account's email, as Atlassian's `/me` and `atlassianUserInfo` answer it. */
  email?: string;
}

export interface StaticClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  token_endpoint_auth_method?: 'none' | 'client_secret_post' | 'client_secret_basic';
  grant_types?: string[];
}

export interface AuthServerOptions {
  /** The resource (MCP URL) access tokens are bound to. More may be added with `addResource`. */
  resource?: string;
  /** Scopes the resource grants; default `read:jira-work write:jira-work`. */
  resourceScopes?: string[];
  /** Access-token lifetime in seconds (default 3600); changeable later with `setAccessTokenTtl`. */
  accessTokenTtlSeconds?: number;
  /** Accounts that may sign in; default `{ ada: { password: 'password', name: 'Ada Lovelace', email: 'ada@example.com' } }`. */
  accounts?: Record<string, TestAccount>;
  /** Pre-registered clients (e.g. a classic confidential 3LO app). */
  clients?: StaticClient[];
  /**
   * Resource used when an authorization request names none (how a classic 3LO app gets an
   * audience-bound token with `audience=api.atlassian.com` and no `resource`). Default: none.
   */
  defaultResource?: string;
  port?: number;
}

export interface TokenRequestRecord {
  grantType: string | undefined;
  clientId: string | undefined;
  resource: string | undefined;
  ok: boolean;
  /** OAuth error code when it failed, e.g. `invalid_grant`. */
  error?: string | undefined;
}

export interface AuthServerCounters {
  /** POSTs to the token endpoint, any grant, successful or not. */
  tokenRequests: number;
  /** refresh_token grants, successful or not. */
  refreshes: number;
  /** refresh_token grants that failed (invalid_grant, invalid_client, …). */
  failedRefreshes: number;
  authorizationCodeGrants: number;
  /** Successful dynamic client registrations. */
  registrations: number;
  /** Requests to the revocation endpoint. */
  revocations: number;
  tokenLog: TokenRequestRecord[];
}

export interface VerifiedAccessToken {
  sub: string;
  /** The account's name and email now (from the account store), for fakes that answer "who am I". */
  name: string | undefined;
  email: string | undefined;
  aud: string | string[] | undefined;
  scope: string | undefined;
  clientId: string | undefined;
}

export interface AuthServerHandle {
  /** The issuer, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  issuer: string;
  /** The default resource given in options (or undefined). */
  resource: string | undefined;
  counters: AuthServerCounters;
  close(): Promise<void>;
  /** Resolves a bearer token this server issued and that is still valid (not expired, not revoked). */
  verifyAccessToken(token: string): Promise<VerifiedAccessToken | undefined>;
  /** Revokes every grant of an account: its tokens die and refreshing them fails with invalid_grant. */
  revokeGrant(sub: string): Promise<number>;
  /** Forgets dynamically registered clients, as Atlassian did when it moved its auth server. */
  forgetRegisteredClients(): Promise<number>;
  registeredClientIds(): string[];
  setAccessTokenTtl(seconds: number): void;
  addResource(resource: string): void;
  addAccount(id: string, account: TestAccount): void;
  /** RFC 9728 metadata naming this server, for a protected resource (default: the configured one). */
  protectedResourceMetadata(resourceUrl?: string, scopesSupported?: string[]): ProtectedResourceMetadata;
  /** `Bearer resource_metadata="…"` for a protected resource (default: the configured one). */
  wwwAuthenticate(resourceUrl?: string, error?: 'invalid_token' | 'insufficient_scope'): string;
}

const DEFAULT_SCOPES = ['read:jira-work', 'write:jira-work'];

export async function startAuthServer(options: AuthServerOptions = {}): Promise<AuthServerHandle> {
  const accounts = new Map(
    Object.entries(options.accounts ?? { ada: { password: 'password', name: 'Ada Lovelace', email: 'ada@example.com' } }),
  );
  const resources = new Set(options.resource === undefined ? [] : [options.resource]);
  if (options.defaultResource !== undefined) resources.add(options.defaultResource);
  const resourceScopes = options.resourceScopes ?? DEFAULT_SCOPES;
  let accessTokenTtl = options.accessTokenTtlSeconds ?? 3600;
  const counters: AuthServerCounters = {
    tokenRequests: 0,
    refreshes: 0,
    failedRefreshes: 0,
    authorizationCodeGrants: 0,
    registrations: 0,
    revocations: 0,
    tokenLog: [],
  };
  const grantsByAccount = new Map<string, Set<string>>();
  const registeredClients = new Set<string>();

  // Bind first: the issuer must carry the port.
  const server = createServer();
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    clients: options.clients ?? [],
    jwks: { keys: [{ ...signingKey, kid: 'test-signing-key', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access'],
    findAccount: (_ctx: unknown, id: string) =>
      accounts.has(id)
        ? { accountId: id, claims: () => ({ sub: id, name: accounts.get(id)?.name, email: accounts.get(id)?.email }) }
        : undefined,
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      // A client may revoke only its own tokens.
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf ?? options.defaultResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
          if (!resources.has(resourceIndicator)) throw new oidcErrors.InvalidTarget('unknown resource');
          return {
            scope: resourceScopes.join(' '),
            audience: resourceIndicator,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }, code: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    ttl: {
      AccessToken: () => accessTokenTtl,
      RefreshToken: 14 * 24 * 3600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 14 * 24 * 3600,
    },
    // Plain JSON for errors; tests read them from completeBrowserLeg's message.
    renderError: (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<html><body><h1>oops! something went wrong</h1><pre>${escapeHtml(JSON.stringify(out))}</pre></body></html>`;
    },
  });

  const recordGrant = (ctx: OidcContext, error?: unknown) => {
    const params = ctx.oidc?.params ?? {};
    const grantType = typeof params.grant_type === 'string' ? params.grant_type : undefined;
    const errorCode = error === undefined ? undefined : String((error as { error?: unknown }).error ?? 'server_error');
    if (grantType === 'refresh_token') {
      counters.refreshes += 1;
      if (error !== undefined) counters.failedRefreshes += 1;
    }
    if (grantType === 'authorization_code') counters.authorizationCodeGrants += 1;
    counters.tokenLog.push({
      grantType,
      clientId: ctx.oidc?.client?.clientId ?? (typeof params.client_id === 'string' ? params.client_id : undefined),
      resource: typeof params.resource === 'string' ? params.resource : undefined,
      ok: error === undefined,
      error: errorCode,
    });
  };
  provider.on('grant.success', (ctx) => recordGrant(ctx));
  provider.on('grant.error', (ctx, error) => recordGrant(ctx, error));
  provider.on('registration_create.success', (_ctx, client) => {
    counters.registrations += 1;
    registeredClients.add((client as { clientId: string }).clientId);
  });

  const oidcCallback = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'POST' && url.pathname === '/token') counters.tokenRequests += 1;
    if (req.method === 'POST' && url.pathname === '/token/revocation') counters.revocations += 1;
    if (url.pathname.startsWith('/interaction/')) {
      interaction(req, res, url).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/html' });
        res.end(`<html><body><h1>interaction failed</h1><pre>${escapeHtml(String((error as Error).message))}</pre></body></html>`);
      });
      return;
    }
    oidcCallback(req, res);
  });

  /** GET /interaction/:uid renders; POST …/login, …/confirm, …/abort submit. */
  async function interaction(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const [, , uid, action] = url.pathname.split('/');
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    if (req.method === 'GET' && action === undefined) return page(res, details);
    if (req.method !== 'POST') throw new Error('method not allowed');
    const form = new URLSearchParams(await readBody(req));

    if (action === 'login') {
      const login = form.get('login') ?? '';
      const account = accounts.get(login);
      if (account === undefined || account.password !== (form.get('password') ?? '')) {
        return page(res, details, 'Incorrect login or password.');
      }
      return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    }
    if (action === 'confirm') {
      const accountId = details.session?.accountId;
      if (accountId === undefined) throw new Error('not signed in');
      const grant =
        (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
        new provider.Grant({ accountId, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      const grants = grantsByAccount.get(accountId) ?? new Set<string>();
      grants.add(grantId);
      grantsByAccount.set(accountId, grants);
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    if (action === 'abort') {
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
    }
    throw new Error('unknown interaction action');
  }

  return {
    url: issuer,
    issuer,
    resource: options.resource,
    counters,
    async close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
    async verifyAccessToken(token) {
      const found = await provider.AccessToken.find(token);
      if (found === undefined || found.isExpired || found.accountId === undefined) return undefined;
      if (found.grantId !== undefined && (await provider.Grant.find(found.grantId)) === undefined) return undefined;
      const account = accounts.get(found.accountId);
      return {
        sub: found.accountId,
        name: account?.name,
        email: account?.email,
        aud: found.aud,
        scope: found.scope,
        clientId: found.clientId,
      };
    },
    async revokeGrant(sub) {
      const grants = grantsByAccount.get(sub) ?? new Set<string>();
      for (const grantId of grants) {
        await provider.AccessToken.revokeByGrantId(grantId); // every token of the grant: AT, RT, codes
        const grant = await provider.Grant.find(grantId);
        await grant?.destroy();
      }
      grantsByAccount.delete(sub);
      return grants.size;
    },
    async forgetRegisteredClients() {
      const ids = [...registeredClients];
      for (const id of ids) await provider.Client.adapter.destroy(id);
      registeredClients.clear();
      return ids.length;
    },
    registeredClientIds: () => [...registeredClients],
    setAccessTokenTtl(seconds) {
      accessTokenTtl = seconds;
    },
    addResource(resource) {
      resources.add(resource);
    },
    addAccount(id, account) {
      accounts.set(id, account);
    },
    protectedResourceMetadata(resourceUrl = requireResource(), scopesSupported = resourceScopes) {
      return protectedResourceMetadata(resourceUrl, issuer, { scopesSupported });
    },
    wwwAuthenticate(resourceUrl = requireResource(), error) {
      return bearerChallenge(resourceUrl, { error, metadataUrl: protectedResourceMetadataUrl(resourceUrl) });
    },
  };

  function requireResource(): string {
    if (options.resource === undefined) throw new Error('startAuthServer was given no resource; pass one explicitly');
    return options.resource;
  }
}

function page(res: ServerResponse, details: InteractionDetails, problem?: string): void {
  const uid = encodeURIComponent(details.uid);
  const notice = problem ? `<p class="error">${escapeHtml(problem)}</p>` : '';
  const body =
    details.prompt.name === 'login'
      ? `<h1>Sign in</h1>${notice}
<form method="post" action="/interaction/${uid}/login">
  <input type="text" name="login" required>
  <input type="password" name="password" required>
  <button type="submit">Sign in</button>
</form>`
      : `<h1>Authorize ${escapeHtml(details.params.client_id)}</h1>
<p>Scopes: ${escapeHtml(details.params.scope ?? '')}</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Deny</button></form>`;
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html><body>${body}</body></html>`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
