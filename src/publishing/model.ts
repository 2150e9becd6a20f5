/** Domain types of the publishing use case. No Slack, HTTP or Kubernetes types here. */

/** Who acts: a Slack user, qualified by workspace and (on Enterprise Grid) organisation. */
export interface SlackUserRef {
  teamId: string;
  enterpriseId?: string | undefined;
  userId: string;
}

/*
 * The two keys of a person. On Enterprise Grid the same user spans workspaces, so both prefer the
 * organisation to the workspace. They differ in format only, and each format is load-bearing: keep both.
 */

/**
 * Key of a user's stored records (Atlassian link, pending and recent publishes):
 * `enterprise/E1/U1`, or `team/T1/U1` outside Enterprise Grid. Persisted: never change its output.
 */
export function userKey(user: SlackUserRef): string {
  return user.enterpriseId ? `enterprise/${user.enterpriseId}/${user.userId}` : `team/${user.teamId}/${user.userId}`;
}

/**
 * In-memory key of a person on the Atlassian side (MCP session, site lists, rate-limiter lane; logged
 * as `session`): `E1:U1`, or `T1:U1` outside Enterprise Grid.
 */
export function sessionKey(user: SlackUserRef): string {
  return `${user.enterpriseId ?? user.teamId}:${user.userId}`;
}

/**
 * Where a result goes: opaque to the use case, defined and interpreted by the surface that asked
 * (Slack channel, thread, response URL…). Stored in the journal so a recovered publish can still answer.
 */
export type ReplyTo = Record<string, string | boolean | undefined>;

/** One request to publish (or update) one document, as plain data from whichever surface asked. */
export interface PublishRequest {
  user: SlackUserRef;
  /** The channel the request came from: the only source of authorization. */
  channelId: string;
  workflow: WorkflowRef;
  path: string;
  issueType?: string | undefined;
  /**
   * Placed in the workflow's Jira hierarchy (Publish all): the spec becomes the parent issue (an Epic
   * by default), the other documents its children. A single publish keeps the flat placement.
   * Task issues (`<tasks-path>#<task ID>`) are always placed in it.
   */
  hierarchy?: boolean | undefined;
  replyTo: ReplyTo;
}

export interface WorkflowRef {
  /** The vTeam project, i.e. the Kubernetes namespace. */
  namespace: string;
  /** The RFEWorkflow's metadata.name, e.g. rfe-1760000000. */
  name: string;
}

export interface JiraLink {
  path: string;
  jiraKey: string;
}

export interface RepoRef {
  url: string;
  branch: string;
}

export interface Workflow extends WorkflowRef {
  title: string;
  description: string;
  /** Feature branch holding the documents (final vTeam layout); absent on the older layout. */
  branchName?: string | undefined;
  umbrellaRepo?: RepoRef | undefined;
  parentOutcome?: string | undefined;
  jiraLinks: JiraLink[];
  /** Publishes that may have reached Jira but are not linked yet (see PublishIntent). */
  inFlight?: PublishIntent[] | undefined;
  resourceVersion: string;
}

/**
 * "An issue may exist for this document": written on the workflow itself before the create is sent
 * and removed with the link, so the evidence survives losing the shared store. While it is there, no
 * worker creates before searching Jira for the document's label.
 */
export interface PublishIntent {
  path: string;
  /** Epoch ms when the create was about to be sent. */
  since: number;
  /** The lease token of the worker that wrote it (who was fenced in, for operators). */
  fence: string;
  /** Whose account creates the issue: recovery searches and reports as this user. */
  user: SlackUserRef;
  /** Where to report, without URLs: response_url is not written to the cluster. */
  replyTo: ReplyTo;
}

/** The result of recording a link: `existingKey` when the path already links another issue (kept). */
export interface LinkOutcome {
  workflow: Workflow;
  existingKey?: string | undefined;
}

export type Phase = 'specify' | 'plan' | 'tasks' | (string & {});

export interface WorkflowDocument {
  /** Workspace/repository-relative path, exactly as the vTeam UI computes it (e.g. specs/001-x/spec.md). */
  path: string;
  phase: Phase;
}

/** A document as cards and pickers show it: with its Jira key and URL once published. */
export interface DocumentRow extends WorkflowDocument {
  jiraKey?: string | undefined;
  url?: string | undefined;
}

export interface DocumentContent extends WorkflowDocument {
  markdown: string;
  /** Browser link to the document's source (GitHub blob URL, or vTeam UI). */
  sourceUrl: string;
}

export interface JiraSettings {
  /** Site base URL, e.g. https://acme.atlassian.net (no trailing slash). */
  siteUrl: string;
  projectKey: string;
  /** Issue type per phase; `default` applies to phases without their own entry. */
  issueTypes: { default: string } & Partial<Record<string, string>>;
  /** Where the settings came from, to name the right fix in errors. */
  source: 'annotations' | 'runner-secret';
  /** Name of the Secret consulted (for error messages). */
  secretName: string;
}

export interface CreateIssueRequest {
  siteUrl: string;
  projectKey: string;
  issueType: string;
  summary: string;
  /** Markdown; the MCP server converts it for Jira. */
  description: string;
  parentKey?: string | undefined;
  labels: string[];
}

export interface JiraIssue {
  key: string;
  /** Browser URL, <site>/browse/<key>. */
  url: string;
  summary: string;
  issueType: string;
}

export interface UpdateIssueRequest {
  siteUrl: string;
  issueKey: string;
  summary: string;
  description: string;
}

export interface FindIssueRequest {
  siteUrl: string;
  projectKey: string;
  label: string;
}
