import type { ActionsBlock, Button, KnownBlock, Overflow, SectionBlock } from '@slack/types';
import type { DocumentRow } from '../../publishing/publish-service.ts';
import type { JiraIssue, Workflow } from '../../publishing/model.ts';
import { ACTIONS, encodeDocumentValue, encodePublishAsValue, encodePublishNowValue } from '../action-values.ts';
import { clip, code, escapeMrkdwn, link } from './text.ts';

/** Slack allows 50 blocks per message. */
export const MAX_MESSAGE_BLOCKS = 50;

export function publishButton(workflow: Workflow, path: string): Button {
  return {
    type: 'button',
    action_id: ACTIONS.publish,
    text: { type: 'plain_text', text: 'Publish to Jira' },
    style: 'primary',
    value: encodeDocumentValue({ namespace: workflow.namespace, name: workflow.name, path }),
    accessibility_label: clip(`Publish ${path} to Jira`, 75),
  };
}

export function updateButton(workflow: Workflow, path: string): Button {
  return {
    type: 'button',
    action_id: ACTIONS.update,
    text: { type: 'plain_text', text: 'Update issue' },
    value: encodeDocumentValue({ namespace: workflow.namespace, name: workflow.name, path }),
    accessibility_label: clip(`Update the Jira issue of ${path}`, 75),
  };
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
  const name = `*${escapeMrkdwn(row.phase)}* · ${code(row.path)}`;
  if (row.jiraKey) {
    return [{ type: 'section', text: { type: 'mrkdwn', text: `${name}\n:white_check_mark: ${link(row.url, row.jiraKey)}` } }];
  }
  const button = publishButton(workflow, row.path);
  const overflow = publishAsOverflow(workflow, row.path);
  if (!overflow) return [{ type: 'section', text: { type: 'mrkdwn', text: name }, accessory: button }];
  const actions: ActionsBlock = { type: 'actions', elements: [button, overflow] };
  return [{ type: 'section', text: { type: 'mrkdwn', text: name } }, actions];
}

export function workflowHeader(workflow: Workflow, vteamUrl?: string): SectionBlock {
  const title = escapeMrkdwn(clip(workflow.title || workflow.name, 150));
  const repo = workflow.umbrellaRepo
    ? `${link(workflow.umbrellaRepo.url, workflow.umbrellaRepo.url.replace(/^https?:\/\//, ''))}${workflow.branchName ? ` @ ${code(workflow.branchName)}` : ''}`
    : undefined;
  const ui = vteamUrl ? link(`${vteamUrl}/projects/${encodeURIComponent(workflow.namespace)}/rfe/${encodeURIComponent(workflow.name)}`, 'Open in vTeam') : undefined;
  const lines = [
    `*${title}*  ${code(`${workflow.namespace}/${workflow.name}`)}`,
    workflow.description ? escapeMrkdwn(clip(workflow.description, 280)) : undefined,
    [repo, ui].filter(Boolean).join(' · ') || undefined,
  ].filter((l): l is string => l !== undefined);
  return { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } };
}

/** The answer to `/vteam publish <workflow>`: the workflow's documents, each publishable. */
export function documentPicker(workflow: Workflow, rows: DocumentRow[], vteamUrl?: string): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [workflowHeader(workflow, vteamUrl), { type: 'divider' }];
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
  return { text: `Documents of ${workflow.title || workflow.name}`, blocks };
}

/** The workflow's parent message in a channel; publishes reply in its thread. */
export function workflowCard(workflow: Workflow, rows: DocumentRow[], vteamUrl?: string): { text: string; blocks: KnownBlock[] } {
  const picker = documentPicker(workflow, rows, vteamUrl);
  return { text: `RFE workflow: ${workflow.title || workflow.name}`, blocks: picker.blocks };
}

/** What a card becomes once its workflow is deleted: kept for reference, without buttons. */
export function deletedWorkflowCard(ref: { namespace: string; name: string }, title: string | undefined): { text: string; blocks: KnownBlock[] } {
  const name = escapeMrkdwn(clip(title || ref.name, 150));
  return {
    text: `RFE workflow deleted: ${title || ref.name}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `~${name}~  ${code(`${ref.namespace}/${ref.name}`)}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: ':wastebasket: This workflow was deleted in vTeam; its Jira issues are unchanged.' }] },
    ],
  };
}

export function alreadyLinkedMessage(workflow: Workflow, path: string, issue: JiraIssue): { text: string; blocks: KnownBlock[] } {
  const text = `${code(path)} is already published as ${link(issue.url, issue.key)}; it is never published twice. Use *Update issue* to copy the current document into it.`;
  const actions: ActionsBlock = { type: 'actions', elements: [updateButton(workflow, path)] };
  return { text: `${path} is already published as ${issue.key}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, actions] };
}
