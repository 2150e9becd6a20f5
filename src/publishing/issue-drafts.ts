/**
 * What one publish asks Jira to create: type, summary, description and parent, for a document or for
 * one task of a tasks document. Placement in the workflow's hierarchy is decided here, from the
 * workflow's links and the project's settings only, so a recovered create picks the same parent as
 * the attempt it finishes.
 *
 * The hierarchy (Jira's own levels): the spec's issue is the parent (an Epic by default, under
 * spec.parentOutcome); plan and tasks documents are its children; a task becomes a standard issue
 * under the Epic, or, when the project's task type is a sub-task type, a Sub-task under the tasks
 * document's issue (a Task cannot be the parent of a Task).
 */
import { errors } from '../errors.ts';
import { chooseIssueType, issueDescription, issueSummary, parentKey } from './issue-content.ts';
import type { DocumentContent, JiraLink, JiraSettings, PublishRequest, Workflow } from './model.ts';
import { phaseOf, validateDocumentPath } from './paths.ts';
import type { DocumentSource } from './ports.ts';
import { parseTasks, splitTaskPath, TASK_ID, taskDescription, taskSummary, type PlanTask } from './tasks.ts';

export interface IssueDraft {
  issueType: string;
  summary: string;
  description: string;
  parentKey?: string | undefined;
}

/** Keys of the project's `jira-issue-types` setting beyond the phases. */
export const HIERARCHY_TYPE_KEYS = { epic: 'epic', taskItem: 'task-item' } as const;
export const DEFAULT_EPIC_TYPE = 'Epic';
export const DEFAULT_TASK_ITEM_TYPE = 'Task';

/** Jira's sub-task types: `Sub-task` (company-managed), `Subtask` (team-managed, Server/DC), custom `… Sub-task`. */
export function isSubtaskType(issueType: string): boolean {
  return /sub-?task/i.test(issueType);
}

/** A document path, or a task path (`<tasks-path>#T012`) whose document part is a valid document path. */
export function validatePublishPath(input: string): string {
  const text = input.trim();
  const hash = text.lastIndexOf('#');
  const taskId = hash > 0 ? text.slice(hash + 1) : '';
  if (!TASK_ID.test(taskId)) return validateDocumentPath(input);
  return `${validateDocumentPath(text.slice(0, hash))}#${taskId}`;
}

/** The spec whose issue heads `path`'s hierarchy: the spec.md beside it, else any published spec. */
export function epicLink(workflow: Workflow, path: string): JiraLink | undefined {
  const directory = dirname(path);
  const specs = workflow.jiraLinks.filter((l) => splitTaskPath(l.path) === undefined && phaseOf(l.path) === 'specify');
  return specs.find((l) => dirname(l.path) === directory) ?? specs[0];
}

export interface TaskPlacement {
  issueType: string;
  /** `epic`: standard issues under the spec's issue; `document`: Sub-tasks under the tasks document's issue. */
  under: 'epic' | 'document' | 'none';
  /** The parent's key, when it exists yet (a Sub-task's parent may still have to be published). */
  parentKey?: string | undefined;
}

/** Where the issues of a tasks document's tasks go, and as which type. */
export function taskPlacement(workflow: Workflow, settings: JiraSettings, documentPath: string, explicitType?: string): TaskPlacement {
  const issueType = explicitType?.trim() || settings.issueTypes[HIERARCHY_TYPE_KEYS.taskItem] || DEFAULT_TASK_ITEM_TYPE;
  if (isSubtaskType(issueType)) {
    return { issueType, under: 'document', parentKey: workflow.jiraLinks.find((l) => l.path === documentPath)?.jiraKey };
  }
  const epic = epicLink(workflow, documentPath);
  return epic ? { issueType, under: 'epic', parentKey: epic.jiraKey } : { issueType, under: 'none' };
}

/** A document's issue; with `hierarchy`, the spec is the Epic and the other documents its children. */
export function documentDraft(
  workflow: Workflow,
  settings: JiraSettings,
  document: DocumentContent,
  request: Pick<PublishRequest, 'issueType' | 'hierarchy'>,
): IssueDraft {
  const content = { summary: issueSummary(workflow, document.phase), description: issueDescription(document) };
  if (!request.hierarchy) {
    return { ...content, issueType: chooseIssueType(settings, document.phase, request.issueType), parentKey: parentKey(workflow) };
  }
  if (document.phase === 'specify') {
    const issueType = request.issueType?.trim() || settings.issueTypes[HIERARCHY_TYPE_KEYS.epic] || DEFAULT_EPIC_TYPE;
    return { ...content, issueType, parentKey: parentKey(workflow) };
  }
  const parent = epicLink(workflow, document.path)?.jiraKey ?? parentKey(workflow);
  return { ...content, issueType: chooseIssueType(settings, document.phase, request.issueType), parentKey: parent };
}

/** One task's issue, placed by taskPlacement. */
export function taskDraft(
  workflow: Workflow,
  settings: JiraSettings,
  document: DocumentContent,
  task: PlanTask,
  explicitType?: string,
): IssueDraft {
  const placement = taskPlacement(workflow, settings, document.path, explicitType);
  if (placement.under === 'document' && placement.parentKey === undefined) {
    throw errors.badRequest(
      `${placement.issueType} issues need the issue of \`${document.path}\` as their parent; publish that document first, then create the issues again.`,
    );
  }
  return {
    issueType: placement.issueType,
    summary: taskSummary(task),
    description: taskDescription(task, document.sourceUrl),
    parentKey: placement.parentKey,
  };
}

/**
 * The draft of whatever `request.path` names. `preloaded`: the document, when the caller has read it
 * already (a batch reads its tasks document once for all its tasks).
 */
export function createIssueDrafts(documents: Pick<DocumentSource, 'read'>) {
  return async function draft(
    workflow: Workflow,
    request: Pick<PublishRequest, 'path' | 'issueType' | 'hierarchy'>,
    settings: JiraSettings,
    preloaded?: DocumentContent,
  ): Promise<IssueDraft> {
    const task = splitTaskPath(request.path);
    const documentPath = task?.documentPath ?? request.path;
    const document = preloaded?.path === documentPath ? preloaded : await documents.read(workflow, documentPath);
    if (!task) return documentDraft(workflow, settings, document, request);
    const found = parseTasks(document.markdown).tasks.find((t) => t.id === task.taskId);
    if (!found) throw errors.taskNotFound(task.taskId, documentPath);
    return taskDraft(workflow, settings, document, found, request.issueType);
  };
}

export type IssueDrafts = ReturnType<typeof createIssueDrafts>;

function dirname(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('/')));
}
