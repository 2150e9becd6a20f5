/**
 * Every failure a user can see has a code (for logs, metrics and tests) and one sentence that says
 * what to do. Detail for operators goes to the log through `cause`, never into `userMessage`.
 */
export type ErrorCode =
  | 'WORKFLOW_NOT_FOUND'
  | 'WORKFLOW_AMBIGUOUS'
  | 'DOCUMENT_NOT_FOUND'
  | 'PATH_OUTSIDE_WORKSPACE'
  | 'NOT_MARKDOWN'
  | 'NO_FEATURE_BRANCH'
  | 'DOCUMENT_SOURCE_FAILED'
  | 'CHANNEL_NOT_BOUND'
  | 'NOT_CONFIGURED'
  | 'NOT_LINKED'
  | 'AUTH_EXPIRED'
  | 'SITE_NOT_GRANTED'
  | 'JIRA_PERMISSION'
  | 'JIRA_REJECTED'
  | 'MCP_UNREACHABLE'
  | 'MCP_NO_CREATE_TOOL'
  | 'GATEWAY_ACCESS_DENIED'
  | 'GATEWAY_REFUSED'
  | 'ACCOUNT_NOT_OWN'
  | 'RATE_LIMITED'
  | 'RATE_BUDGET_EXHAUSTED'
  | 'PUBLISH_IN_PROGRESS'
  | 'PUBLISH_INTERRUPTED'
  | 'BATCH_IN_PROGRESS'
  | 'TASK_NOT_FOUND'
  | 'NOT_PUBLISHED'
  | 'KUBERNETES_UNAVAILABLE'
  | 'BAD_REQUEST'
  | 'INTERNAL';

export interface VteamErrorOptions {
  cause?: unknown;
  /** For RATE_LIMITED: how long the server asked us to wait. */
  retryAfterMs?: number;
  /** The request reached the server but we cannot tell whether it took effect (timeout, 5xx). */
  outcomeUnknown?: boolean;
}

export class VteamError extends Error {
  readonly code: ErrorCode;
  readonly userMessage: string;
  readonly retryAfterMs: number | undefined;
  readonly outcomeUnknown: boolean;

  constructor(code: ErrorCode, userMessage: string, options: VteamErrorOptions = {}) {
    super(`${code}: ${userMessage}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VteamError';
    this.code = code;
    this.userMessage = userMessage;
    this.retryAfterMs = options.retryAfterMs;
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }
}

export function isVteamError(error: unknown, code?: ErrorCode): error is VteamError {
  return error instanceof VteamError && (code === undefined || error.code === code);
}

/**
 * An outside value quoted in a sentence: one line, bounded, and unable to close its code span.
 * (Escaping for mrkdwn happens where the sentence is rendered.)
 */
const bt = (s: string) => '`' + quotable(s) + '`';

function quotable(value: string): string {
  const oneLine = value
    // eslint-disable-next-line no-control-regex -- control characters are what is being removed
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, ' ')
    .replace(/`/g, 'ʼ')
    .trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 119)}…` : oneLine;
}

/** The catalogue of user-facing errors: one place, so wording stays consistent and testable. */
export const errors = {
  workflowNotFound: (arg: string) =>
    new VteamError(
      'WORKFLOW_NOT_FOUND',
      `No RFE workflow matches ${bt(arg)} in the projects bound to this channel; use its name (${bt('rfe-1760000000')}), ${bt('<project>/<name>')} or the start of its title.`,
    ),
  workflowAmbiguous: (arg: string, candidates: string[]) =>
    new VteamError(
      'WORKFLOW_AMBIGUOUS',
      `${bt(arg)} matches several workflows (${candidates.slice(0, 5).map(bt).join(', ')}${candidates.length > 5 ? ', …' : ''}); use the workflow name or ${bt('<project>/<name>')} instead.`,
    ),
  documentNotFound: (path: string, workflow: string) =>
    new VteamError(
      'DOCUMENT_NOT_FOUND',
      `Document ${bt(path)} was not found in workflow ${bt(workflow)}; run ${bt(`/vteam publish ${workflow}`)} to see its documents.`,
    ),
  pathOutsideWorkspace: (path: string) =>
    new VteamError(
      'PATH_OUTSIDE_WORKSPACE',
      `The path ${bt(path)} is outside the workflow's workspace; give a path relative to the repository root, such as ${bt('specs/001-feature/spec.md')}.`,
    ),
  notMarkdown: (path: string) =>
    new VteamError(
      'NOT_MARKDOWN',
      `Only markdown documents can be published, and ${bt(path)} is not one; choose a ${bt('.md')} file such as ${bt('spec.md')}.`,
    ),
  noFeatureBranch: (workflow: string) =>
    new VteamError(
      'NO_FEATURE_BRANCH',
      `RFE workflow ${bt(workflow)} has no feature branch yet; seed its repository from vTeam first, then publish again.`,
    ),
  branchNotPushed: (workflow: string, branch: string) =>
    new VteamError(
      'NO_FEATURE_BRANCH',
      `The feature branch ${bt(branch)} of RFE workflow ${bt(workflow)} is not in its repository yet; seed it from vTeam (or push it), then publish again.`,
    ),
  documentSourceFailed: (workflow: string, cause: unknown) =>
    new VteamError(
      'DOCUMENT_SOURCE_FAILED',
      `Could not read the documents of ${bt(workflow)} from its repository; check that the repository exists and that the project's ${bt('GIT_TOKEN')} (or the bot's ${bt('GITHUB_TOKEN')}) can read it.`,
      { cause },
    ),
  repoHostNotAllowed: (workflow: string, host: string) =>
    new VteamError(
      'DOCUMENT_SOURCE_FAILED',
      `The repository of ${bt(workflow)} is on ${bt(host)}, a host this bot does not send credentials to; ask your vTeam admin to add it to ${bt('GITHUB_ALLOWED_HOSTS')} if it is your GitHub Enterprise, or fix the workflow's repository URL.`,
    ),
  channelNotBound: (project: string | undefined, channelId: string) =>
    project === undefined
      ? new VteamError(
          'CHANNEL_NOT_BOUND',
          `This channel is not bound to any vTeam project; a project admin can bind it with ${bt(bindCommand('<project>', channelId))}.`,
        )
      : new VteamError(
          'CHANNEL_NOT_BOUND',
          `This channel is not bound to project ${bt(project)}; a project admin can bind it with ${bt(bindCommand(project, channelId))}.`,
        ),
  notConfigured: (project: string, secretName: string) =>
    new VteamError(
      'NOT_CONFIGURED',
      `Jira integration not configured. Set ${bt('JIRA_URL')} and ${bt('JIRA_PROJECT')} in the Secret ${bt(secretName)} of project ${bt(project)}, or ask a project admin to run ${bt(`/vteam jira-config ${project}`)}.`,
    ),
  notLinked: () =>
    new VteamError('NOT_LINKED', `Your Atlassian account is not linked yet; run ${bt('/vteam connect')} to link it, then publish again.`),
  authExpired: (cause?: unknown) =>
    new VteamError('AUTH_EXPIRED', `Jira authentication expired. Please re-authenticate with ${bt('/vteam connect')} and publish again.`, {
      cause,
    }),
  siteNotGranted: (site: string) =>
    new VteamError(
      'SITE_NOT_GRANTED',
      `Your Atlassian account has not granted access to ${site}; run ${bt('/vteam connect')} and choose that site when Atlassian asks.`,
    ),
  siteLookupFailed: (cause?: unknown) =>
    new VteamError(
      'MCP_UNREACHABLE',
      'Could not read which Atlassian sites your account can reach right now; please publish again in a minute.',
      { cause },
    ),
  jiraPermission: (projectKey: string, jiraMessage: string) =>
    new VteamError(
      'JIRA_PERMISSION',
      `Jira says you may not create issues in project ${bt(projectKey)} ("${clip(jiraMessage, 300)}"); ask a Jira admin of ${bt(projectKey)} for the Create Issues permission.`,
    ),
  jiraRejected: (jiraMessage: string) =>
    new VteamError(
      'JIRA_REJECTED',
      `Jira rejected the issue: "${clip(jiraMessage, 500)}"; fix the value it names (in the project's Jira settings or with ${bt('--type')}) and publish again.`,
    ),
  mcpUnreachable: (cause?: unknown, outcomeUnknown = false) =>
    new VteamError('MCP_UNREACHABLE', 'Unable to connect to Jira integration service. Please try again later.', { cause, outcomeUnknown }),
  mcpNoCreateTool: (what = 'create Jira issues') =>
    new VteamError(
      'MCP_NO_CREATE_TOOL',
      `The Atlassian MCP server offers no tool to ${what} for your account; ask your Atlassian admin to enable Jira in the Rovo MCP server, then try again.`,
    ),
  gatewayAccessDenied: (teamId: string | undefined) =>
    new VteamError(
      'GATEWAY_ACCESS_DENIED',
      teamId === undefined
        ? `MCP Context Forge does not let your account run this server's Atlassian tools; ask your vTeam admin to set ${bt('CONTEXTFORGE_TEAM_ID')} to the MCF team that owns the server and your MCF admin to add you to that team, then publish again.`
        : `MCP Context Forge does not let your account run this server's Atlassian tools; ask your MCF admin to add you to the team ${bt(teamId)} (Admin UI → Teams), then publish again.`,
    ),
  accountNotOwn: (signedInAs: string | undefined) =>
    new VteamError(
      'ACCOUNT_NOT_OWN',
      signedInAs === undefined
        ? 'The bot could not check that the Atlassian account MCP Context Forge holds for you has your Slack email, so it will not publish with it; press Connect Atlassian account to try again, or ask your vTeam admin about ATLASSIAN_LINK_EMAIL_MATCH if it keeps failing.'
        : `The Atlassian account MCP Context Forge holds for you (${bt(signedInAs)}) is not the one with your Slack email, so the bot will not publish with it; press Connect Atlassian account and sign in with your own account.`,
    ),
  gatewayUnknownUser: (cause?: unknown) =>
    new VteamError(
      'GATEWAY_REFUSED',
      "MCP Context Forge has no user with the email of your Slack profile; ask your MCF admin to create one (and add it to the Atlassian server's team), then publish again.",
      { cause },
    ),
  gatewayNoEmail: () =>
    new VteamError(
      'GATEWAY_REFUSED',
      `Slack shows no email for your account, so the bot cannot tell MCP Context Forge who you are; ask your vTeam admin to grant the bot ${bt('users:read.email')} (or add an email to your Slack profile), then publish again.`,
    ),
  gatewayMisconfigured: (cause?: unknown) =>
    new VteamError(
      'GATEWAY_REFUSED',
      `MCP Context Forge refused the bot's credentials, a setup problem only your vTeam admin can fix (${bt('/vteam jira-status')} shows what to change); please publish again once it is fixed.`,
      { cause },
    ),
  rateLimited: (retryAfterMs: number, cause?: unknown) =>
    new VteamError(
      'RATE_LIMITED',
      `Jira is rate limiting requests and the wait is too long; please publish again in about ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`,
      { retryAfterMs, cause },
    ),
  budgetExhausted: (site: string, resumesInMs: number) =>
    new VteamError(
      'RATE_BUDGET_EXHAUSTED',
      `The bot has used this hour's Jira request budget for ${site}; publishing resumes in about ${Math.max(1, Math.ceil(resumesInMs / 60_000))} min, so please try again then.`,
      { retryAfterMs: resumesInMs },
    ),
  publishInProgress: (path: string) =>
    new VteamError(
      'PUBLISH_IN_PROGRESS',
      `${bt(path)} is already being published; the issue link will appear in the workflow's thread in a moment.`,
    ),
  batchInProgress: (what: string) =>
    new VteamError(
      'BATCH_IN_PROGRESS',
      `${what} is already under way; its progress is in the workflow's thread, and running it again afterwards creates only what is missing.`,
    ),
  parentNotCreated: (parentPath: string, reason: string) =>
    new VteamError(
      'JIRA_REJECTED',
      `Not created, because its parent, the issue of ${bt(parentPath)}, could not be: ${reason.replace(/[.\s]+$/, '')}. Fix that and run it again.`,
    ),
  taskNotFound: (taskId: string, path: string) =>
    new VteamError(
      'TASK_NOT_FOUND',
      `Task ${bt(taskId)} is no longer in ${bt(path)}, so it gets no issue; run *Create issues from tasks* again to work from the current list.`,
    ),
  publishInterrupted: (path: string, cause?: unknown) =>
    new VteamError(
      'PUBLISH_INTERRUPTED',
      `Publishing ${bt(path)} was interrupted because the bot lost contact with its shared store; press Publish again: it links the issue if one was created, and never makes a second.`,
      { cause },
    ),
  notPublished: (path: string) =>
    new VteamError(
      'NOT_PUBLISHED',
      `An interrupted publish of ${bt(path)} did not reach Jira, so it has no issue yet; press Publish again to create it.`,
    ),
  kubernetesUnavailable: (cause: unknown) =>
    new VteamError('KUBERNETES_UNAVAILABLE', 'The vTeam cluster cannot be reached right now; please try again in a minute.', { cause }),
  badRequest: (message: string) => new VteamError('BAD_REQUEST', message),
  internal: (cause: unknown) =>
    new VteamError('INTERNAL', 'Something went wrong on our side; please try again, and tell your vTeam admin if it keeps happening.', {
      cause,
    }),
};

export function bindCommand(project: string, channelId: string): string {
  return `kubectl annotate projectsettings projectsettings -n ${project} vteam.ambient-code/slack-channels=${channelId} --overwrite`;
}

function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** Anything thrown that is not a VteamError becomes INTERNAL, keeping the original as cause. */
export function toVteamError(error: unknown): VteamError {
  return error instanceof VteamError ? error : errors.internal(error);
}

/**
 * How loudly to log a failure: INTERNAL (a bug of ours) is an error; anything else is the user's or a
 * dependency's doing, logged at `otherwise` (default info). `alsoErrors`: codes a caller counts as errors too.
 */
export function logLevelOf(
  failure: Pick<VteamError, 'code'>,
  options: { otherwise?: 'info' | 'warn'; alsoErrors?: readonly ErrorCode[] } = {},
): 'error' | 'info' | 'warn' {
  if (failure.code === 'INTERNAL' || options.alsoErrors?.includes(failure.code) === true) return 'error';
  return options.otherwise ?? 'info';
}
