import type { KnownBlock } from '@slack/types';
import type { JiraIssue, SlackUserRef, Workflow } from '../../publishing/model.ts';
import { clip, code, escapeMrkdwn, link } from './text.ts';

/** The in-thread result of a publish: key, summary, type, who. No @-mention (no ping). */
export function publishedReply(workflow: Workflow, path: string, issue: JiraIssue, user: SlackUserRef, recovered: boolean): { text: string; blocks: KnownBlock[] } {
  const type = issue.issueType ? ` · ${escapeMrkdwn(issue.issueType)}` : '';
  const text = `:white_check_mark: ${link(issue.url, issue.key)} ${escapeMrkdwn(clip(issue.summary, 200))}${type}\n`
    + `${code(path)} published by <@${user.userId}>${recovered ? ' (finished after a restart)' : ''}`;
  return { text: `${issue.key} published from ${path} of ${workflow.title || workflow.name}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

export function updatedReply(path: string, issue: JiraIssue, user: SlackUserRef): { text: string; blocks: KnownBlock[] } {
  const text = `:pencil2: ${link(issue.url, issue.key)} updated from ${code(path)} by <@${user.userId}>`;
  return { text: `${issue.key} updated from ${path}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

export function queuedMessage(path: string, wait: { retryAfterMs?: number | undefined; position?: number | undefined }): { text: string } {
  const seconds = wait.retryAfterMs !== undefined ? Math.max(1, Math.ceil(wait.retryAfterMs / 1000)) : undefined;
  const when = wait.position !== undefined
    ? `you are number ${wait.position} in the queue${seconds !== undefined ? ` (about ${seconds} s)` : ''}`
    : `it continues by itself in about ${seconds ?? 1} s`;
  return { text: `:hourglass_flowing_sand: Jira is busy, so publishing ${code(path)} is queued; ${when}, and the link will appear in the workflow's thread.` };
}

export function errorMessage(userMessage: string): { text: string } {
  return { text: `:warning: ${userMessage}` };
}
