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

export function replyToOf(
  user: SlackUserRef,
  channelId: string,
  extra: { responseUrl?: string | undefined; sourceEphemeral?: boolean | undefined } = {},
): SlackReplyTo {
  return {
    teamId: user.teamId,
    enterpriseId: user.enterpriseId,
    channelId,
    userId: user.userId,
    responseUrl: extra.responseUrl,
    sourceEphemeral: extra.sourceEphemeral,
  };
}

/** Slack's own hosts for response_url (commercial and GovSlack). */
const SLACK_RESPONSE_HOSTS = ['hooks.slack.com', 'hooks.slack-gov.com'];

/**
 * Whether a response_url may be POSTed to: https on Slack's hooks host, or the origin of a
 * configured SLACK_API_URL (a Slack-compatible gateway or test server). A stored or round-tripped
 * URL that names anything else is dropped, so the bot never sends a user's message elsewhere.
 */
export function isSlackResponseUrl(url: string, slackApiUrl?: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username !== '' || parsed.password !== '') return false;
  if (parsed.protocol === 'https:' && SLACK_RESPONSE_HOSTS.includes(parsed.hostname.toLowerCase()) && parsed.port === '') return true;
  if (slackApiUrl === undefined) return false;
  try {
    return parsed.origin === new URL(slackApiUrl).origin;
  } catch {
    return false;
  }
}
