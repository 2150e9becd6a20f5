import type { KnownBlock } from '@slack/types';
import type { JiraIssue, SlackUserRef, Workflow } from '../../publishing/model.ts';
import { clip, clipMrkdwn, code, escapeMrkdwn, LIMITS, link, mention, mrkdwnSection } from './text.ts';

/** How much of an outside value a reply shows. */
const SHOWN = { path: 500, key: 100, summary: 200, type: 60, title: 150 } as const;

const shownPath = (path: string) => clip(path, SHOWN.path);

/** The in-thread result of a publish: key, summary, type, who. No @-mention (no ping). */
export function publishedReply(
  workflow: Workflow,
  path: string,
  issue: JiraIssue,
  user: SlackUserRef,
  recovered: boolean,
): { text: string; blocks: KnownBlock[] } {
  const key = clip(issue.key, SHOWN.key);
  const type = issue.issueType ? ` · ${escapeMrkdwn(clip(issue.issueType, SHOWN.type))}` : '';
  const text =
    `:white_check_mark: ${link(issue.url, key)} ${escapeMrkdwn(clip(issue.summary, SHOWN.summary))}${type}\n` +
    `${code(shownPath(path))} published by ${mention(user.userId)}${recovered ? ' (finished after a restart)' : ''}`;
  const fallback = `${escapeMrkdwn(key)} published from ${escapeMrkdwn(shownPath(path))} of ${escapeMrkdwn(clip(workflow.title || workflow.name, SHOWN.title))}`;
  return { text: fallback, blocks: [mrkdwnSection(text)] };
}

export function updatedReply(path: string, issue: JiraIssue, user: SlackUserRef): { text: string; blocks: KnownBlock[] } {
  const key = clip(issue.key, SHOWN.key);
  const text = `:pencil2: ${link(issue.url, key)} updated from ${code(shownPath(path))} by ${mention(user.userId)}`;
  return { text: `${escapeMrkdwn(key)} updated from ${escapeMrkdwn(shownPath(path))}`, blocks: [mrkdwnSection(text)] };
}

export function queuedMessage(path: string, wait: { retryAfterMs?: number | undefined; position?: number | undefined }): { text: string } {
  const seconds = wait.retryAfterMs !== undefined ? Math.max(1, Math.ceil(wait.retryAfterMs / 1000)) : undefined;
  const when =
    wait.position !== undefined
      ? `you are number ${wait.position} in the queue${seconds !== undefined ? ` (about ${seconds} s)` : ''}`
      : `it continues by itself in about ${seconds ?? 1} s`;
  return {
    text: `:hourglass_flowing_sand: Jira is busy, so publishing ${code(shownPath(path))} is queued; ${when}, and the link will appear in the workflow's thread.`,
  };
}

/**
 * A user message (VteamError.userMessage) as a reply. It is plain text with backtick code spans
 * that embeds outside values (paths, Jira's own error sentences) as they came, so it is escaped
 * here, whole; it never holds a mention or link of ours.
 */
export function errorMessage(userMessage: string): { text: string } {
  return { text: clipMrkdwn(`:warning: ${escapeMrkdwn(userMessage)}`, LIMITS.messageText) };
}

/** Told in the channel while the Connect prompt goes to the user's DM. */
export function linkPendingMessage(path: string): { text: string } {
  return {
    text: `Your Atlassian account is not linked yet: I sent you a direct message with a *Connect* button. Your publish of ${code(shownPath(path))} continues by itself once you are connected.`,
  };
}

/** By DM, when a publish waiting for the account link was too old to resume. */
export function pendingDroppedMessage(path: string, maxAgeMs: number): { text: string } {
  const minutes = Math.round(maxAgeMs / 60_000);
  return {
    text: `You are connected now, but your publish of ${code(shownPath(path))} waited more than ${minutes} minutes and was dropped; publish it again.`,
  };
}

/** A thread reply that could not be posted, sent to its requester alone with the fix. */
export function threadFallbackMessage(message: { text: string; blocks?: KnownBlock[] | undefined }): {
  text: string;
  blocks?: KnownBlock[];
} {
  const text = `${message.text}\n(I could not post in this channel's thread; invite me with \`/invite @vteam\` so everyone sees results.)`;
  return { text: clipMrkdwn(text, LIMITS.messageText), ...(message.blocks ? { blocks: message.blocks } : {}) };
}
