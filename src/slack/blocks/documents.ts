import type { ActionsBlock, Button, KnownBlock, Overflow, SectionBlock } from '@slack/types';
import type { DocumentRow } from '../../publishing/model.ts';
import type { JiraIssue, Workflow } from '../../publishing/model.ts';
import { ACTIONS, decodeDocumentValue, encodeDocumentValue, encodePublishAsValue, encodePublishNowValue } from '../action-values.ts';
import { splitTaskPath } from '../../publishing/tasks.ts';
import { createTaskIssuesButton, publishAllButton } from './batches.ts';
import { clip, code, escapeMrkdwn, LIMITS, link, mrkdwnSection } from './text.ts';

/** Slack allows 50 blocks per message. */
export const MAX_MESSAGE_BLOCKS = LIMITS.messageBlocks;

/** How much of an outside value a line shows: enough for any real one, never a whole section. */
const SHOWN = { title: 150, description: 280, path: 500, key: 100, url: 100, branch: 200 } as const;

/** A document button's value, or undefined when the click could not be read back (e.g. a path over 1,024 characters). */
function documentValue(workflow: Workflow, path: string): string | undefined {
  const value = encodeDocumentValue({ namespace: workflow.namespace, name: workflow.name, path });
  return decodeDocumentValue(value) ? value : undefined;
}

/** Undefined when the document cannot be carried in a button value. */
export function publishButton(workflow: Workflow, path: string): Button | undefined {
  const value = documentValue(workflow, path);
  if (!value) return undefined;
  return {
    type: 'button',
    action_id: ACTIONS.publish,
    text: { type: 'plain_text', text: 'Publish to Jira' },
    style: 'primary',
    value,
    accessibility_label: clip(`Publish ${path} to Jira`, 75),
  };
}

/** Undefined when the document cannot be carried in a button value. */
export function updateButton(workflow: Workflow, path: string): Button | undefined {
  const value = documentValue(workflow, path);
  if (!value) return undefined;
  return {
    type: 'button',
    action_id: ACTIONS.update,
    text: { type: 'plain_text', text: 'Update issue' },
    value,
    accessibility_label: clip(`Update the Jira issue of ${path}`, 75),
  };
}

/** The workflow's name for `text` fallbacks and headers: its title, else its CR name. */
function shownTitle(workflow: { name: string }, title: string | undefined): string {
  return escapeMrkdwn(clip(title || workflow.name, SHOWN.title));
}

/**
 * "Publish as…" (choose the issue type in a modal) and "Publish to Jira" (the default type, as the
 * button): Slack wants at least two options in an overflow. Undefined when the value would not fit.
 */
export function publishAsOverflow(workflow: Workflow, path: string): Overflow | undefined {
  const document = { namespace: workflow.namespace, name: workflow.name, path };
  const publishAs = encodePublishAsValue(document);
  const publishNow = encodePublishNowValue(document);
  if (!publishAs || !publishNow) return undefined;
  return {
    type: 'overflow',
    action_id: ACTIONS.publishAs,
    options: [
      { text: { type: 'plain_text', text: 'Publish as…' }, value: publishAs },
      { text: { type: 'plain_text', text: 'Publish to Jira' }, value: publishNow },
    ],
  };
}

/**
 * One document's blocks: its Jira link when published; else the one-click Publish button followed by
 * the "Publish as…" overflow (two blocks), or the button alone when the overflow cannot carry the path.
 */
export function documentRowBlocks(workflow: Workflow, row: DocumentRow): KnownBlock[] {
  const name = `*${escapeMrkdwn(clip(row.phase, 40))}* · ${code(clip(row.path, SHOWN.path))}`;
  // A tasks document also offers its tasks as issues; their links are counted on its row.
  const taskButton = row.phase === 'tasks' ? createTaskIssuesButton(workflow, row.path) : undefined;
  if (row.jiraKey) {
    const tasks = workflow.jiraLinks.filter((l) => splitTaskPath(l.path)?.documentPath === row.path).length;
    const counted = tasks > 0 ? ` · ${tasks} task ${tasks === 1 ? 'issue' : 'issues'}` : '';
    const section = mrkdwnSection(`${name}\n:white_check_mark: ${link(row.url, clip(row.jiraKey, SHOWN.key))}${counted}`);
    return [taskButton ? { ...section, accessory: taskButton } : section];
  }
  const button = publishButton(workflow, row.path);
  if (!button) return [mrkdwnSection(`${name}\n_This path is too long for a Publish button._`)];
  const overflow = publishAsOverflow(workflow, row.path);
  if (!overflow && !taskButton) return [{ ...mrkdwnSection(name), accessory: button }];
  const elements = [button, overflow, taskButton].filter((e): e is Button | Overflow => e !== undefined);
  const actions: ActionsBlock = { type: 'actions', elements };
  return [mrkdwnSection(name), actions];
}

export function workflowHeader(workflow: Workflow, vteamUrl?: string): SectionBlock {
  const repoUrl = workflow.umbrellaRepo?.url;
  const repo =
    repoUrl !== undefined
      ? `${link(repoUrl, clip(repoUrl.replace(/^https?:\/\//, ''), SHOWN.url))}${workflow.branchName ? ` @ ${code(clip(workflow.branchName, SHOWN.branch))}` : ''}`
      : undefined;
  const ui = vteamUrl
    ? link(`${vteamUrl}/projects/${encodeURIComponent(workflow.namespace)}/rfe/${encodeURIComponent(workflow.name)}`, 'Open in vTeam')
    : undefined;
  const lines = [
    `*${shownTitle(workflow, workflow.title)}*  ${code(`${workflow.namespace}/${workflow.name}`)}`,
    workflow.description ? escapeMrkdwn(clip(workflow.description, SHOWN.description)) : undefined,
    [repo, ui].filter(Boolean).join(' · ') || undefined,
  ].filter((l): l is string => l !== undefined);
  return mrkdwnSection(lines.join('\n'));
}

/** The answer to `/vteam publish <workflow>`: the workflow's documents, each publishable. */
export function documentPicker(workflow: Workflow, rows: DocumentRow[], vteamUrl?: string): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [workflowHeader(workflow, vteamUrl)];
  // Publish all, while a document is left to publish: the spec becomes the parent of the others.
  const publishAll = rows.some((row) => !row.jiraKey) ? publishAllButton(workflow) : undefined;
  if (publishAll) blocks.push({ type: 'actions', elements: [publishAll] });
  blocks.push({ type: 'divider' });
  if (rows.length === 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'No spec, plan or tasks document exists in this workflow yet.' } });
  }
  // Rows take one or two blocks; stop while the "…and N more" line still fits in Slack's 50.
  const budget = MAX_MESSAGE_BLOCKS - blocks.length - 1;
  let used = 0;
  let shown = 0;
  for (const row of rows) {
    const rowBlocks = documentRowBlocks(workflow, row);
    if (used + rowBlocks.length > budget) break;
    blocks.push(...rowBlocks);
    used += rowBlocks.length;
    shown++;
  }
  if (shown < rows.length) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${rows.length - shown} more; publish them by path.` }] });
  }
  return { text: `Documents of ${shownTitle(workflow, workflow.title)}`, blocks };
}

/** The workflow's parent message in a channel; publishes reply in its thread. */
export function workflowCard(workflow: Workflow, rows: DocumentRow[], vteamUrl?: string): { text: string; blocks: KnownBlock[] } {
  const picker = documentPicker(workflow, rows, vteamUrl);
  return { text: `RFE workflow: ${shownTitle(workflow, workflow.title)}`, blocks: picker.blocks };
}

/** What a card becomes once its workflow is deleted: kept for reference, without buttons. */
export function deletedWorkflowCard(
  ref: { namespace: string; name: string },
  title: string | undefined,
): { text: string; blocks: KnownBlock[] } {
  const name = shownTitle(ref, title);
  return {
    text: `RFE workflow deleted: ${name}`,
    blocks: [
      mrkdwnSection(`~${name}~  ${code(`${ref.namespace}/${ref.name}`)}`),
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: ':wastebasket: This workflow was deleted in vTeam; its Jira issues are unchanged.' }],
      },
    ],
  };
}

/**
 * The document already has its issue. With `duplicate`: another issue was created meanwhile (the link
 * was written by someone else while this publish ran); the link is kept and the user asked to close it.
 */
export function alreadyLinkedMessage(
  workflow: Workflow,
  path: string,
  issue: JiraIssue,
  duplicate?: JiraIssue,
): { text: string; blocks: KnownBlock[] } {
  const key = clip(issue.key, SHOWN.key);
  const shownPath = clip(path, SHOWN.path);
  if (duplicate) {
    const extra = clip(duplicate.key, SHOWN.key);
    const text = `${code(shownPath)} was linked to ${link(issue.url, key)} by someone else while it was being published, so it keeps that link; ${link(duplicate.url, extra)}, created by this publish, is a duplicate: close it in Jira.`;
    return {
      text: `${escapeMrkdwn(shownPath)} keeps ${escapeMrkdwn(key)}; ${escapeMrkdwn(extra)} is a duplicate to close`,
      blocks: [mrkdwnSection(text)],
    };
  }
  const text = `${code(shownPath)} is already published as ${link(issue.url, key)}; it is never published twice. Use *Update issue* to copy the current document into it.`;
  const button = updateButton(workflow, path);
  const blocks: KnownBlock[] = [mrkdwnSection(text)];
  if (button) blocks.push({ type: 'actions', elements: [button] });
  return { text: `${escapeMrkdwn(shownPath)} is already published as ${escapeMrkdwn(key)}`, blocks };
}
