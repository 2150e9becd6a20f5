import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { VteamError } from '../errors.ts';
import type { Workflow } from '../publishing/model.ts';
import type { PublishNotifier, ReplyTo } from '../publishing/ports.ts';
import type { DocumentRow } from '../publishing/model.ts';
import { connectPrompt } from './blocks/account.ts';
import { alreadyLinkedMessage, documentPicker } from './blocks/documents.ts';
import {
  errorMessage,
  linkPendingMessage,
  pendingDroppedMessage,
  publishedReply,
  queuedMessage,
  threadFallbackMessage,
  updatedReply,
} from './blocks/replies.ts';
import { clip } from './blocks/text.ts';
import { asSlackReplyTo, isSlackResponseUrl, type SlackReplyTo } from './reply-target.ts';

interface Message {
  text: string;
  blocks?: KnownBlock[];
}

/**
 * Where results are replied: the workflow's thread in the channel, whose parent message is the
 * workflow's card, posted on first need. The card module (cards/card-threads.ts) provides it.
 */
export interface WorkflowThreads {
  ensure(target: { channelId: string }, workflow: Workflow): Promise<{ ts: string; created: boolean }>;
}

/**
 * Turns publishing outcomes into Slack's idiom: the caller's own errors and status are ephemeral,
 * results go to the workflow's thread, and the clicked buttons are replaced by the link.
 */
export function createSlackNotifier(deps: {
  client: WebClient;
  threads: WorkflowThreads;
  rowsOf: (workflow: Workflow) => Promise<DocumentRow[]>;
  logger: Logger;
  fetch?: typeof fetch;
  vteamUrl?: string | undefined;
  /** SLACK_API_URL, whose origin may also serve response_url (Slack-compatible gateways, tests). */
  slackApiUrl?: string | undefined;
}): PublishNotifier & {
  ephemeral(replyTo: ReplyTo, message: Message): Promise<void>;
  direct(userId: string, message: Message): Promise<void>;
  /** A reply in the workflow's thread; to the requester alone, with the fix, when the bot cannot post there. */
  inThread(replyTo: ReplyTo, workflow: Workflow, message: Message): Promise<void>;
  /** The document list the user clicked in, if it was theirs alone (ephemeral), redrawn with its new links. */
  refreshPicker(replyTo: ReplyTo, workflow: Workflow): Promise<void>;
} {
  const { client, threads, logger } = deps;
  const doFetch = deps.fetch ?? fetch;

  async function viaResponseUrl(target: SlackReplyTo, body: Record<string, unknown>): Promise<boolean> {
    if (!target.responseUrl) return false;
    if (!isSlackResponseUrl(target.responseUrl, deps.slackApiUrl)) {
      logger.warn('response_url is not a Slack URL; answering through the Web API instead');
      return false;
    }
    try {
      const response = await doFetch(target.responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return true;
      logger.warn({ status: response.status }, 'response_url refused the message');
    } catch (error) {
      logger.warn({ err: error }, 'response_url unreachable');
    }
    return false;
  }

  async function ephemeral(replyTo: ReplyTo, message: Message): Promise<void> {
    const target = asSlackReplyTo(replyTo);
    if (await viaResponseUrl(target, { response_type: 'ephemeral', replace_original: false, ...message })) return;
    // response_url expires after 30 minutes (recovered publishes); fall back to the Web API.
    await client.chat.postEphemeral({ channel: target.channelId, user: target.userId, ...message });
  }

  /** A DM from the bot (conversations.open is idempotent: it returns the existing DM). */
  async function direct(userId: string, message: Message): Promise<void> {
    const opened = await client.conversations.open({ users: userId });
    const channel = opened.channel?.id;
    if (!channel) throw new Error('conversations.open returned no channel');
    await client.chat.postMessage({ channel, ...message });
  }

  async function inThread(target: SlackReplyTo, workflow: Workflow, message: Message): Promise<void> {
    try {
      // The card itself is edited by the card service, which sees the CR change through its watch:
      // one writer per card, not a second chat.update from here.
      const thread = await threads.ensure(target, workflow);
      await client.chat.postMessage({ channel: target.channelId, thread_ts: thread.ts, unfurl_links: false, ...message });
    } catch (error) {
      // Typically not_in_channel: the user still gets the result, with the fix.
      logger.warn({ err: error, channelId: target.channelId }, 'could not post in the workflow thread');
      await ephemeral(target, threadFallbackMessage(message));
    }
  }

  /** A picker the user clicked in is ephemeral: replace it so its button becomes the link. */
  async function refreshPicker(target: SlackReplyTo, workflow: Workflow): Promise<void> {
    if (!target.sourceEphemeral || !target.responseUrl) return;
    const rows = await deps.rowsOf(workflow);
    await viaResponseUrl(target, { replace_original: true, ...documentPicker(workflow, rows, deps.vteamUrl) });
  }

  return {
    ephemeral,
    direct,
    inThread: (replyTo, workflow, message) => inThread(asSlackReplyTo(replyTo), workflow, message),
    refreshPicker: (replyTo, workflow) => refreshPicker(asSlackReplyTo(replyTo), workflow),
    async queued(replyTo, info) {
      await ephemeral(replyTo, queuedMessage(info.path, info));
    },
    async published(replyTo, event) {
      const target = asSlackReplyTo(replyTo);
      await inThread(target, event.workflow, publishedReply(event.workflow, event.path, event.issue, event.user, event.recovered));
      await refreshPicker(target, event.workflow);
    },
    async alreadyLinked(replyTo, info) {
      await ephemeral(replyTo, alreadyLinkedMessage(info.workflow, info.path, info.issue, info.duplicate));
    },
    async updated(replyTo, info) {
      await inThread(asSlackReplyTo(replyTo), info.workflow, updatedReply(info.path, info.issue, info.user));
    },
    async failed(replyTo, error: VteamError) {
      await ephemeral(replyTo, errorMessage(error.userMessage));
    },
    async needsLink(replyTo, info) {
      const prompt = connectPrompt(info.reason, clip(info.path, 500));
      await direct(info.user.userId, prompt).catch((e: unknown) => logger.warn({ err: e }, 'could not DM the connect prompt'));
      await ephemeral(replyTo, info.reason === 'broken' ? prompt : linkPendingMessage(info.path));
    },
    async pendingDropped(replyTo, info) {
      await direct(asSlackReplyTo(replyTo).userId, pendingDroppedMessage(info.path, info.maxAgeMs));
    },
  };
}
