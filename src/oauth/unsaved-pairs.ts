/**
 * Refreshed token pairs the store has not taken yet. Refresh tokens rotate and are single-use: once
 * Atlassian answered, the old refresh token is spent, so losing the new pair to a short store outage
 * would force the user to reconnect. A pair is kept in memory (and used by this process) while saving
 * it is retried with jittered exponential backoff within a budget; each save is a compare-and-swap
 * over the record read under the refresh lock, so a disconnect or relink meanwhile wins.
 */
import type { Logger } from 'pino';
import type { SlackUserRef } from '../publishing/model.ts';
import { tokenKey, type ReplaceResult, type StoredRecord, type TokenStore } from '../storage/tokens.ts';
import type { AtlassianLink } from '../storage/types.ts';

export interface UnsavedPairsOptions {
  tokens: Pick<TokenStore, 'replaceIfUnchanged'>;
  logger?: Logger | undefined;
  /** Called when a save found the link deleted or rewritten meanwhile (the pair is dropped). */
  onConflict: (user: SlackUserRef, result: ReplaceResult, link: AtlassianLink) => void;
  budgetMs: number;
  minDelayMs: number;
  maxDelayMs: number;
  now: () => number;
}

interface Unsaved {
  user: SlackUserRef;
  previous: StoredRecord;
  link: AtlassianLink;
  deadline: number;
  attempts: number;
  timer?: NodeJS.Timeout;
  finished: boolean;
  settle: () => void;
}

export function createUnsavedPairs(options: UnsavedPairsOptions) {
  const { tokens, logger, now } = options;
  const unsaved = new Map<string, Unsaved>();
  let closed = false;
  const who = (user: SlackUserRef) => ({ teamId: user.teamId, enterpriseId: user.enterpriseId, userId: user.userId });

  function schedule(entry: Unsaved): void {
    const left = entry.deadline - now();
    if (closed || left <= 0) return giveUp(entry);
    const step = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** (entry.attempts - 1));
    const wait = Math.min(left, step / 2 + (Math.random() * step) / 2);
    entry.timer = setTimeout(() => void retry(entry, false), wait);
    entry.timer.unref();
  }

  async function retry(entry: Unsaved, last: boolean): Promise<void> {
    entry.attempts += 1;
    let result: ReplaceResult;
    try {
      result = await tokens.replaceIfUnchanged(entry.user, entry.previous, entry.link);
    } catch (error) {
      if (entry.finished) return;
      logger?.warn(
        { ...who(entry.user), attempt: entry.attempts, reason: reasonOf(error) },
        'Could not save the refreshed Atlassian token yet; retrying',
      );
      return last ? giveUp(entry) : schedule(entry);
    }
    if (entry.finished) return; // forgotten (disconnect) meanwhile
    if (result.outcome === 'replaced')
      logger?.info({ ...who(entry.user), attempts: entry.attempts }, 'Saved the refreshed Atlassian token');
    else options.onConflict(entry.user, result, entry.link);
    finish(entry);
  }

  function giveUp(entry: Unsaved): void {
    logger?.error(
      { ...who(entry.user), attempts: entry.attempts },
      'Gave up saving the refreshed Atlassian token (store unavailable); it is dropped and the user will need to reconnect',
    );
    finish(entry);
  }

  function finish(entry: Unsaved): void {
    entry.finished = true;
    clearTimeout(entry.timer);
    const key = tokenKey(entry.user);
    if (unsaved.get(key) === entry) unsaved.delete(key);
    entry.settle();
  }

  return {
    /** The pair this process uses for the user while it is not saved. */
    get: (user: SlackUserRef): AtlassianLink | undefined => unsaved.get(tokenKey(user))?.link,
    has: (user: SlackUserRef): boolean => unsaved.has(tokenKey(user)),

    /** Keeps `link` until saved over `previous` or dropped; the promise settles (never rejects) then. */
    keep(user: SlackUserRef, previous: StoredRecord, link: AtlassianLink): Promise<void> {
      return new Promise((settle) => {
        const entry: Unsaved = { user, previous, link, deadline: now() + options.budgetMs, attempts: 1, finished: false, settle };
        unsaved.set(tokenKey(user), entry);
        schedule(entry);
      });
    },

    /** Drops the user's unsaved pair (disconnect) so it is never saved; returns it, to be revoked. */
    forget(user: SlackUserRef): AtlassianLink | undefined {
      const entry = unsaved.get(tokenKey(user));
      if (entry === undefined) return undefined;
      logger?.info(who(user), 'Dropped a refreshed Atlassian token not saved yet (disconnect)');
      finish(entry);
      return entry.link;
    },

    /** Shutdown: one last try for each pair, then no more retries. */
    async close(): Promise<void> {
      closed = true;
      const entries = [...unsaved.values()];
      for (const entry of entries) clearTimeout(entry.timer);
      await Promise.all(entries.map((entry) => retry(entry, true)));
    },
  };
}

/** Store errors name the operation, never the value; kept short anyway. */
export const reasonOf = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error').slice(0, 200);
