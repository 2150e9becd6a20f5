/**
 * What Create issues from tasks would do with a tasks document, computed from the workflow's links
 * and the project's settings only (no I/O): the confirmation modal shows it, and the batch plans
 * again under its lease from a fresh read.
 */
import { taskPlacement, type TaskPlacement } from './issue-drafts.ts';
import type { DocumentContent, JiraSettings, Workflow } from './model.ts';
import type { BatchItemResult } from './ports.ts';
import { parseTasks, taskPath, taskSummary, type PlanTask } from './tasks.ts';

/** What Create issues from tasks would do, for the confirmation modal. */
export interface TaskPlan {
  workflow: Workflow;
  settings: JiraSettings;
  documentPath: string;
  /** Open tasks without an issue yet. */
  toCreate: PlanTask[];
  /** Open tasks whose issue exists (linked in spec.jiraLinks). */
  existing: PlanTask[];
  done: PlanTask[];
  placement: TaskPlacement;
  /** Browser link of the parent issue, when it exists. */
  parentUrl?: string | undefined;
  /** The tasks document must be published first, as the Sub-tasks' parent. */
  publishesDocumentFirst: boolean;
  /** Upstream requests the creates will use. */
  requests: number;
  budget?: { used: number; limit: number } | undefined;
}

type BrowseUrl = (siteUrl: string, key: string) => string;

export function planTasksOf(
  workflow: Workflow,
  settings: JiraSettings,
  document: DocumentContent,
  options: { issueType?: string | undefined; requestsPerCreate: number; browseUrl: BrowseUrl },
): TaskPlan {
  const { tasks } = parseTasks(document.markdown);
  const linkedPaths = new Set(workflow.jiraLinks.map((l) => l.path));
  const open = tasks.filter((t) => !t.done);
  const existing = open.filter((t) => linkedPaths.has(taskPath(document.path, t.id)));
  const toCreate = open.filter((t) => !linkedPaths.has(taskPath(document.path, t.id)));
  const placement = taskPlacement(workflow, settings, document.path, options.issueType);
  const publishesDocumentFirst = placement.under === 'document' && placement.parentKey === undefined;
  return {
    workflow,
    settings,
    documentPath: document.path,
    toCreate,
    existing,
    done: tasks.filter((t) => t.done),
    placement,
    parentUrl: placement.parentKey === undefined ? undefined : options.browseUrl(settings.siteUrl, placement.parentKey),
    publishesDocumentFirst,
    requests: (toCreate.length + (publishesDocumentFirst ? 1 : 0)) * options.requestsPerCreate,
  };
}

/** A task of the plan that already has its issue, as a batch reports it. */
export function existingResult(plan: TaskPlan, task: PlanTask, browseUrl: BrowseUrl): BatchItemResult {
  const path = taskPath(plan.documentPath, task.id);
  const key = plan.workflow.jiraLinks.find((l) => l.path === path)?.jiraKey;
  const issue =
    key === undefined ? undefined : { key, url: browseUrl(plan.settings.siteUrl, key), summary: taskSummary(task), issueType: '' };
  return { path, taskId: task.id, status: 'existing', issue };
}
