import type { KnownBlock } from '@slack/types';
import { clipMrkdwn, LIMITS, mrkdwnSection } from './text.ts';

export const HELP_TEXT = [
  '*vTeam for Slack* publishes RFE workflow documents to Jira as you, through your own Atlassian account.',
  '• `/vteam publish <workflow> <path> [--type <IssueType>]`: publish one document, e.g. `/vteam publish rfe-1760000000 specs/001-dark-mode/spec.md`',
  "• `/vteam publish <workflow>`: list the workflow's documents with a *Publish to Jira* button each",
  '• `/vteam publish <workflow> --all`: publish every document at once, the spec as the Epic and the others as its children',
  '• `/vteam publish <workflow> <tasks-path> --tasks`: one Jira issue per open task of a tasks document, after you confirm',
  '• `/vteam connect`: link your Atlassian account (Jira issues are created as you); `/vteam disconnect` unlinks it',
  '• `/vteam help`: this message',
  '`<workflow>` is the workflow name (`rfe-1760000000`), `<project>/<name>`, or the start of its title (quote titles with spaces).',
].join('\n');

/** `preface` and `extraLines` are mrkdwn written by our code: any outside value in them is escaped by the caller. */
export function helpMessage(preface?: string, extraLines: string[] = []): { text: string; blocks: KnownBlock[] } {
  const body = extraLines.length > 0 ? `${HELP_TEXT}\n${extraLines.map((l) => `• ${l}`).join('\n')}` : HELP_TEXT;
  const text = preface ? `${preface}\n\n${body}` : body;
  return { text: clipMrkdwn(text, LIMITS.messageText), blocks: [mrkdwnSection(text)] };
}
