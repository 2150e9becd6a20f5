/**
 * What the publishing use case needs from the outside world. Adapters implement these:
 * vteam/ (Kubernetes, GitHub, content service), atlassian/ (MCP), storage/, slack/.
 */
import type { VteamError } from '../errors.ts';
import type {
  CreateIssueRequest, DocumentContent, FindIssueRequest, JiraIssue, JiraLink, JiraSettings,
  SlackUserRef, UpdateIssueRequest, Workflow, WorkflowDocument, WorkflowRef,
} from './model.ts';

export interface WorkflowRepository {
  get(ref: WorkflowRef): Promise<Workflow | undefined>;
  /** Every RFEWorkflow in the given namespaces (for name and title-prefix resolution). */
  list(namespaces: readonly string[]): Promise<Workflow[]>;
  /**
   * Upsert {path, jiraKey} by exact path into spec.jiraLinks, keeping every other entry and field.
   * Optimistic concurrency: on 409 re-read and re-apply; never a blind replace of the list.
   */
  upsertJiraLink(ref: WorkflowRef, link: JiraLink): Promise<Workflow>;
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

/**
 * Where a result goes: opaque to the use case, defined and interpreted by the surface that asked
 * (Slack channel, thread, response URL…). Stored in the journal so a recovered publish can still answer.
 */
export type ReplyTo = Record<string, string | boolean | undefined>;

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
  queued(replyTo: ReplyTo, info: { workflow: Workflow; path: string; retryAfterMs?: number | undefined; position?: number | undefined }): Promise<void>;
  published(replyTo: ReplyTo, event: PublishedEvent): Promise<void>;
  alreadyLinked(replyTo: ReplyTo, info: { workflow: Workflow; path: string; issue: JiraIssue }): Promise<void>;
  updated(replyTo: ReplyTo, info: { workflow: Workflow; path: string; issue: JiraIssue; user: SlackUserRef }): Promise<void>;
  failed(replyTo: ReplyTo, error: VteamError): Promise<void>;
  /** The user must (re)connect Atlassian first; the publish waits and resumes after the callback. */
  needsLink(replyTo: ReplyTo, info: { user: SlackUserRef; path: string; reason: 'missing' | 'broken' }): Promise<void>;
  /** A waiting publish was not resumed because connecting took too long. */
  pendingDropped(replyTo: ReplyTo, info: { path: string; maxAgeMs: number }): Promise<void>;
}
