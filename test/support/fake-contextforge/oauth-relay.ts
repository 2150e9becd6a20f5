/**
 * MCF as an OAuth relay: per-user upstream tokens keyed by the caller's email (one gateway), the
 * authorization state (300 s, single use, bound to the email that asked), the callback's code
 * exchange, and refresh within 300 s of expiry (rotated refresh tokens kept; `invalid_grant`
 * deletes the token, so the user must authorize again).
 */
import { randomBytes } from 'node:crypto';
import type { ContextForgeCounters } from './counters.ts';
import { discover, pkcePair, register, tokenRequest } from './oauth-client.ts';
import type { RegisteredClient, ServerMetadata, TokenSet } from './oauth-client.ts';
import { escapeHtml, failurePage, successPage } from './pages.ts';

const REFRESH_WITHIN_MS = 300_000;

export interface RelaySettings {
  gatewayName: string;
  callbackUrl: string;
  resource: string;
  /** Space-separated, `offline_access` included. */
  scope: string;
  stateTtlMs: number;
  extraParams: Record<string, string>;
}

type AuthorizationServer = { metadata: ServerMetadata; client: RegisteredClient };

interface PendingAuthorization {
  email: string;
  verifier: string;
  expiresAt: number;
}

export class OAuthRelay {
  readonly #tokens = new Map<string, TokenSet>();
  readonly #pending = new Map<string, PendingAuthorization>();
  readonly #refreshing = new Map<string, Promise<TokenSet | undefined>>();
  readonly #settings: RelaySettings;
  readonly #counters: ContextForgeCounters;
  readonly #server: AuthorizationServer | undefined;

  private constructor(settings: RelaySettings, counters: ContextForgeCounters, server: AuthorizationServer | undefined) {
    this.#settings = settings;
    this.#counters = counters;
    this.#server = server;
  }

  /** Registers with the authorization server at `issuer` (dynamic client registration), if any. */
  static async start(settings: RelaySettings, counters: ContextForgeCounters, issuer: string | undefined): Promise<OAuthRelay> {
    if (issuer === undefined) return new OAuthRelay(settings, counters, undefined);
    const metadata = await discover(issuer);
    const client = await register(metadata, settings.callbackUrl, `MCP Gateway (${settings.gatewayName})`);
    return new OAuthRelay(settings, counters, { metadata, client });
  }

  /** The client id registered at the authorization server. */
  get clientId(): string | undefined {
    return this.#server?.client.clientId;
  }

  store(email: string, tokens: TokenSet): void {
    this.#tokens.set(key(email), tokens);
  }

  forget(email: string): boolean {
    return this.#tokens.delete(key(email));
  }

  stored(email: string): TokenSet | undefined {
    const tokens = this.#tokens.get(key(email));
    return tokens === undefined ? undefined : { ...tokens };
  }

  /** The user's upstream token, refreshed first when it expires within 300 s (one refresh at a time per user). */
  async currentToken(email: string): Promise<TokenSet | undefined> {
    const stored = this.#tokens.get(key(email));
    const server = this.#server;
    if (stored === undefined || server === undefined || stored.refreshToken === undefined || stored.expiresAt === undefined) return stored;
    if (stored.expiresAt - Date.now() > REFRESH_WITHIN_MS) return stored;
    let running = this.#refreshing.get(key(email));
    if (running === undefined) {
      running = this.#refresh(key(email), stored, server).finally(() => this.#refreshing.delete(key(email)));
      this.#refreshing.set(key(email), running);
    }
    return running;
  }

  /** The authorization server URL the user opens (undefined when the gateway has no OAuth). */
  authorizationUrl(email: string): string | undefined {
    if (this.#server === undefined) return undefined;
    const state = randomBytes(32).toString('base64url');
    const { verifier, challenge } = pkcePair();
    this.#pending.set(state, { email, verifier, expiresAt: Date.now() + this.#settings.stateTtlMs });
    const location = new URL(this.#server.metadata.authorization_endpoint);
    const parameters = {
      response_type: 'code',
      client_id: this.#server.client.clientId,
      redirect_uri: this.#settings.callbackUrl,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: this.#settings.scope,
      resource: this.#settings.resource,
      ...this.#settings.extraParams,
    };
    for (const [name, value] of Object.entries(parameters)) location.searchParams.set(name, value);
    return location.href;
  }

  /** `GET /oauth/callback`: the page MCF answers; the tokens are stored and nobody else is told. */
  async complete(query: URLSearchParams): Promise<{ status: number; html: string }> {
    const callbacks = this.#counters.callbacks;
    const fail = (outcome: ContextForgeCounters['callbacks'][number]['outcome'], lines: string[], email?: string) => {
      callbacks.push({ email, status: 400, outcome });
      return { status: 400, html: failurePage(lines) };
    };
    const error = query.get('error');
    if (error !== null) {
      const description = query.get('error_description') ?? 'OAuth provider returned an authorization error.';
      return fail('provider-error', [
        `<p><strong>Error:</strong> ${escapeHtml(error)}</p>`,
        `<p><strong>Description:</strong> ${escapeHtml(description)}</p>`,
      ]);
    }
    const code = query.get('code');
    if (code === null || code === '') return fail('missing-code', ['<p>Error: Missing authorization code in callback response.</p>']);
    const state = query.get('state') ?? '';
    const pending = this.#pending.get(state);
    this.#pending.delete(state); // single use
    if (pending === undefined || pending.expiresAt <= Date.now() || this.#server === undefined) {
      return fail('invalid-state', ['<p>Error: Invalid OAuth state parameter.</p>']);
    }
    const answer = await tokenRequest(this.#server.metadata, this.#server.client, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.#settings.callbackUrl,
      code_verifier: pending.verifier,
      resource: this.#settings.resource,
    });
    if (!answer.ok) {
      const message = `<p><strong>Error:</strong> Failed to exchange code for token: ${escapeHtml(answer.error)}</p>`;
      return fail('exchange-failed', [message], pending.email);
    }
    this.store(pending.email, answer.tokens); // a new authorization overwrites the old token
    callbacks.push({ email: pending.email, status: 200, outcome: 'linked' });
    return { status: 200, html: successPage(this.#settings.gatewayName, pending.email, answer.tokens.expiresAt) };
  }

  async #refresh(email: string, stored: TokenSet, server: AuthorizationServer) {
    const answer = await tokenRequest(
      server.metadata,
      server.client,
      { grant_type: 'refresh_token', refresh_token: stored.refreshToken ?? '', resource: this.#settings.resource },
      stored.refreshToken,
    ).catch((error: unknown) => ({ ok: false as const, error: 'unreachable', description: String(error) }));
    const unchanged = this.#tokens.get(email) === stored; // a new authorization meanwhile wins
    if (answer.ok) {
      if (unchanged) this.#tokens.set(email, answer.tokens);
      this.#counters.refreshes.push({ email, outcome: 'refreshed' });
    } else if (answer.error === 'invalid_grant') {
      if (unchanged) this.#tokens.delete(email);
      this.#counters.refreshes.push({ email, outcome: 'refused' });
    } else {
      this.#counters.refreshes.push({ email, outcome: 'failed' });
    }
    return this.#tokens.get(email);
  }
}

function key(email: string): string {
  return email.trim().toLowerCase();
}
