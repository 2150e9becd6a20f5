/**
 * Publish all and Create issues from tasks, as pure Block Kit: their buttons, the confirmation
 * modal, the progress message and the summaries. Outside values (paths, titles, task text, Jira's
 * reasons) are escaped here, as everywhere.
 */
import type { Button, KnownBlock, ModalView } from '@slack/types';
import type { TaskPlan } from '../../publishing/task-plan.ts';
import type { Workflow } from '../../publishing/model.ts';
import type { BatchItemResult, BatchSummary } from '../../publishing/ports.ts';
import { taskSummary } from '../../publishing/tasks.ts';
import {
  ACTIONS,
  decodeDocumentValue,
  decodeWorkflowValue,
  encodeDocumentValue,
  encodePublishAsMetadata,
  encodeWorkflowValue,
  type PublishAsMetadata,
} from '../action-values.ts';
import { clip, clipMrkdwn, code, escapeMrkdwn, LIMITS, link, mrkdwnSection } from './text.ts';

export const TASK_ISSUES_CALLBACK_ID = 'vteam_task_issues';

const SHOWN = { path: 300, title: 150, task: 120, reason: 300, key: 100 } as const;
/** Tasks listed by name in the modal and in a summary; the rest are counted. */
const LISTED = { modal: 10, created: 60, failed: 20 } as const;

/** Undefined when the workflow cannot be carried in a button value. */
export function publishAllButton(workflow: Workflow): Button | undefined {
  const value = encodeWorkflowValue(workflow);
  if (!decodeWorkflowValue(value)) return undefined;
  return {
    type: 'button',
    action_id: ACTIONS.publishAll,
    text: { type: 'plain_text', text: 'Publish all' },
    value,
    accessibility_label: clip(`Publish every document of ${workflow.name} to Jira`, 75),
  };
}

/** Undefined when the document cannot be carried in a button value. */
export function createTaskIssuesButton(workflow: Workflow, path: string): Button | undefined {
  const value = encodeDocumentValue({ namespace: workflow.namespace, name: workflow.name, path });
  if (!decodeDocumentValue(value)) return undefined;
  return {
    type: 'button',
    action_id: ACTIONS.createTaskIssues,
    text: { type: 'plain_text', text: 'Create issues from tasks' },
    value,
    accessibility_label: clip(`Create a Jira issue for each open task of ${path}`, 75),
  };
}

function modal(metadata: PublishAsMetadata | undefined, blocks: KnownBlock[], extra: Partial<ModalView> = {}): ModalView {
  return {
    type: 'modal',
    callback_id: TASK_ISSUES_CALLBACK_ID,
    title: { type: 'plain_text', text: 'Issues from tasks' },
    close: { type: 'plain_text', text: 'Close' },
    ...(metadata ? { private_metadata: encodePublishAsMetadata(metadata) } : {}),
    blocks,
    ...extra,
  };
}

export function taskIssuesLoadingView(metadata: PublishAsMetadata): ModalView {
  return modal(metadata, [mrkdwnSection(`:hourglass_flowing_sand: Reading the tasks of ${code(clip(metadata.path, SHOWN.path))}…`)], {
    close: { type: 'plain_text', text: 'Cancel' },
  });
}

/** One sentence and no form. `text` is mrkdwn (outside values escaped by the caller). */
export function taskIssuesMessageView(text: string): ModalView {
  return modal(undefined, [mrkdwnSection(text)]);
}

/** The confirmation: how many issues, where, as what, and what they cost of this hour's budget. */
export function taskIssuesConfirmView(plan: TaskPlan, metadata: PublishAsMetadata): ModalView {
  const path = code(clip(plan.documentPath, SHOWN.path));
  const counts = [
    plan.done.length > 0 ? `${plan.done.length} done ${plural(plan.done.length, 'task is', 'tasks are')} skipped` : undefined,
    plan.existing.length > 0
      ? `${plan.existing.length} already ${plural(plan.existing.length, 'has its issue', 'have their issues')}`
      : undefined,
  ].filter((c): c is string => c !== undefined);
  if (plan.toCreate.length === 0) {
    const nothing =
      plan.existing.length + plan.done.length === 0
        ? `${path} lists no tasks in spec-kit's format (${code('- [ ] T001 Do something')}), so there is nothing to create.`
        : `Every open task of ${path} already has its issue, so there is nothing to create${counts.length ? ` (${counts.join('; ')})` : ''}.`;
    return taskIssuesMessageView(nothing);
  }
  const n = plan.toCreate.length;
  const lines = [
    `Create *${n} ${plural(n, 'issue', 'issues')}* in Jira project ${code(clip(plan.settings.projectKey, SHOWN.key))} as *${escapeMrkdwn(clip(plan.placement.issueType, 60))}* ${placementText(plan)}, one per open task of ${path} in *${escapeMrkdwn(clip(plan.workflow.title || plan.workflow.name, SHOWN.title))}*.`,
    counts.length ? `${capitalize(counts.join('; '))}.` : undefined,
    budgetText(plan),
  ].filter((l): l is string => l !== undefined);
  const listed = plan.toCreate.slice(0, LISTED.modal).map((t) => `• ${escapeMrkdwn(clip(taskSummary(t), SHOWN.task))}`);
  if (n > LISTED.modal) listed.push(`…and ${n - LISTED.modal} more`);
  const blocks: KnownBlock[] = [
    mrkdwnSection(lines.join('\n')),
    { type: 'context', elements: [{ type: 'mrkdwn', text: clipMrkdwn(listed.join('\n'), LIMITS.sectionText) }] },
  ];
  return modal(metadata, blocks, {
    submit: { type: 'plain_text', text: `Create ${n} ${plural(n, 'issue', 'issues')}` },
    close: { type: 'plain_text', text: 'Cancel' },
  });
}

function placementText(plan: TaskPlan): string {
  const url = (key: string) => link(plan.parentUrl, clip(key, SHOWN.key));
  const { placement } = plan;
  if (placement.under === 'epic' && placement.parentKey) return `under ${url(placement.parentKey)}`;
  if (placement.under === 'document')
    return placement.parentKey
      ? `under ${url(placement.parentKey)}, the issue of ${code(clip(plan.documentPath, SHOWN.path))}`
      : `under the issue of ${code(clip(plan.documentPath, SHOWN.path))}, which is published first`;
  return 'with no parent (publish the spec first to group them under its issue)';
}

function budgetText(plan: TaskPlan): string {
  if (!plan.budget) return `They use ${plan.requests} Jira ${plural(plan.requests, 'request', 'requests')}.`;
  const left = Math.max(0, plan.budget.limit - plan.budget.used);
  const base = `They use ${plan.requests} of the ${left.toLocaleString('en-US')} Jira requests left this hour (budget ${plan.budget.limit.toLocaleString('en-US')}).`;
  return plan.requests > left
    ? `${base} :warning: That is more than is left: the rest waits for the next hour, or fails if that is too long.`
    : base;
}

export function batchProgressMessage(info: { documentPath: string; done: number; total: number }): { text: string; blocks: KnownBlock[] } {
  const text = `:hourglass_flowing_sand: Creating issues from ${code(clip(info.documentPath, SHOWN.path))}: ${info.done} of ${info.total}…`;
  return { text: `Creating issues: ${info.done} of ${info.total}…`, blocks: [mrkdwnSection(text)] };
}

/** What a progress message becomes when its run was cut short; the next run reports below it. */
export function batchInterruptedMessage(info: { documentPath: string }): { text: string; blocks: KnownBlock[] } {
  const text = `:double_vertical_bar: Creating issues from ${code(clip(info.documentPath, SHOWN.path))} was interrupted (the app restarted). A new run continues where it stopped and reports below; no task gets two issues.`;
  return { text: 'Creating issues was interrupted; a new run continues', blocks: [mrkdwnSection(text)] };
}

/** The end of a batch: what was created (with links), what was there already, skipped, or failed and why. */
export function batchSummaryMessage(summary: BatchSummary): { text: string; blocks: KnownBlock[] } {
  return summary.kind === 'documents' ? documentsSummary(summary) : tasksSummary(summary);
}

function tasksSummary(summary: BatchSummary): { text: string; blocks: KnownBlock[] } {
  const by = group(summary.items);
  const path = code(clip(summary.documentPath ?? '', SHOWN.path));
  const made = [...by.created, ...by.found];
  const counts = [
    `${made.length} created`,
    by.existing.length ? `${by.existing.length} already there` : undefined,
    summary.skippedDone ? `${summary.skippedDone} skipped as done` : undefined,
    by.failed.length ? `${by.failed.length} failed` : undefined,
    by['needs-link'].length ? `${by['needs-link'].length} waiting for your Atlassian account` : undefined,
  ].filter((c): c is string => c !== undefined);
  const icon = by.failed.length || by['needs-link'].length ? ':warning:' : ':white_check_mark:';
  const head = `${icon} Issues from ${path}: ${counts.join(', ')} · ${seconds(summary.elapsedMs)}`;
  const blocks: KnownBlock[] = [mrkdwnSection(head)];
  if (made.length)
    blocks.push(
      ...listSections(
        made.length === by.created.length ? 'New:' : 'New (some finished from an earlier run):',
        made.map(issueLine),
        LISTED.created,
      ),
    );
  if (by.failed.length) blocks.push(...listSections('Failed:', by.failed.map(failureLine), LISTED.failed));
  if (by['needs-link'].length)
    blocks.push(
      mrkdwnSection(
        'Connect your Atlassian account (I sent you a direct message), then run *Create issues from tasks* again: it creates only what is missing.',
      ),
    );
  else if (by.failed.length)
    blocks.push(mrkdwnSection('Run *Create issues from tasks* again after fixing the cause: it creates only what is missing.'));
  return {
    text: `Issues from ${escapeMrkdwn(clip(summary.documentPath ?? '', SHOWN.path))}: ${counts.join(', ')}`,
    blocks: blocks.slice(0, LIMITS.messageBlocks),
  };
}

function documentsSummary(summary: BatchSummary): { text: string; blocks: KnownBlock[] } {
  const title = escapeMrkdwn(clip(summary.workflow.title || summary.workflow.name, SHOWN.title));
  const failed = summary.items.filter((i) => i.status === 'failed' || i.status === 'needs-link').length;
  const head = `${failed ? ':warning:' : ':white_check_mark:'} Every document of *${title}* in Jira:`;
  const lines = summary.items.map((item) => {
    const where = code(clip(item.path, SHOWN.path));
    if (item.status === 'failed') return `• ${where}: ${escapeMrkdwn(clip(item.error?.userMessage ?? 'failed', SHOWN.reason))}`;
    if (item.status === 'needs-link') return `• ${where}: waiting for your Atlassian account`;
    const key = item.issue ? link(item.issue.url, clip(item.issue.key, SHOWN.key)) : '';
    const type = item.issue?.issueType ? ` · ${escapeMrkdwn(clip(item.issue.issueType, 60))}` : '';
    const state = item.status === 'existing' ? 'already published' : item.status === 'found' ? 'finished from an earlier run' : 'new';
    return `• ${where} → ${key}${type} (${state})`;
  });
  const blocks: KnownBlock[] = [mrkdwnSection([head, ...lines].join('\n'))];
  return { text: `Every document of ${title} in Jira`, blocks };
}

function issueLine(item: BatchItemResult): string {
  const key = item.issue ? link(item.issue.url, clip(item.issue.key, SHOWN.key)) : '?';
  return `${key} ${escapeMrkdwn(clip(item.issue?.summary || item.taskId || item.path, SHOWN.task))}`;
}

function failureLine(item: BatchItemResult): string {
  return `${code(clip(item.taskId ?? item.path, SHOWN.path))}: ${escapeMrkdwn(clip(item.error?.userMessage ?? 'failed', SHOWN.reason))}`;
}

/** A titled list in as many sections as Slack's 3,000 characters need, at most `max` lines. */
function listSections(title: string, lines: string[], max: number): KnownBlock[] {
  const shown = lines.slice(0, max);
  if (lines.length > max) shown.push(`…and ${lines.length - max} more`);
  const sections: string[] = [];
  let current = title;
  for (const line of shown) {
    if (current.length + 1 + line.length > LIMITS.sectionText) {
      sections.push(current);
      current = line;
    } else current = `${current}\n${line}`;
  }
  sections.push(current);
  return sections.map((text) => mrkdwnSection(text));
}

function group(items: BatchItemResult[]): Record<BatchItemResult['status'], BatchItemResult[]> {
  const by: Record<BatchItemResult['status'], BatchItemResult[]> = { created: [], found: [], existing: [], failed: [], 'needs-link': [] };
  for (const item of items) by[item.status].push(item);
  return by;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
