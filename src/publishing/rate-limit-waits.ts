import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isVteamError } from '../errors.ts';
import type { Workflow } from './model.ts';
import type { JiraCallOptions, PublishNotifier, ReplyTo } from './ports.ts';
import { qualifiedName } from './resolve-workflow.ts';

export type RateLimitWaits = <T>(
  replyTo: ReplyTo,
  workflow: Workflow,
  path: string,
  call: (options: JiraCallOptions) => Promise<T>,
  /** The publish's own logger (its publishId); default: the one given at creation. */
  log?: Logger,
) => Promise<T>;

/**
 * How long a call may wait behind our own busy slots before its user is told: a publish normally
 * takes well under this, and a notice for a wait that ends a moment later is noise (and, in a burst,
 * one more Slack request per user on a busy process). A pause Jira asked for (429) or a spent hourly
 * budget comes with its end time and is told at once.
 */
export const QUEUE_NOTICE_AFTER_MS = 2_000;

/**
 * Runs `call`, waiting out Jira's 429s (the user is told) until `maxWaitMs` is spent.
 * Safe for creates too: a 429 means the server did not process the request.
 */
export function createRateLimitWaits(deps: {
  notifier: Pick<PublishNotifier, 'queued'>;
  logger: Logger;
  maxWaitMs: number;
  wait?: (ms: number) => Promise<unknown>;
  /** Default QUEUE_NOTICE_AFTER_MS. */
  queueNoticeAfterMs?: number;
}): RateLimitWaits {
  const { notifier, maxWaitMs } = deps;
  const wait = deps.wait ?? sleep;
  const noticeAfterMs = deps.queueNoticeAfterMs ?? QUEUE_NOTICE_AFTER_MS;
  return async (replyTo, workflow, path, call, log) => {
    const logger = log ?? deps.logger;
    const tell = (position: number | undefined, retryAfterMs: number | undefined) =>
      notifier
        .queued(replyTo, { workflow, path, position, retryAfterMs })
        .catch((e: unknown) => logger.warn({ err: e }, 'could not tell the user they are queued'));

    // Behind busy slots: told once the wait has lasted noticeAfterMs; a pause or a spent budget (an
    // end time is known): at once. Then once more on reaching the front, not a stream of messages.
    let latest: { position: number; etaMs?: number | undefined } | undefined;
    let toldPosition: number | undefined;
    let noticeTimer: NodeJS.Timeout | undefined;
    const tellLatest = () => {
      noticeTimer = undefined;
      if (latest === undefined || toldPosition !== undefined) return;
      toldPosition = latest.position;
      void tell(latest.position, latest.etaMs);
    };
    const callOptions: JiraCallOptions = {
      onQueued: (info) => {
        latest = info;
        if (toldPosition === undefined) {
          if (info.etaMs !== undefined) {
            clearTimeout(noticeTimer);
            tellLatest();
          } else if (noticeTimer === undefined) {
            noticeTimer = setTimeout(tellLatest, noticeAfterMs);
            noticeTimer.unref();
          }
          return;
        }
        if (info.position >= toldPosition || info.position > 1) return;
        toldPosition = info.position;
        void tell(info.position, info.etaMs);
      },
      // A slot came before the notice: the wait is over, nothing to tell (a 429 queues it again).
      onStarted: () => {
        latest = undefined;
        clearTimeout(noticeTimer);
        noticeTimer = undefined;
      },
    };
    try {
      let waited = 0;
      for (;;) {
        try {
          return await call(callOptions);
        } catch (error) {
          if (!isVteamError(error, 'RATE_LIMITED')) throw error;
          const retryAfterMs = Math.max(1000, error.retryAfterMs ?? 1000);
          if (waited + retryAfterMs > maxWaitMs) throw error;
          waited += retryAfterMs;
          logger.info({ workflow: qualifiedName(workflow), path, retryAfterMs }, 'rate limited by Jira; waiting');
          await tell(undefined, retryAfterMs);
          await wait(retryAfterMs);
        }
      }
    } finally {
      clearTimeout(noticeTimer);
    }
  };
}
