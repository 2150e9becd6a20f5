/**
 * A batch's voice in Slack: one progress message in the workflow's thread, edited as items finish
 * (the use case paces the edits), then turned into the summary. Without a progress message (the bot
 * cannot post in the channel) the summary goes where any reply would.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Workflow } from '../publishing/model.ts';
import type { BatchNotifier, ReplyTo } from '../publishing/ports.ts';
import { batchInterruptedMessage, batchProgressMessage, batchSummaryMessage } from './blocks/batches.ts';
import { asSlackReplyTo } from './reply-target.ts';
import type { WorkflowThreads } from './slack-notifier.ts';

export function createBatchNotifier(deps: {
  client: WebClient;
  threads: WorkflowThreads;
  replies: {
    inThread(replyTo: ReplyTo, workflow: Workflow, message: { text: string }): Promise<void>;
    refreshPicker(replyTo: ReplyTo, workflow: Workflow): Promise<void>;
  };
  logger: Logger;
}): BatchNotifier {
  const { client, threads, replies, logger } = deps;
  return {
    async batchStarted(replyTo, info) {
      const target = asSlackReplyTo(replyTo);
      try {
        const thread = await threads.ensure(target, info.workflow);
        const posted = await client.chat.postMessage({
          channel: target.channelId,
          thread_ts: thread.ts,
          unfurl_links: false,
          ...batchProgressMessage({ ...info, done: 0 }),
        });
        return posted.ts ? { channel: target.channelId, ts: posted.ts } : undefined;
      } catch (error) {
        logger.warn({ err: error, channelId: target.channelId }, 'could not post a batch progress message in the workflow thread');
        return undefined;
      }
    },
    async batchProgress(handle, info) {
      await client.chat.update({ channel: handle.channel!, ts: handle.ts!, ...batchProgressMessage(info) });
    },
    async batchInterrupted(handle, info) {
      await client.chat.update({ channel: handle.channel!, ts: handle.ts!, ...batchInterruptedMessage(info) });
    },
    async batchFinished(replyTo, handle, summary) {
      const message = batchSummaryMessage(summary);
      // The clicked list (if it was the user's own) shows the new links; the card follows the CR by itself.
      await replies
        .refreshPicker(replyTo, summary.workflow)
        .catch((error: unknown) => logger.info({ err: error }, 'could not refresh the document list'));
      if (handle?.channel && handle.ts) {
        try {
          await client.chat.update({ channel: handle.channel, ts: handle.ts, ...message });
          return;
        } catch (error) {
          logger.warn({ err: error }, 'could not turn the progress message into the summary; replying instead');
        }
      }
      await replies.inThread(replyTo, summary.workflow, message);
    },
  };
}
