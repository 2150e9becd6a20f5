/**
 * Every Slack write of the card reconciler: at most one per `intervalMs` per channel (Slack allows
 * about one message per second per channel), a 429 waits its Retry-After (for every channel: the
 * limit is the workspace's), and a channel the bot cannot post in is reported once and then skipped.
 *
 * The client must be built with `rejectRateLimitedCalls: true` (see createCardsSlackClient): the
 * default WebClient pauses all its calls and retries for up to 30 minutes on its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KnownBlock } from '@slack/types';
import { ErrorCode, WebClient } from '@slack/web-api';
import { slackLogger } from '../lib/slack-logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { slackApiFetch } from '../observability/slack-api.ts';
import type { Logger } from 'pino';
import { UNPOSTABLE, type ChannelProblems } from '../storage/channel-problems.ts';

export interface CardMessage {
  text: string;
  blocks?: KnownBlock[] | undefined;
}

/** The channel refuses the bot (not invited, archived, deleted…): reported, not retried. */
export class UnpostableChannelError extends Error {
  readonly channelId: string;
  readonly slackError: string;
  constructor(channelId: string, slackError: string) {
    super(`cannot post in ${channelId}: ${slackError}`);
    this.name = 'UnpostableChannelError';
    this.channelId = channelId;
    this.slackError = slackError;
  }
}

/** The card message is gone (deleted by someone): a new card must be posted. */
export class CardMessageGoneError extends Error {
  constructor(channelId: string, slackError: string) {
    super(`the card in ${channelId} cannot be edited: ${slackError}`);
    this.name = 'CardMessageGoneError';
  }
}

const GONE = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']);
const MAX_RATE_LIMIT_WAITS = 10;
const BLOCK_MEMORY_MS = 10 * 60_000;

export function createCardsSlackClient(options: {
  token: string;
  slackApiUrl?: string | undefined;
  logger?: Logger | undefined;
  /** Times every request (vteam_slack_slack_api_duration_seconds). */
  metrics?: Pick<Metrics, 'slackApiDuration'> | undefined;
}): WebClient {
  return new WebClient(options.token, {
    ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl.endsWith('/') ? options.slackApiUrl : `${options.slackApiUrl}/` } : {}),
    rejectRateLimitedCalls: true,
    // Network failures and 5xx: a few quick retries; anything longer waits for the next reconcile.
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2_000 },
    timeout: 15_000,
    ...(options.logger ? { logger: slackLogger(options.logger, 'cards-slack') } : {}),
    ...(options.metrics ? { fetch: slackApiFetch(options.metrics) } : {}),
  });
}

export function createSlackWriter(deps: {
  client: WebClient;
  problems: ChannelProblems;
  logger?: Logger | undefined;
  intervalMs?: number;
}) {
  const { client, problems, logger } = deps;
  const intervalMs = deps.intervalMs ?? 1_000;
  const chains = new Map<string, Promise<unknown>>();
  const lastWrite = new Map<string, number>();
  /** channel → until when it is skipped without asking the store (the shared record lasts a day). */
  const blocked = new Map<string, number>();
  const isBlockedHere = (channelId: string) => (blocked.get(channelId) ?? 0) > Date.now();
  let pausedUntil = 0;

  /** Runs `call` after the channel's previous write, spaced by intervalMs, waiting out 429s. */
  function paced<T>(channelId: string, call: () => Promise<T>): Promise<T> {
    const previous = chains.get(channelId) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        if (isBlockedHere(channelId)) throw new UnpostableChannelError(channelId, 'reported earlier');
        for (let waits = 0; ; waits++) {
          const wait = Math.max((lastWrite.get(channelId) ?? 0) + intervalMs, pausedUntil) - Date.now();
          if (wait > 0) await sleep(wait);
          lastWrite.set(channelId, Date.now());
          try {
            return await call();
          } catch (error) {
            const retryAfterMs = rateLimitedFor(error);
            if (retryAfterMs !== undefined && waits < MAX_RATE_LIMIT_WAITS) {
              pausedUntil = Math.max(pausedUntil, Date.now() + retryAfterMs);
              logger?.info({ channelId, retryAfterMs }, 'Slack rate limit: waiting as told');
              continue;
            }
            throw await classify(channelId, error);
          }
        }
      });
    const tail = run.catch(() => undefined);
    chains.set(channelId, tail);
    // Cannot reject: `tail` never does, and the cleanup only touches a Map.
    void tail.then(() => {
      if (chains.get(channelId) === tail) chains.delete(channelId);
    });
    return run;
  }

  async function classify(channelId: string, error: unknown): Promise<unknown> {
    const slackError = platformError(error);
    if (slackError && UNPOSTABLE.has(slackError)) {
      blocked.set(channelId, Date.now() + BLOCK_MEMORY_MS);
      const first = await problems.report(channelId, slackError).catch(() => true);
      if (first)
        logger?.warn(
          { channelId, error: slackError },
          'cannot post workflow cards in this channel; invite the bot or unbind the channel. Not retried until the problem record expires',
        );
      return new UnpostableChannelError(channelId, slackError);
    }
    if (slackError && GONE.has(slackError)) return new CardMessageGoneError(channelId, slackError);
    return error;
  }

  return {
    async post(channelId: string, message: CardMessage, threadTs?: string): Promise<string> {
      const result = await paced(channelId, () =>
        client.chat.postMessage({
          channel: channelId,
          text: message.text,
          ...(message.blocks ? { blocks: message.blocks } : {}),
          ...(threadTs ? { thread_ts: threadTs } : {}),
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      if (!result.ts) throw new Error('chat.postMessage returned no ts');
      return result.ts;
    },
    async update(channelId: string, ts: string, message: CardMessage): Promise<void> {
      await paced(channelId, () =>
        client.chat.update({ channel: channelId, ts, text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}) }),
      );
    },
    /** Whether the channel is known unpostable (in this process, or reported by any replica). */
    async isBlocked(channelId: string): Promise<boolean> {
      if (isBlockedHere(channelId)) return true;
      if (await problems.has(channelId)) {
        blocked.set(channelId, Date.now() + BLOCK_MEMORY_MS);
        return true;
      }
      return false;
    },
    /** Forget in-process blocks (the shared problem records expire on their own). */
    unblockAll: () => blocked.clear(),
    stats: () => ({ blockedChannels: [...blocked.keys()].filter(isBlockedHere), pausedForMs: Math.max(0, pausedUntil - Date.now()) }),
  };
}

export type SlackWriter = ReturnType<typeof createSlackWriter>;

function rateLimitedFor(error: unknown): number | undefined {
  const e = error as { code?: unknown; retryAfter?: unknown } | null;
  if (e?.code !== ErrorCode.RateLimitedError) return undefined;
  return typeof e.retryAfter === 'number' && e.retryAfter > 0 ? e.retryAfter * 1000 : 1_000;
}

function platformError(error: unknown): string | undefined {
  const e = error as { code?: unknown; data?: { error?: unknown } } | null;
  return e?.code === ErrorCode.PlatformError && typeof e.data?.error === 'string' ? e.data.error : undefined;
}
