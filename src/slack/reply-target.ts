import type { ReplyTo } from '../publishing/ports.ts';
import type { SlackUserRef } from '../publishing/model.ts';

/** Where and how to answer a Slack request; stored in the publish journal, so plain JSON. */
export interface SlackReplyTo extends ReplyTo {
  teamId: string;
  enterpriseId?: string | undefined;
  channelId: string;
  userId: string;
  /** The interaction's response_url (ephemeral answers; valid 30 min, 5 uses). */
  responseUrl?: string | undefined;
  /** The clicked message was ephemeral (a picker): refresh it through response_url. */
  sourceEphemeral?: boolean | undefined;
}

export function asSlackReplyTo(replyTo: ReplyTo): SlackReplyTo {
  return replyTo as SlackReplyTo;
}

export function replyToOf(user: SlackUserRef, channelId: string, extra: { responseUrl?: string | undefined; sourceEphemeral?: boolean | undefined } = {}): SlackReplyTo {
  return {
    teamId: user.teamId,
    enterpriseId: user.enterpriseId,
    channelId,
    userId: user.userId,
    responseUrl: extra.responseUrl,
    sourceEphemeral: extra.sourceEphemeral,
  };
}
