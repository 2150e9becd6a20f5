/**
 * Fresh Atlassian credentials for the MCP gateway (implements AtlassianCredentials).
 *
 * Refresh tokens rotate and are single-use, so a refresh must never run twice for one user, in
 * this process or any replica: callers in this process share one promise, and across processes a
 * store lock serialises the refresh. After taking the lock the link is read again — another
 * replica may have refreshed already — and the new pair is saved before anyone uses it.
 * A dead refresh token marks the link broken (kept, so the user can be asked to reconnect).
 */
import type { Logger } from 'pino';
import type { AtlassianCredential, AtlassianCredentials } from '../atlassian/credentials.ts';
import { errors } from '../errors.ts';
import type { SlackUserRef } from '../publishing/model.ts';
import type { TokenStore } from '../storage/tokens.ts';
import { tokenKey } from '../storage/tokens.ts';
import type { AtlassianLink, LockService } from '../storage/types.ts';
import { OAuthError, toOAuthError } from './errors.ts';
import type { AtlassianOAuth } from './oauth-client.ts';

export interface TokenRefresherOptions {
  tokens: TokenStore;
  locks: LockService;
  oauth: Pick<AtlassianOAuth, 'refresh'>;
  logger?: Logger;
  /** Refresh this long before the access token expires. Default 2 minutes. */
  skewMs?: number;
  /** Lease of the per-user refresh lock (renewed while refreshing). Default 30 s. */
  lockTtlMs?: number;
  /** How long to wait for another process's refresh before giving up. Default 20 s. */
  lockWaitMs?: number;
  /** Poll interval while another process holds the lock. Default 50 ms. */
  pollMs?: number;
  /** Called once when this process finds the user's link dead (DM a reconnect button). */
  onBroken?: (user: SlackUserRef) => void | Promise<void>;
  /**
   * Called once per refresh this process performs (for metrics): `ok` the new pair is saved,
   * `failed` it could not be done now (will be retried), `broken` the link is dead (reconnect).
   */
  onRefresh?: (outcome: RefreshOutcome) => void;
  now?: () => number;
}

export interface TokenRefresher extends AtlassianCredentials {
  /**
   * The current credential, refreshed first when it expires within the skew. Undefined when the
   * user never linked; throws AUTH_EXPIRED when the link is broken, MCP_UNREACHABLE when a needed
   * refresh could not be done now.
   */
  current(user: SlackUserRef): Promise<AtlassianCredential | undefined>;
  /** After the MCP server rejected `rejectedAccessToken`: refresh once (unless already done); undefined → reconnect. */
  afterRejection(user: SlackUserRef, rejectedAccessToken: string): Promise<AtlassianCredential | undefined>;
  rememberSites(user: SlackUserRef, sites: { id: string; url: string; name: string }[]): Promise<void>;
}

export type RefreshOutcome = 'ok' | 'failed' | 'broken';

type NeedsRefresh = (link: AtlassianLink) => boolean;

export function createTokenRefresher(options: TokenRefresherOptions): TokenRefresher {
  const { tokens, locks, logger } = options;
  const now = options.now ?? Date.now;
  const skewMs = options.skewMs ?? 2 * 60 * 1000;
  const lockTtlMs = options.lockTtlMs ?? 30_000;
  const lockWaitMs = options.lockWaitMs ?? 20_000;
  const pollMs = options.pollMs ?? 50;
  const inFlight = new Map<string, Promise<AtlassianLink | undefined>>();
  const who = (user: SlackUserRef) => ({ teamId: user.teamId, enterpriseId: user.enterpriseId, userId: user.userId });

  const expiring: NeedsRefresh = (link) => link.expiresAt !== undefined && link.expiresAt - skewMs <= now();
  const settled = (link: AtlassianLink | undefined, needsRefresh: NeedsRefresh) => link === undefined || link.broken === true || !needsRefresh(link);

  /** The link after making sure `needsRefresh` no longer holds (or that it cannot be helped). */
  async function ensure(user: SlackUserRef, needsRefresh: NeedsRefresh): Promise<AtlassianLink | undefined> {
    const key = tokenKey(user);
    // Twice at most: a refresh started by another caller in this process may have had another aim.
    for (let round = 0; round < 2; round += 1) {
      const link = await tokens.get(user);
      if (settled(link, needsRefresh)) return link;
      let pending = inFlight.get(key);
      if (pending === undefined) {
        pending = refreshAcrossProcesses(user, needsRefresh).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const result = await pending;
      if (settled(result, needsRefresh)) return result;
    }
    return tokens.get(user);
  }

  async function refreshAcrossProcesses(user: SlackUserRef, needsRefresh: NeedsRefresh): Promise<AtlassianLink | undefined> {
    const lockName = refreshLockName(user);
    const deadline = Date.now() + lockWaitMs;
    let broke = false;
    for (;;) {
      const outcome = await locks.withLock(lockName, lockTtlMs, async () => {
        // Under the lock, read again: another replica may have refreshed while we waited.
        const link = await tokens.get(user);
        if (settled(link, needsRefresh)) return link;
        const result = await refreshLink(user, link as AtlassianLink);
        broke = result.broken === true;
        return result;
      });
      if (outcome.acquired) {
        if (broke) await notifyBroken(user);
        return outcome.value;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      const link = await tokens.get(user);
      if (settled(link, needsRefresh)) return link;
      if (Date.now() > deadline) {
        throw new OAuthError('unavailable', 'Timed out waiting for another process to refresh the Atlassian token');
      }
    }
  }

  function reportRefresh(outcome: RefreshOutcome): void {
    try {
      options.onRefresh?.(outcome);
    } catch (error) {
      logger?.warn({ reason: (error as Error).message }, 'onRefresh hook failed');
    }
  }

  /** Runs under the lock. The new pair is saved before it is returned. */
  async function refreshLink(user: SlackUserRef, link: AtlassianLink): Promise<AtlassianLink> {
    let outcome: RefreshOutcome = 'failed';
    try {
      const result = await refreshOnce(user, link);
      outcome = result.broken === true ? 'broken' : 'ok';
      return result;
    } finally {
      reportRefresh(outcome);
    }
  }

  async function refreshOnce(user: SlackUserRef, link: AtlassianLink): Promise<AtlassianLink> {
    if (link.refreshToken === undefined) {
      return markBroken(user, link, 'no refresh token');
    }
    let fresh;
    try {
      fresh = await options.oauth.refresh(link.refreshToken);
    } catch (error) {
      const failure = toOAuthError(error, 'Token refresh');
      // invalid_client: the token belonged to a client the server forgot; it cannot be refreshed either.
      if (failure.kind === 'invalid_grant' || failure.kind === 'invalid_client') return markBroken(user, link, failure.oauthError ?? failure.kind);
      logger?.warn({ ...who(user), kind: failure.kind, reason: failure.message }, 'Could not refresh the Atlassian token; will retry later');
      throw failure;
    }
    const next: AtlassianLink = {
      ...link,
      accessToken: fresh.accessToken,
      // A server that does not rotate keeps the old refresh token valid.
      refreshToken: fresh.refreshToken ?? link.refreshToken,
      expiresAt: fresh.expiresAt,
      scope: fresh.scope ?? link.scope,
      broken: undefined,
    };
    await saveWithRetry(user, next);
    logger?.info({ ...who(user), rotated: fresh.refreshToken !== undefined, expiresInS: expiresIn(next) }, 'Refreshed the Atlassian token');
    return next;
  }

  /** The old refresh token is spent: losing the new pair would force a reconnect, so try hard to store it. */
  async function saveWithRetry(user: SlackUserRef, link: AtlassianLink): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await tokens.put(user, link);
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        logger?.warn({ ...who(user), attempt }, 'Could not save the refreshed Atlassian token; retrying');
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  async function markBroken(user: SlackUserRef, link: AtlassianLink, reason: string): Promise<AtlassianLink> {
    const broken: AtlassianLink = { ...link, broken: true };
    await tokens.put(user, broken);
    logger?.warn({ ...who(user), reason }, 'The Atlassian link is no longer valid; the user must reconnect');
    return broken;
  }

  async function notifyBroken(user: SlackUserRef): Promise<void> {
    try {
      await options.onBroken?.(user);
    } catch (error) {
      logger?.warn({ ...who(user), reason: (error as Error).message }, 'onBroken hook failed');
    }
  }

  function expiresIn(link: AtlassianLink): number | undefined {
    return link.expiresAt === undefined ? undefined : Math.round((link.expiresAt - now()) / 1000);
  }

  const credentialOf = (link: AtlassianLink): AtlassianCredential => ({ accessToken: link.accessToken, cloudId: link.cloudId, sites: link.sites });

  return {
    async current(user) {
      let link: AtlassianLink | undefined;
      try {
        link = await ensure(user, expiring);
      } catch (error) {
        // Refreshing ahead of time failed, but the token we have may still be good for a while.
        const existing = await tokens.get(user);
        if (existing !== undefined && !existing.broken && (existing.expiresAt === undefined || existing.expiresAt > now())) {
          return credentialOf(existing);
        }
        throw errors.mcpUnreachable(error);
      }
      if (link === undefined) return undefined;
      if (link.broken) throw errors.authExpired();
      return credentialOf(link);
    },

    async rememberSites(user, sites) {
      // Under the refresh lock, on the link as it is now: a refresh racing this write must not lose its new token.
      // A refresh in progress means the lock is busy: skip, the next lookup stores them.
      await locks.withLock(refreshLockName(user), lockTtlMs, async () => {
        const link = await tokens.get(user);
        if (link !== undefined) await tokens.put(user, { ...link, sites: sites.map(({ id, url, name }) => ({ id, url, name })) });
      });
    },

    async afterRejection(user, rejectedAccessToken) {
      let link: AtlassianLink | undefined;
      try {
        link = await ensure(user, (candidate) => candidate.accessToken === rejectedAccessToken);
      } catch (error) {
        throw errors.mcpUnreachable(error);
      }
      if (link === undefined || link.broken) return undefined;
      return credentialOf(link);
    },
  };
}

/** One lock per user for everything that rewrites the link: refreshes and stored site lists. */
function refreshLockName(user: SlackUserRef): string {
  return `oauth-refresh:${tokenKey(user)}`;
}
