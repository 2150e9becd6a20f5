/**
 * Linking a Slack user's Atlassian account. `startLink` mints a fresh authorization URL per click:
 * a random single-use state (256 bits) bound to the Slack user, a PKCE S256 verifier, and the
 * resource. `completeLink` handles the browser's return to `/oauth/callback`: it consumes the
 * state atomically (a replay loses even when racing), exchanges the code, reads the user's sites
 * and stores the link — overwriting any old one. Every failure is a LinkError with a kind.
 *
 * The state record is keyed by a hash of the state, so the store never holds the value that would
 * let someone complete a flow; it outlives its validity by a grace period so a late or replayed
 * callback can be told apart from a forged one.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import * as oauth from 'openid-client';
import type { SlackUserRef } from '../publishing/model.ts';
import type { TokenStore } from '../storage/tokens.ts';
import type { AtlassianLink, KeyValueStore } from '../storage/types.ts';
import { LinkError, OAuthError, toOAuthError } from './errors.ts';
import type { AtlassianOAuth } from './oauth-client.ts';

export interface AtlassianSite {
  id: string;
  url: string;
  name: string;
}

/** What the server says the fresh token can reach (the lead calls getAccessibleAtlassianResources). */
export type SiteLookup = (accessToken: string) => Promise<{ sites: AtlassianSite[]; accountName?: string | undefined }>;

export interface LinkFlowOptions {
  store: KeyValueStore;
  tokens: TokenStore;
  oauth: AtlassianOAuth;
  siteLookup?: SiteLookup;
  logger?: Logger;
  /** How long a started link may be completed. Default 10 minutes. */
  stateTtlMs?: number;
  /** How long an expired or used state is remembered, to say so instead of "unknown". Default 1 hour. */
  stateGraceMs?: number;
  now?: () => number;
}

export interface StartedLink {
  authorizationUrl: string;
  /** Epoch ms after which the URL no longer completes. */
  expiresAt: number;
}

export interface CompletedLink {
  user: SlackUserRef;
  link: AtlassianLink;
  /** Whatever was given to `startLink` (e.g. the publish to resume). */
  context: unknown;
}

export interface LinkFlow {
  startLink(user: SlackUserRef, context?: { resumePublish?: unknown }): Promise<StartedLink>;
  /** The callback URL as received (or just its query). Throws LinkError. */
  completeLink(callback: URL | URLSearchParams): Promise<CompletedLink>;
}

const DEFAULT_STATE_TTL_MS = 10 * 60 * 1000;
const DEFAULT_STATE_GRACE_MS = 60 * 60 * 1000;

const pendingSchema = z.object({
  user: z.object({ teamId: z.string(), enterpriseId: z.string().optional(), userId: z.string() }),
  verifier: z.string().min(43),
  issuer: z.string(),
  clientId: z.string(),
  resource: z.string().optional(),
  createdAt: z.number(),
  expiresAt: z.number(),
  context: z.unknown().optional(),
  usedAt: z.number().optional(),
});
type PendingLink = z.infer<typeof pendingSchema>;

export const stateKey = (state: string) => `oauth-state:${createHash('sha256').update(state).digest('base64url')}`;

export function createLinkFlow(options: LinkFlowOptions): LinkFlow {
  const { store, tokens, logger } = options;
  const now = options.now ?? Date.now;
  const stateTtlMs = options.stateTtlMs ?? DEFAULT_STATE_TTL_MS;
  const graceMs = options.stateGraceMs ?? DEFAULT_STATE_GRACE_MS;
  const who = (user: SlackUserRef) => ({ teamId: user.teamId, enterpriseId: user.enterpriseId, userId: user.userId });

  async function startLink(user: SlackUserRef, context: { resumePublish?: unknown } = {}): Promise<StartedLink> {
    const state = oauth.randomState();
    const verifier = oauth.randomPKCECodeVerifier();
    let request;
    try {
      request = await options.oauth.authorizationRequest({ state, codeChallenge: await oauth.calculatePKCECodeChallenge(verifier) });
    } catch (error) {
      const failure = toOAuthError(error, 'Starting the Atlassian sign-in');
      logger?.warn({ ...who(user), kind: failure.kind, reason: failure.message }, 'Could not start linking an Atlassian account');
      throw new LinkError('unavailable', failure.message, { user, context, cause: failure });
    }
    const createdAt = now();
    const record: PendingLink = {
      user: { teamId: user.teamId, ...(user.enterpriseId ? { enterpriseId: user.enterpriseId } : {}), userId: user.userId },
      verifier,
      issuer: request.issuer,
      clientId: request.clientId,
      ...(request.resource === undefined ? {} : { resource: request.resource }),
      createdAt,
      expiresAt: createdAt + stateTtlMs,
      ...(context === undefined ? {} : { context }),
    };
    await store.set(stateKey(state), record, stateTtlMs + graceMs);
    logger?.info({ ...who(user), issuer: request.issuer }, 'Started linking an Atlassian account');
    return { authorizationUrl: request.url.href, expiresAt: record.expiresAt };
  }

  async function completeLink(callback: URL | URLSearchParams): Promise<CompletedLink> {
    const params = callback instanceof URL ? callback.searchParams : callback;
    const state = params.get('state');
    if (!state) throw new LinkError('unknown_state', 'The callback carries no state');

    const key = stateKey(state);
    const raw = await store.get<unknown>(key);
    const parsed = raw === undefined ? undefined : pendingSchema.safeParse(raw);
    if (parsed === undefined || !parsed.success) {
      logger?.warn('OAuth callback with an unknown state (forged, or from another deployment)');
      throw new LinkError('unknown_state', 'The callback state was never issued here');
    }
    const record = parsed.data;
    const user: SlackUserRef = record.user;
    const context = record.context;
    if (record.usedAt !== undefined) {
      logger?.warn(who(user), 'OAuth callback replayed a state that was already used');
      throw new LinkError('used_state', 'The callback state was already used', { user, context });
    }
    if (now() > record.expiresAt) {
      logger?.info(who(user), 'OAuth callback arrived after its state expired');
      throw new LinkError('expired_state', 'The callback state has expired', { user, context });
    }
    // Single use, atomically: of two racing callbacks only one swaps the record.
    if (!(await store.compareAndSwap(key, raw, { ...record, usedAt: now() }, graceMs))) {
      logger?.warn(who(user), 'OAuth callback lost a race for its state (replayed)');
      throw new LinkError('used_state', 'The callback state was already used', { user, context });
    }

    const error = params.get('error');
    if (error !== null) {
      if (error === 'access_denied') {
        logger?.info(who(user), 'User declined to link their Atlassian account');
        throw new LinkError('denied', 'The user denied access', { user, context, oauthError: error });
      }
      logger?.warn({ ...who(user), oauthError: error.slice(0, 64) }, 'Authorization server returned an error to the callback');
      throw new LinkError('authorization_error', `The authorization server answered ${error.slice(0, 64)}`, { user, context, oauthError: error });
    }
    if (!params.get('code')) {
      logger?.warn(who(user), 'OAuth callback without a code');
      throw new LinkError('missing_code', 'The callback carries no authorization code', { user, context });
    }
    const iss = params.get('iss');
    if (iss !== null && iss !== record.issuer) {
      logger?.warn({ ...who(user), expectedIssuer: record.issuer }, 'OAuth callback names a different authorization server (mix-up attempt?)');
      throw new LinkError('mismatched_issuer', 'The callback names a different authorization server', { user, context });
    }

    let tokenSet;
    try {
      tokenSet = await options.oauth.exchangeCode({
        callbackParams: params,
        state,
        verifier: record.verifier,
        issuer: record.issuer,
        clientId: record.clientId,
        resource: record.resource,
      });
    } catch (error) {
      const failure = error instanceof OAuthError ? error : toOAuthError(error, 'Code exchange');
      logger?.warn({ ...who(user), kind: failure.kind, oauthError: failure.oauthError, reason: failure.message }, 'Could not exchange the authorization code');
      throw new LinkError('exchange_failed', failure.message, { user, context, cause: failure });
    }

    let sites: AtlassianSite[] | undefined;
    let accountName: string | undefined;
    if (options.siteLookup !== undefined) {
      try {
        ({ sites, accountName } = await options.siteLookup(tokenSet.accessToken));
      } catch (error) {
        // The tokens are good and the code is spent: keep the link; sites can be read later.
        logger?.warn({ ...who(user), reason: (error as Error).message?.slice(0, 200) }, 'Linked, but could not read the accessible Atlassian sites');
      }
    }

    const link: AtlassianLink = {
      accessToken: tokenSet.accessToken,
      refreshToken: tokenSet.refreshToken,
      expiresAt: tokenSet.expiresAt,
      scope: tokenSet.scope,
      sites,
      accountName,
      linkedAt: now(),
    };
    await tokens.put(user, link);
    logger?.info({ ...who(user), sites: sites?.length, refreshable: link.refreshToken !== undefined }, 'Linked an Atlassian account');
    return { user, link, context };
  }

  return { startLink, completeLink };
}
