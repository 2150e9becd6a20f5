/**
 * Fresh Atlassian credentials for the MCP gateway (implements AtlassianCredentials).
 *
 * Refresh tokens rotate and are single-use, so a refresh must never run twice for one user, in
 * this process or any replica: callers in this process share one promise, and across processes a
 * store lock serialises the refresh. After taking the lock the link is read again — another
 * replica may have refreshed already.
 *
 * Once refreshed, the old refresh token is spent, so the new pair must not be lost: it is saved
 * only over the exact record it was refreshed from (a disconnect or relink meanwhile wins, in any
 * process), and while the store cannot take it, it is kept here, used by this process, and saved
 * again with backoff — the lock is held all that time so no replica refreshes with the spent token.
 * A dead refresh token marks the link broken (kept, so the user can be asked to reconnect).
 */
import type { Logger } from 'pino';
import type { AtlassianCredential, AtlassianCredentials } from '../atlassian/credentials.ts';
import { errors } from '../errors.ts';
import type { SlackUserRef } from '../publishing/model.ts';
import type { ReplaceResult, StoredLink, TokenStore } from '../storage/tokens.ts';
import { tokenKey } from '../storage/tokens.ts';
import type { AtlassianLink, LockService } from '../storage/types.ts';
import { OAuthError, toOAuthError } from './errors.ts';
import { createUnsavedPairs, reasonOf } from './unsaved-pairs.ts';
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
   * Called once per refresh this process performs (for metrics): `ok` a new pair was issued,
   * `failed` it could not be done now (will be retried), `broken` the link is dead (reconnect).
   */
  onRefresh?: (outcome: RefreshOutcome) => void;
  /** How long a new pair the store would not take is kept and retried before it is dropped. Default 10 min. */
  saveBudgetMs?: number;
  /** First and longest wait between those retries (doubling, jittered). Default 500 ms and 30 s. */
  saveRetryMinMs?: number;
  saveRetryMaxMs?: number;
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
  /** Drops the user's new pair not saved yet (disconnect), so it is never saved; returns it, to be revoked. */
  forget(user: SlackUserRef): AtlassianLink | undefined;
  /** Shutdown: one last try to save each unsaved pair, then no more retries (unsaved ones are dropped). */
  close(): Promise<void>;
}

export type RefreshOutcome = 'ok' | 'failed' | 'broken';

type NeedsRefresh = (link: AtlassianLink) => boolean;

/** A refresh done under the lock; `saving` settles (never rejects) once an unsaved new pair is saved or dropped. */
interface Refreshed {
  link: AtlassianLink | undefined;
  saving?: Promise<void>;
}

export function createTokenRefresher(options: TokenRefresherOptions): TokenRefresher {
  const { tokens, locks, logger } = options;
  const now = options.now ?? Date.now;
  const skewMs = options.skewMs ?? 2 * 60 * 1000;
  const lockTtlMs = options.lockTtlMs ?? 30_000;
  const lockWaitMs = options.lockWaitMs ?? 20_000;
  const pollMs = options.pollMs ?? 50;
  const inFlight = new Map<string, Promise<AtlassianLink | undefined>>();
  const unsaved = createUnsavedPairs({
    tokens,
    logger,
    now,
    budgetMs: options.saveBudgetMs ?? 10 * 60_000,
    minDelayMs: options.saveRetryMinMs ?? 500,
    maxDelayMs: options.saveRetryMaxMs ?? 30_000,
    onConflict: (user, result, link) => {
      afterSave(user, result, link);
    },
  });
  /** Locks still held for unsaved pairs, so close() can wait for their release. */
  const holding = new Set<Promise<void>>();
  const who = (user: SlackUserRef) => ({ teamId: user.teamId, enterpriseId: user.enterpriseId, userId: user.userId });

  const expiring: NeedsRefresh = (link) => link.expiresAt !== undefined && link.expiresAt - skewMs <= now();
  const settled = (link: AtlassianLink | undefined, needsRefresh: NeedsRefresh) =>
    link === undefined || link.broken === true || !needsRefresh(link);
  /** This process's view of the link: an unsaved new pair wins over the stored (spent) one. */
  const linkOf = async (user: SlackUserRef) => unsaved.get(user) ?? tokens.get(user);

  /** The link after making sure `needsRefresh` no longer holds (or that it cannot be helped). */
  async function ensure(user: SlackUserRef, needsRefresh: NeedsRefresh): Promise<AtlassianLink | undefined> {
    const key = tokenKey(user);
    // Twice at most: a refresh started by another caller in this process may have had another aim.
    for (let round = 0; round < 2; round += 1) {
      const link = await linkOf(user);
      if (settled(link, needsRefresh)) return link;
      // Refreshing an unsaved pair would fork the chain of rotations: wait until it is saved.
      if (unsaved.has(user)) throw new OAuthError('unavailable', 'A refreshed Atlassian token is not saved yet');
      let pending = inFlight.get(key);
      if (pending === undefined) {
        pending = refreshAcrossProcesses(user, needsRefresh).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const result = await pending;
      if (settled(result, needsRefresh)) return result;
    }
    return linkOf(user);
  }

  async function refreshAcrossProcesses(user: SlackUserRef, needsRefresh: NeedsRefresh): Promise<AtlassianLink | undefined> {
    const deadline = Date.now() + lockWaitMs;
    for (;;) {
      const { outcome, broke } = await refreshUnderLock(user, needsRefresh);
      if (outcome.acquired) {
        if (broke) await notifyBroken(user);
        return outcome.value;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      const link = await linkOf(user);
      if (settled(link, needsRefresh)) return link;
      if (Date.now() > deadline) {
        throw new OAuthError('unavailable', 'Timed out waiting for another process to refresh the Atlassian token');
      }
    }
  }

  /**
   * Answers as soon as the new pair exists; the lock stays held until it is saved or dropped, so
   * no replica reads the spent refresh token from the store and sends it meanwhile.
   */
  function refreshUnderLock(user: SlackUserRef, needsRefresh: NeedsRefresh) {
    let handOver!: (link: AtlassianLink | undefined) => void;
    const early = new Promise<AtlassianLink | undefined>((resolve) => (handOver = resolve));
    let broke = false;
    const held = locks.withLock(refreshLockName(user), lockTtlMs, async () => {
      // Under the lock, read again: another replica may have refreshed while we waited.
      const stored = await tokens.read(user);
      if (stored === undefined || settled(stored.link, needsRefresh)) return stored?.link;
      const result = await refreshLink(user, stored);
      broke = result.link?.broken === true;
      if (result.saving === undefined) return result.link;
      handOver(result.link);
      await result.saving;
      return result.link;
    });
    const released = held.then(
      () => undefined,
      () => undefined,
    );
    holding.add(released);
    void released.then(() => holding.delete(released));
    const outcome = Promise.race([held, early.then((value) => ({ acquired: true as const, value }))]);
    return outcome.then((settledOutcome) => ({ outcome: settledOutcome, broke }));
  }

  function reportRefresh(outcome: RefreshOutcome): void {
    try {
      options.onRefresh?.(outcome);
    } catch (error) {
      logger?.warn({ reason: (error as Error).message }, 'onRefresh hook failed');
    }
  }

  /** Runs under the lock. */
  async function refreshLink(user: SlackUserRef, stored: StoredLink): Promise<Refreshed> {
    let outcome: RefreshOutcome = 'failed';
    try {
      const result = await refreshOnce(user, stored);
      outcome = result.link?.broken === true ? 'broken' : 'ok';
      return result;
    } finally {
      reportRefresh(outcome);
    }
  }

  async function refreshOnce(user: SlackUserRef, stored: StoredLink): Promise<Refreshed> {
    const { link } = stored;
    if (link.refreshToken === undefined) {
      return { link: await markBroken(user, stored, 'no refresh token') };
    }
    let fresh;
    try {
      fresh = await options.oauth.refresh(link.refreshToken);
    } catch (error) {
      const failure = toOAuthError(error, 'Token refresh');
      // invalid_client: the token belonged to a client the server forgot; it cannot be refreshed either.
      if (failure.kind === 'invalid_grant' || failure.kind === 'invalid_client')
        return { link: await markBroken(user, stored, failure.oauthError ?? failure.kind) };
      logger?.warn(
        { ...who(user), kind: failure.kind, reason: failure.message },
        'Could not refresh the Atlassian token; will retry later',
      );
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
    logger?.info({ ...who(user), rotated: fresh.refreshToken !== undefined, expiresInS: expiresIn(next) }, 'Refreshed the Atlassian token');
    try {
      return { link: afterSave(user, await tokens.replaceIfUnchanged(user, stored.record, next), next) };
    } catch (error) {
      logger?.warn(
        { ...who(user), reason: reasonOf(error) },
        'Could not save the refreshed Atlassian token; using it from memory and retrying',
      );
      return { link: next, saving: unsaved.keep(user, stored.record, next) };
    }
  }

  /** What this process uses after a save: ours, or nothing/the other writer's when the link changed meanwhile. */
  function afterSave(user: SlackUserRef, result: ReplaceResult, next: AtlassianLink): AtlassianLink | undefined {
    if (result.outcome === 'replaced') return next;
    if (result.outcome === 'deleted') {
      logger?.info(who(user), 'The Atlassian link was disconnected during a token refresh; the new token is dropped');
      return undefined;
    }
    logger?.warn(who(user), 'The Atlassian link was rewritten (relinked) during a token refresh; the new token is dropped');
    return result.current;
  }

  /** Marks the link read under the lock broken, unless it was deleted or rewritten meanwhile. */
  async function markBroken(user: SlackUserRef, stored: StoredLink, reason: string): Promise<AtlassianLink | undefined> {
    const broken: AtlassianLink = { ...stored.link, broken: true };
    const result = await tokens.replaceIfUnchanged(user, stored.record, broken);
    if (result.outcome !== 'replaced') return result.outcome === 'changed' ? result.current : undefined;
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

  const credentialOf = (link: AtlassianLink): AtlassianCredential => ({
    accessToken: link.accessToken,
    cloudId: link.cloudId,
    sites: link.sites,
  });

  return {
    async current(user) {
      let link: AtlassianLink | undefined;
      try {
        link = await ensure(user, expiring);
      } catch (error) {
        // Refreshing ahead of time failed, but the token we have may still be good for a while.
        const existing = await linkOf(user);
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
      // A refresh in progress (or an unsaved pair) means the lock is busy: skip, the next lookup stores them.
      if (unsaved.has(user)) return;
      await locks.withLock(refreshLockName(user), lockTtlMs, async () => {
        const stored = await tokens.read(user);
        // Only over the record just read: a disconnect meanwhile is not undone.
        if (stored !== undefined)
          await tokens.replaceIfUnchanged(user, stored.record, {
            ...stored.link,
            sites: sites.map(({ id, url, name }) => ({ id, url, name })),
          });
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

    forget: (user) => unsaved.forget(user),

    async close() {
      await unsaved.close();
      await Promise.all([...holding]);
    },
  };
}

/** One lock per user for everything that rewrites the link: refreshes and stored site lists. */
function refreshLockName(user: SlackUserRef): string {
  return `oauth-refresh:${tokenKey(user)}`;
}
