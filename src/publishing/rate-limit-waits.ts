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
 * Runs `call`, waiting out Jira's 429s (the user is told) until `maxWaitMs` is spent.
 * Safe for creates too: a 429 means the server did not process the request.
 */
export function createRateLimitWaits(deps: {
  notifier: Pick<PublishNotifier, 'queued'>;
  logger: Logger;
  maxWaitMs: number;
  wait?: (ms: number) => Promise<unknown>;
}): RateLimitWaits {
  const { notifier, maxWaitMs } = deps;
  const wait = deps.wait ?? sleep;
  return async (replyTo, workflow, path, call, log) => {
    const logger = log ?? deps.logger;
    let waited = 0;
    // Told once per position change at most, so a long queue is not a stream of messages.
    let toldPosition: number | undefined;
    const callOptions: JiraCallOptions = {
      onQueued: ({ position, etaMs }) => {
        if (toldPosition !== undefined && position >= toldPosition) return;
        if (toldPosition !== undefined && position > 1) return;
        toldPosition = position;
        notifier
          .queued(replyTo, { workflow, path, position, retryAfterMs: etaMs })
          .catch((e: unknown) => logger.warn({ err: e }, 'could not tell the user they are queued'));
      },
    };
    for (;;) {
      try {
        return await call(callOptions);
      } catch (error) {
        if (!isVteamError(error, 'RATE_LIMITED')) throw error;
        const retryAfterMs = Math.max(1000, error.retryAfterMs ?? 1000);
        if (waited + retryAfterMs > maxWaitMs) throw error;
        waited += retryAfterMs;
        logger.info({ workflow: qualifiedName(workflow), path, retryAfterMs }, 'rate limited by Jira; waiting');
        await notifier
          .queued(replyTo, { workflow, path, retryAfterMs })
          .catch((e: unknown) => logger.warn({ err: e }, 'could not tell the user they are queued'));
        await wait(retryAfterMs);
      }
    }
  };
}
