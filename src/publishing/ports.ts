/**
 * What the publishing use case needs from the outside world. Adapters implement these:
 * vteam/ (Kubernetes, GitHub, content service), atlassian/ (MCP), storage/, slack/.
 */
import type { VteamError } from '../errors.ts';
import type { ReplyTo } from './model.ts';
import type {
  CreateIssueRequest,
  DocumentContent,
  FindIssueRequest,
  JiraIssue,
  JiraLink,
  JiraSettings,
  LinkOutcome,
  PublishIntent,
  SlackUserRef,
  UpdateIssueRequest,
  Workflow,
  WorkflowDocument,
  WorkflowRef,
} from './model.ts';

export interface WorkflowRepository {
  get(ref: WorkflowRef): Promise<Workflow | undefined>;
  /** Every RFEWorkflow in the given namespaces (for name and title-prefix resolution). */
  list(namespaces: readonly string[]): Promise<Workflow[]>;
  /**
   * Adds {path, jiraKey} to spec.jiraLinks, keeping every other entry and field, and removes the
   * path's in-flight record in the same write. A path that already links another issue keeps it:
   * the outcome names that `existingKey`. Optimistic concurrency: on 409 re-read and re-apply.
   */
  upsertJiraLink(ref: WorkflowRef, link: JiraLink): Promise<LinkOutcome>;
  /** Every workflow (any namespace) carrying in-flight records, for recovery. */
  withInFlight(): Promise<Workflow[]>;
  /**
   * Records (or replaces) the path's in-flight record on the workflow `seen` was read from, provided
   * the path's link and record are still as `seen` shows them. Otherwise nothing is written and
   * `changed` is true, with the workflow as it is now: someone acted on the path since, decide again.
   */
  markInFlight(seen: Workflow, intent: PublishIntent): Promise<{ workflow: Workflow; changed: boolean }>;
  /** Removes the path's in-flight record, if any. */
  clearInFlight(ref: WorkflowRef, path: string): Promise<void>;
}

export interface ProjectDirectory {
  /** Every managed project that binds at least one channel, with those channels. */
  bindings(): Promise<{ namespace: string; channels: string[] }[]>;
  /** Namespaces (managed projects) whose projectsettings bind this Slack channel. */
  projectsBoundTo(channelId: string): Promise<string[]>;
  isBound(namespace: string, channelId: string): Promise<boolean>;
  /** Jira settings of a project; undefined when not configured. `secretName` is returned for the error. */
  jiraSettings(namespace: string): Promise<{ settings: JiraSettings | undefined; secretName: string }>;
  /** The project's GIT_TOKEN from its runner Secret, if any. */
  gitToken(namespace: string): Promise<string | undefined>;
}

export interface DocumentSource {
  /** Publishable documents (spec, plan, tasks) of the workflow, in phase order. */
  list(workflow: Workflow): Promise<WorkflowDocument[]>;
  /** Read one markdown document; `path` has already been validated as workspace-relative. */
  read(workflow: Workflow, path: string): Promise<DocumentContent>;
}

/** Per-call hooks: a rate limiter may hold a call in its queue and says so. */
export interface JiraCallOptions {
  onQueued?: (info: { position: number; etaMs?: number | undefined }) => void;
  /** The call has left the queue (a slot is its): what onQueued said no longer holds. */
  onStarted?: () => void;
  /**
   * Awaited right before the request leaves (after any queueing); a throw cancels the call unsent.
   * The publisher proves it still holds its lease here, so a worker that lost it never creates.
   */
  beforeSend?: () => Promise<void>;
}

export interface JiraGateway {
  createIssue(user: SlackUserRef, request: CreateIssueRequest, options?: JiraCallOptions): Promise<JiraIssue>;
  updateIssue(user: SlackUserRef, request: UpdateIssueRequest, options?: JiraCallOptions): Promise<JiraIssue>;
  /** Finds an issue the bot created earlier by its idempotency label (crash recovery). */
  findIssueByLabel(user: SlackUserRef, request: FindIssueRequest, options?: JiraCallOptions): Promise<JiraIssue | undefined>;
  /** The issue types a user may create in a Jira project (for the jira-config modal). */
  listIssueTypes?(user: SlackUserRef, request: { siteUrl: string; projectKey: string }): Promise<string[]>;
  /** Browse URL for a key on a site, without a network call when the site is known. */
  browseUrl(siteUrl: string, key: string): string;
}

/** Whether a Slack user has a usable Atlassian link (the token store answers). */
export interface AccountLinks {
  state(user: SlackUserRef): Promise<'linked' | 'missing' | 'broken'>;
}

export type { ReplyTo } from './model.ts';

export interface PublishedEvent {
  workflow: Workflow;
  path: string;
  issue: JiraIssue;
  user: SlackUserRef;
  /** True when this publish created the issue; false when it found one created by an earlier attempt. */
  created: boolean;
  recovered: boolean;
}

export interface PublishNotifier {
  /** Jira asked us to wait; the publish continues by itself. */
  /** Waiting for Jira's rate limit: either a 429's Retry-After, or a place in our own queue. */
  queued(
    replyTo: ReplyTo,
    info: { workflow: Workflow; path: string; retryAfterMs?: number | undefined; position?: number | undefined },
  ): Promise<void>;
  published(replyTo: ReplyTo, event: PublishedEvent): Promise<void>;
  /**
   * The document already links `issue`. `duplicate`: an issue this publish (or an interrupted earlier
   * one) created meanwhile, which the link does not point to; the user should close it.
   */
  alreadyLinked(
    replyTo: ReplyTo,
    info: { workflow: Workflow; path: string; issue: JiraIssue; duplicate?: JiraIssue | undefined },
  ): Promise<void>;
  updated(replyTo: ReplyTo, info: { workflow: Workflow; path: string; issue: JiraIssue; user: SlackUserRef }): Promise<void>;
  failed(replyTo: ReplyTo, error: VteamError): Promise<void>;
  /** The user must (re)connect Atlassian first; the publish waits and resumes after the callback. */
  needsLink(replyTo: ReplyTo, info: { user: SlackUserRef; path: string; reason: 'missing' | 'broken' }): Promise<void>;
  /** A waiting publish was not resumed because connecting took too long. */
  pendingDropped(replyTo: ReplyTo, info: { path: string; maxAgeMs: number }): Promise<void>;
}

/** How one item of a batch ended. */
export type BatchItemStatus =
  /** Created now. */
  | 'created'
  /** Created by an earlier, interrupted run, and linked now. */
  | 'found'
  /** Already linked before this run. */
  | 'existing'
  | 'failed'
  /** Not attempted: the user must connect Atlassian first. */
  | 'needs-link';

export interface BatchItemResult {
  /** The link path: a document, or `<tasks-path>#<task ID>`. */
  path: string;
  /** The task's ID, for task items. */
  taskId?: string | undefined;
  status: BatchItemStatus;
  issue?: JiraIssue | undefined;
  /** Another issue created meanwhile for the same item, which the link does not point to: to close. */
  duplicate?: JiraIssue | undefined;
  error?: VteamError | undefined;
}

export interface BatchSummary {
  workflow: Workflow;
  /** `documents`: Publish all; `tasks`: Create issues from tasks. */
  kind: 'documents' | 'tasks';
  /** The tasks document (kind `tasks`). */
  documentPath?: string | undefined;
  items: BatchItemResult[];
  /** Done tasks (`- [x]`), which get no issue. */
  skippedDone: number;
  /** Wall time of the run, for the summary's last line. */
  elapsedMs: number;
}

/** Where a batch's progress message lives once posted; opaque to the use case, like ReplyTo. */
export type ProgressHandle = Record<string, string>;

export interface BatchNotifier {
  /** Posts the progress message (`Creating issues: 0 of 25…`) in the workflow's thread; undefined when it could not. */
  batchStarted(replyTo: ReplyTo, info: { workflow: Workflow; documentPath: string; total: number }): Promise<ProgressHandle | undefined>;
  /** Edits the progress message. */
  batchProgress(handle: ProgressHandle, info: { workflow: Workflow; documentPath: string; done: number; total: number }): Promise<void>;
  /** The progress message of a run that was cut short (the app stopped): says so, since it will never count on. */
  batchInterrupted(handle: ProgressHandle, info: { workflow: WorkflowRef; documentPath: string }): Promise<void>;
  /** The summary: replaces the progress message when there is one, else a thread reply of its own. */
  batchFinished(replyTo: ReplyTo, handle: ProgressHandle | undefined, summary: BatchSummary): Promise<void>;
}

/** The hourly request budget of a project's Jira site, as the rate limiter counts it. */
export type JiraBudget = (settings: JiraSettings) => Promise<{ used: number; limit: number } | undefined>;
