/**
 * MCP Context Forge tells nobody when a user finishes authorizing (its callback page is written for
 * admins), so after the bot sends a browser there it asks, as that user, with a read call until the
 * answer changes: "Please authorize … first" costs the upstream nothing. It stops when the user is
 * linked (then `onLinked`: tell them, resume the waiting publish), when MCF refuses them for good, or
 * when MCF's own sign-in state (300 s) can no longer be completed.
 */
import type { Logger } from 'pino';
import { isVteamError, type VteamError } from '../errors.ts';
import { sessionKey, type SlackUserRef } from '../publishing/model.ts';

export type GatewayAccess = 'authorized' | 'unauthorized';

export interface GatewayLinkWatchOptions {
  /** A read call as the user; throws a VteamError when MCF refuses them. */
  check(user: SlackUserRef): Promise<GatewayAccess>;
  onLinked(user: SlackUserRef): Promise<void>;
  /** MCF refused the user for a reason authorizing cannot cure (no team, not provisioned), or the account is not theirs. */
  onRefused(user: SlackUserRef, error: VteamError): Promise<void>;
  /** The window ended without an answer either way. */
  onExpired?(user: SlackUserRef): Promise<void>;
  logger?: Logger | undefined;
  /** How long to keep asking; default MCF's state lifetime plus a minute. */
  windowMs?: number;
  /** Pauses between checks; the last one repeats. */
  delaysMs?: readonly number[];
}

export interface GatewayLinkWatch {
  /** Starts (or restarts) watching one user. */
  watch(user: SlackUserRef): void;
  close(): void;
}

const DEFAULT_WINDOW_MS = 360_000;
const DEFAULT_DELAYS_MS = [2_000, 3_000, 5_000];
const REFUSALS = new Set(['GATEWAY_ACCESS_DENIED', 'GATEWAY_REFUSED', 'ACCOUNT_NOT_OWN']);

export function createGatewayLinkWatch(options: GatewayLinkWatchOptions): GatewayLinkWatch {
  const { logger } = options;
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const delays = options.delaysMs ?? DEFAULT_DELAYS_MS;
  const watches = new Map<string, { timer: NodeJS.Timeout | undefined; generation: number }>();
  let generations = 0;
  let closed = false;

  function schedule(user: SlackUserRef, generation: number, attempt: number, deadline: number): void {
    const key = sessionKey(user);
    const entry = watches.get(key);
    if (closed || entry?.generation !== generation) return;
    if (Date.now() >= deadline) {
      watches.delete(key);
      logger?.info({ userId: user.userId }, 'stopped waiting for the user to finish authorizing in MCP Context Forge');
      void options.onExpired?.(user).catch((error: unknown) => logger?.warn({ err: error }, 'could not tell the user'));
      return;
    }
    const delay = delays[Math.min(attempt, delays.length - 1)] ?? 5_000;
    entry.timer = setTimeout(() => void step(user, generation, attempt, deadline), Math.min(delay, Math.max(0, deadline - Date.now())));
    entry.timer.unref();
  }

  async function step(user: SlackUserRef, generation: number, attempt: number, deadline: number): Promise<void> {
    const key = sessionKey(user);
    let access: GatewayAccess;
    try {
      access = await options.check(user);
    } catch (error) {
      if (isVteamError(error) && REFUSALS.has(error.code)) {
        if (watches.get(key)?.generation !== generation) return;
        watches.delete(key);
        logger?.warn({ userId: user.userId, code: error.code }, 'MCP Context Forge refused the user while they were linking');
        await options.onRefused(user, error).catch((e: unknown) => logger?.warn({ err: e }, 'could not tell the user'));
        return;
      }
      logger?.debug({ userId: user.userId, err: error }, 'could not check the MCP Context Forge link yet; asking again');
      schedule(user, generation, attempt + 1, deadline);
      return;
    }
    if (access === 'unauthorized') {
      schedule(user, generation, attempt + 1, deadline);
      return;
    }
    if (watches.get(key)?.generation !== generation) return;
    watches.delete(key);
    logger?.info({ userId: user.userId }, 'the user linked Atlassian in MCP Context Forge');
    await options.onLinked(user).catch((error: unknown) => logger?.error({ err: error }, 'could not finish after the MCF link'));
  }

  return {
    watch(user) {
      if (closed) return;
      const key = sessionKey(user);
      clearTimeout(watches.get(key)?.timer);
      const generation = (generations += 1);
      watches.set(key, { timer: undefined, generation });
      schedule(user, generation, 0, Date.now() + windowMs);
    },
    close() {
      closed = true;
      for (const entry of watches.values()) clearTimeout(entry.timer);
      watches.clear();
    },
  };
}
