/**
 * One entry per exported function of every module that builds Slack text (src/slack/blocks/*,
 * src/cards/render.ts, src/cards/card-changes.ts): how to call it with a hostile value `h` in every
 * field that comes from outside our code, and what kind of Slack surface it returns. A new export
 * without an entry fails the coverage test; add it here.
 *
 * Fields Slack or a schema has already validated before they reach a builder (the clicking user's
 * id, a modal's private_metadata) get the shapes those validators let through; everything else
 * (CR fields, paths, Jira answers, store records, typed text) gets `h` as is.
 */
import type { JiraIssue, Workflow } from '../../../src/publishing/model.ts';
import type { DocumentRow } from '../../../src/publishing/model.ts';
import type { StatusReport } from '../../../src/status/report.ts';
import type { AtlassianLink } from '../../../src/storage/types.ts';
import type { TaskPlan } from '../../../src/publishing/task-plan.ts';
import type { BatchItemResult, BatchSummary } from '../../../src/publishing/ports.ts';
import type { PlanTask } from '../../../src/publishing/tasks.ts';
import { errors } from '../../../src/errors.ts';
import * as account from '../../../src/slack/blocks/account.ts';
import * as batches from '../../../src/slack/blocks/batches.ts';
import * as documents from '../../../src/slack/blocks/documents.ts';
import * as help from '../../../src/slack/blocks/help.ts';
import * as publishAs from '../../../src/slack/blocks/publish-as.ts';
import * as replies from '../../../src/slack/blocks/replies.ts';
import * as settings from '../../../src/slack/blocks/settings.ts';
import * as status from '../../../src/slack/blocks/status.ts';
import * as text from '../../../src/slack/blocks/text.ts';
import * as render from '../../../src/cards/render.ts';
import * as cardChanges from '../../../src/cards/card-changes.ts';
import { prefix, TRUSTED, urlOf } from './mrkdwn-safety.ts';

/**
 * message: `{ text, blocks? }` sent with chat.postMessage/update, ephemeral or response_url;
 * view: a modal or App Home; blocks/block/element: parts of those; mrkdwn: a sentence a handler
 * sends as `text` or puts in a section; fragment: a mrkdwn piece of a longer text (its length is
 * the enclosing builder's business); line: a `{ verdict, text }` fragment of a section.
 */
export type SurfaceKind = 'message' | 'view' | 'blocks' | 'block' | 'element' | 'mrkdwn' | 'fragment' | 'line';

export interface Builder {
  kind: SurfaceKind;
  /** Every variant worth checking, built from the hostile value. */
  build: (h: string) => unknown[];
  /** False when no outside value can reach a mrkdwn field of this builder (so it need not echo one). */
  echoes?: false;
}

export type Coverage = Builder | { notASurface: string };

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const USER = { teamId: 'T0TEAM', userId: TRUSTED.userId };
const VTEAM_URL = 'https://vteam.example';

/** A workflow whose every field is hostile; `namedAs` keeps Kubernetes-valid names so buttons exist. */
function workflowOf(h: string, namedAs?: { namespace: string; name: string }): Workflow {
  return {
    namespace: namedAs?.namespace ?? h,
    name: namedAs?.name ?? h,
    title: h,
    description: h,
    branchName: h,
    umbrellaRepo: { url: urlOf(h), branch: h },
    parentOutcome: h,
    jiraLinks: [{ path: h, jiraKey: h }],
    resourceVersion: '1',
  };
}
const validWorkflow = (h: string) => workflowOf(h, { namespace: 'team-a', name: 'rfe-1' });

const rowsOf = (h: string): DocumentRow[] => [
  { path: h, phase: h },
  { path: `specs/${h}/spec.md`, phase: 'plan' },
  { path: prefix(h, 40), phase: 'tasks' },
  { path: h, phase: h, jiraKey: h, url: urlOf(h) },
  { path: 'specs/001/plan.md', phase: 'plan', jiraKey: 'PROJ-1', url: urlOf(h) },
];
const manyRowsOf = (h: string): DocumentRow[] => Array.from({ length: 120 }, (_, i) => ({ path: `${prefix(h, 20)}/${i}.md`, phase: h }));

const issueOf = (h: string): JiraIssue => ({ key: h, url: urlOf(h), summary: h, issueType: h });

const publishAsMetadataOf = (h: string) => ({
  namespace: 'team-a',
  name: 'rfe-1',
  path: prefix(h, 1024),
  channelId: TRUSTED.channelId,
  responseUrl: 'https://hooks.slack.com/actions/x',
  sourceEphemeral: true,
});
/** A project in a jira-config modal passed isProjectName first: at most 63 characters. */
const jiraConfigMetadataOf = (h: string) => ({ project: prefix(h, 63), channelId: TRUSTED.channelId });

const choicesOf = (h: string) => [h, prefix(h, 70), 'Story', ...Array.from({ length: 120 }, (_, i) => `${prefix(h, 10)} ${i}`)];

const jiraSettingsOf = (h: string) => ({
  siteUrl: urlOf(h),
  projectKey: h,
  issueTypes: { default: h, plan: h },
  source: 'runner-secret' as const,
  secretName: h,
});

const linkOf = (h: string, broken = false): AtlassianLink => ({
  accessToken: 'token',
  linkedAt: NOW,
  expiresAt: NOW + 3_600_000,
  scope: h,
  accountName: h,
  broken,
  sites: Array.from({ length: 5 }, (_, i) => ({ id: `${i}`, url: urlOf(h), name: h })),
});
const recentOf = (h: string) =>
  Array.from({ length: 10 }, () => ({ workflow: { namespace: h, name: h }, title: h, path: h, issue: { key: h, url: urlOf(h) }, at: NOW }));

const done = <T>(value: T) => ({ state: 'done' as const, value, ms: 3 });

function reportOf(h: string, probes: 'done' | 'failed' = 'done'): StatusReport {
  const failed = { state: 'failed' as const, reason: h, ms: 3 };
  const pick = <T>(value: T) => (probes === 'done' ? done(value) : failed);
  return {
    generatedAt: NOW,
    timeoutMs: 1500,
    mcp: pick({
      url: urlOf(h),
      mode: 'authenticated' as const,
      reachable: true,
      rttMs: 80,
      protocolVersion: h,
      dialect: 'rovo' as const,
      toolCount: 25,
      server: { name: h, version: h },
      createTool: h,
    }),
    link: pick({
      state: 'linked' as const,
      accountName: h,
      sites: linkOf(h).sites!,
      linkedAt: NOW,
      expiresAt: NOW + 60_000,
      refreshable: true,
      scope: h,
    }),
    limits: pick({ sites: [limitsSiteOf(h), limitsSiteOf(h)], note: h }),
    kubernetes: pick({
      rttMs: 5,
      rfeWorkflowsServed: false,
      permissions: { watchWorkflows: false, updateWorkflows: undefined, patchProjectSettings: true },
    }),
    store: pick({ rttMs: 1 }),
    failures: pick(failuresOf(h)),
    admin: { projects: pick(projectProblemsOf(h)), channels: pick(channelProblemsOf(h)) },
  };
}
const limitsSiteOf = (h: string) => ({
  site: urlOf(h),
  usedThisHour: 999,
  hourlyBudget: 1000,
  inFlight: 4,
  concurrency: 4,
  queued: 3,
  pausedUntil: NOW + 60_000,
  circuit: 'open' as const,
});
const failuresOf = (h: string) => Array.from({ length: 30 }, () => ({ code: h, message: h, at: NOW, workflow: h, path: h }));
const projectProblemsOf = (h: string) => Array.from({ length: 12 }, () => ({ namespace: h, channels: [h, TRUSTED.channelId], problem: h }));
const channelProblemsOf = (h: string) => Array.from({ length: 12 }, () => ({ channelId: h, error: h, at: NOW }));

const notASurface = (why: string) => ({ notASurface: why });

const taskOf = (h: string, i: number): PlanTask => ({
  id: `T${String(i).padStart(3, '0')}`,
  text: h,
  done: i % 6 === 0,
  phase: h,
  parallel: i % 2 === 0,
  stories: [h],
  line: i,
});
const tasksOf = (h: string, n = 40) => Array.from({ length: n }, (_, i) => taskOf(h, i + 1));

function taskPlanOf(h: string, variant: 'epic' | 'document' | 'none' | 'empty' | 'nothing-left', budget = true): TaskPlan {
  const tasks = variant === 'empty' ? [] : tasksOf(h);
  const toCreate = variant === 'nothing-left' ? [] : tasks.filter((t) => !t.done);
  return {
    workflow: workflowOf(h),
    settings: jiraSettingsOf(h),
    documentPath: h,
    toCreate,
    existing: variant === 'nothing-left' ? tasks.filter((t) => !t.done) : [],
    done: tasks.filter((t) => t.done),
    placement: { issueType: h, under: variant === 'document' ? 'document' : variant === 'none' ? 'none' : 'epic', parentKey: h },
    parentUrl: urlOf(h),
    publishesDocumentFirst: variant === 'document',
    requests: toCreate.length * 4,
    budget: budget ? { used: 990, limit: 1000 } : undefined,
  };
}

function batchSummaryOf(h: string, kind: 'documents' | 'tasks'): BatchSummary {
  const statuses: BatchItemResult['status'][] = ['created', 'found', 'existing', 'failed', 'needs-link'];
  const items: BatchItemResult[] = Array.from({ length: 120 }, (_, i) => ({
    path: h,
    taskId: kind === 'tasks' ? h : undefined,
    status: statuses[i % statuses.length]!,
    issue: issueOf(h),
    duplicate: issueOf(h),
    error: errors.jiraRejected(h),
  }));
  return { workflow: workflowOf(h), kind, documentPath: h, items, skippedDone: 5, elapsedMs: 12_345 };
}

export const FIXTURES: Record<string, Record<string, Coverage>> = {
  'src/slack/blocks/batches.ts': {
    publishAllButton: {
      kind: 'element',
      echoes: false,
      build: (h) => [batches.publishAllButton(workflowOf(h)), batches.publishAllButton(validWorkflow(h))],
    },
    createTaskIssuesButton: {
      kind: 'element',
      echoes: false,
      build: (h) => [batches.createTaskIssuesButton(workflowOf(h), h), batches.createTaskIssuesButton(validWorkflow(h), prefix(h, 40))],
    },
    taskIssuesLoadingView: { kind: 'view', build: (h) => [batches.taskIssuesLoadingView(publishAsMetadataOf(h))] },
    // Its text is mrkdwn by contract: callers escape the outside values in it.
    taskIssuesMessageView: { kind: 'view', build: (h) => [batches.taskIssuesMessageView(replies.errorMessage(h).text)] },
    taskIssuesConfirmView: {
      kind: 'view',
      build: (h) =>
        (['epic', 'document', 'none', 'empty', 'nothing-left'] as const).flatMap((variant) => [
          batches.taskIssuesConfirmView(taskPlanOf(h, variant), publishAsMetadataOf(h)),
          batches.taskIssuesConfirmView(taskPlanOf(h, variant, false), publishAsMetadataOf(h)),
        ]),
    },
    batchInterruptedMessage: { kind: 'message', build: (h) => [batches.batchInterruptedMessage({ documentPath: h })] },
    batchProgressMessage: { kind: 'message', build: (h) => [batches.batchProgressMessage({ documentPath: h, done: 12, total: 24 })] },
    batchSummaryMessage: {
      kind: 'message',
      build: (h) => [batches.batchSummaryMessage(batchSummaryOf(h, 'tasks')), batches.batchSummaryMessage(batchSummaryOf(h, 'documents'))],
    },
  },
  'src/slack/blocks/text.ts': {
    escapeMrkdwn: { kind: 'fragment', build: (h) => [text.escapeMrkdwn(h)] },
    link: {
      kind: 'fragment',
      build: (h) => [
        text.link(urlOf(h), h),
        text.link(h, h),
        text.link(undefined, h),
        text.link(`https://a.example/${'x'.repeat(2000)}`, h),
      ],
    },
    mention: { kind: 'fragment', build: (h) => [text.mention(h), text.mention(TRUSTED.userId)] },
    code: { kind: 'fragment', build: (h) => [text.code(h)] },
    codeBlock: { kind: 'fragment', build: (h) => [text.codeBlock(h)] },
    clipMrkdwn: {
      kind: 'mrkdwn',
      build: (h) => [
        text.clipMrkdwn(text.escapeMrkdwn(h), 100),
        text.clipMrkdwn(text.link(urlOf(h), h), 30),
        text.clipMrkdwn(`x${text.escapeMrkdwn(h)}`, 4),
      ],
    },
    mrkdwnText: { kind: 'block', build: (h) => [{ type: 'context', elements: [text.mrkdwnText(text.escapeMrkdwn(h).repeat(3))] }] },
    mrkdwnSection: { kind: 'block', build: (h) => [text.mrkdwnSection(text.escapeMrkdwn(h).repeat(3))] },
    clip: notASurface('plain text out: callers escape its result'),
    cut: notASurface('plain text out, for plain_text fields'),
  },
  'src/slack/blocks/documents.ts': {
    publishButton: {
      kind: 'element',
      echoes: false,
      build: (h) => [
        documents.publishButton(workflowOf(h), h),
        documents.publishButton(validWorkflow(h), h),
        documents.publishButton(validWorkflow(h), 'specs/a.md'),
      ],
    },
    updateButton: {
      kind: 'element',
      echoes: false,
      build: (h) => [
        documents.updateButton(workflowOf(h), h),
        documents.updateButton(validWorkflow(h), h),
        documents.updateButton(validWorkflow(h), 'specs/a.md'),
      ],
    },
    publishAsOverflow: {
      kind: 'element',
      echoes: false,
      build: (h) => [documents.publishAsOverflow(workflowOf(h), h), documents.publishAsOverflow(validWorkflow(h), prefix(h, 20))],
    },
    documentRowBlocks: {
      kind: 'blocks',
      build: (h) => [
        ...rowsOf(h).map((row) => documents.documentRowBlocks(workflowOf(h), row)),
        ...rowsOf(h).map((row) => documents.documentRowBlocks(validWorkflow(h), row)),
      ],
    },
    workflowHeader: {
      kind: 'block',
      build: (h) => [documents.workflowHeader(workflowOf(h), VTEAM_URL), documents.workflowHeader({ ...validWorkflow(h), title: '' })],
    },
    documentPicker: {
      kind: 'message',
      build: (h) => [
        documents.documentPicker(workflowOf(h), rowsOf(h), VTEAM_URL),
        documents.documentPicker(validWorkflow(h), manyRowsOf(h)),
        documents.documentPicker(validWorkflow(h), []),
      ],
    },
    workflowCard: {
      kind: 'message',
      build: (h) => [documents.workflowCard(workflowOf(h), rowsOf(h), VTEAM_URL), documents.workflowCard(validWorkflow(h), manyRowsOf(h))],
    },
    deletedWorkflowCard: {
      kind: 'message',
      build: (h) => [
        documents.deletedWorkflowCard({ namespace: h, name: h }, h),
        documents.deletedWorkflowCard({ namespace: h, name: h }, undefined),
      ],
    },
    alreadyLinkedMessage: {
      kind: 'message',
      build: (h) => [
        documents.alreadyLinkedMessage(workflowOf(h), h, issueOf(h)),
        documents.alreadyLinkedMessage(validWorkflow(h), prefix(h, 40), issueOf(h)),
        documents.alreadyLinkedMessage(workflowOf(h), h, issueOf(h), issueOf(h)),
      ],
    },
  },
  'src/slack/blocks/help.ts': {
    // Its preface is mrkdwn by contract: the caller escapes the unknown command, as vteam-command.ts does.
    helpMessage: {
      kind: 'message',
      build: (h) => [
        help.helpMessage(),
        help.helpMessage(`I don't know the command ${text.code(h)}.`, ['`/vteam list` · the bound projects']),
      ],
    },
  },
  'src/slack/blocks/publish-as.ts': {
    publishAsLoadingView: { kind: 'view', build: (h) => [publishAs.publishAsLoadingView(publishAsMetadataOf(h))] },
    // Its text is mrkdwn by contract: callers escape the outside values in it.
    publishAsMessageView: {
      kind: 'view',
      build: (h) => [
        publishAs.publishAsMessageView(replies.errorMessage(h).text),
        publishAs.publishAsMessageView(`${text.code(h)} is already published as ${text.link(urlOf(h), h)}`),
      ],
    },
    publishAsFormView: {
      kind: 'view',
      build: (h) => [
        publishAs.publishAsFormView({
          metadata: publishAsMetadataOf(h),
          workflowTitle: h,
          projectKey: h,
          choices: choicesOf(h),
          preselected: h,
          notices: [`Could not read the issue types of ${text.code(h)}`],
        }),
        publishAs.publishAsFormView({ metadata: publishAsMetadataOf(h), workflowTitle: h, projectKey: h, preselected: prefix(h, 70) }),
        publishAs.publishAsFormView({
          metadata: publishAsMetadataOf(h),
          workflowTitle: h,
          projectKey: h,
          choices: choicesOf(h),
          preselected: 'Story',
        }),
      ],
    },
    readIssueType: notASurface('reads view state'),
    validateIssueType: notASurface('validates typed input; its errors are our own sentences'),
  },
  'src/slack/blocks/replies.ts': {
    publishedReply: {
      kind: 'message',
      build: (h) => [
        replies.publishedReply(workflowOf(h), h, issueOf(h), USER, true),
        replies.publishedReply(workflowOf(h), h, issueOf(h), { teamId: 'T0TEAM', userId: h }, false),
      ],
    },
    updatedReply: {
      kind: 'message',
      build: (h) => [replies.updatedReply(h, issueOf(h), USER), replies.updatedReply(h, issueOf(h), { teamId: 'T0TEAM', userId: h })],
    },
    queuedMessage: {
      kind: 'message',
      build: (h) => [replies.queuedMessage(h, { retryAfterMs: 1500 }), replies.queuedMessage(h, { position: 3, retryAfterMs: 9000 })],
    },
    errorMessage: {
      kind: 'message',
      build: (h) => [replies.errorMessage(h), replies.errorMessage(`Jira rejected the issue: "${h}"; fix the value it names.`)],
    },
    linkPendingMessage: { kind: 'message', build: (h) => [replies.linkPendingMessage(h)] },
    pendingDroppedMessage: { kind: 'message', build: (h) => [replies.pendingDroppedMessage(h, 3_600_000)] },
    threadFallbackMessage: {
      kind: 'message',
      build: (h) => [
        replies.threadFallbackMessage(replies.publishedReply(workflowOf(h), h, issueOf(h), USER, false)),
        replies.threadFallbackMessage(replies.errorMessage(h)),
      ],
    },
  },
  'src/slack/blocks/settings.ts': {
    // Its argument is the sub-command's own name.
    usageText: { kind: 'mrkdwn', echoes: false, build: () => [settings.usageText('subscribe'), settings.usageText('jira-config')] },
    projectProblemText: {
      kind: 'mrkdwn',
      build: (h) => (['missing', 'unmanaged', 'no-settings'] as const).map((kind) => settings.projectProblemText(h, { kind })),
    },
    alreadyBoundText: { kind: 'mrkdwn', build: (h) => [settings.alreadyBoundText(h)] },
    notBoundText: { kind: 'mrkdwn', build: (h) => [settings.notBoundText(h)] },
    subscribedText: { kind: 'mrkdwn', build: (h) => [settings.subscribedText(h, TRUSTED.userId), settings.subscribedText(h, h)] },
    unsubscribedText: { kind: 'mrkdwn', build: (h) => [settings.unsubscribedText(h, TRUSTED.userId), settings.unsubscribedText(h, h)] },
    refusalReason: { kind: 'mrkdwn', build: (h) => refusalsOf(h).map((refusal) => settings.refusalReason(h, refusal)) },
    refusalText: {
      kind: 'mrkdwn',
      build: (h) =>
        refusalsOf(h).map((refusal) =>
          settings.refusalText(
            h,
            refusal,
            `kubectl annotate projectsettings projectsettings -n team-a 'vteam.ambient-code/jira-site=${h}'`,
            'apply these settings',
          ),
        ),
    },
    bindingListMessage: {
      kind: 'message',
      build: (h) => [
        settings.bindingListMessage([]),
        settings.bindingListMessage([
          { project: h, jira: jiraSettingsOf(h) },
          { project: h, jira: 'unreadable' },
          { project: h, jira: undefined },
        ]),
        settings.bindingListMessage(Array.from({ length: 30 }, () => ({ project: h, jira: jiraSettingsOf(h) }))),
      ],
    },
    jiraSavedText: {
      kind: 'mrkdwn',
      build: (h) => [settings.jiraSavedText(h, { siteUrl: urlOf(h), projectKey: h, issueTypes: { default: h, specify: h } })],
    },
    loadingView: { kind: 'view', build: (h) => [settings.loadingView(jiraConfigMetadataOf(h))] },
    // Its text is mrkdwn by contract: callers escape the outside values in it.
    messageView: {
      kind: 'view',
      build: (h) => [
        settings.messageView(jiraConfigMetadataOf(h), replies.errorMessage(h).text),
        settings.messageView(undefined, settings.refusalText(h, { reason: 'denied', clusterUser: h }, h)),
      ],
    },
    formView: {
      kind: 'view',
      build: (h) => [
        settings.formView({
          metadata: jiraConfigMetadataOf(h),
          current: { siteUrl: h, projectKey: h, issueTypes: { default: h, plan: h } },
          source: 'runner-secret',
          secretName: h,
          choices: choicesOf(h),
          canLoadTypes: true,
          notices: [`:lock: ${settings.refusalReason(h, { reason: 'unmappable', email: h })}`],
        }),
        settings.formView({ metadata: jiraConfigMetadataOf(h), current: { siteUrl: h, projectKey: h }, canLoadTypes: false }),
      ],
    },
  },
  'src/slack/blocks/status.ts': {
    jiraStatusMessage: {
      kind: 'message',
      build: (h) => [status.jiraStatusMessage(reportOf(h)), status.jiraStatusMessage(reportOf(h, 'failed'))],
    },
    mcpLine: {
      kind: 'line',
      build: (h) => [
        status.mcpLine({
          url: urlOf(h),
          mode: 'authenticated',
          reachable: true,
          protocolVersion: h,
          server: { name: h, version: h },
          createTool: h,
          dialect: 'rovo',
        }),
        status.mcpLine({ url: h, mode: 'unauthenticated', reachable: true, httpStatus: 404, note: h }),
        status.mcpLine({ url: h, mode: 'authenticated', reachable: true, tokenRejected: true }),
        // MCP Context Forge's own `detail` is an outside value.
        status.mcpLine({ url: h, mode: 'authenticated', reachable: true, httpStatus: 401, gateway: h, gatewayRefusal: h }),
      ],
    },
    linkLine: {
      kind: 'line',
      build: (h) => [
        status.linkLine(
          { state: 'linked', accountName: h, sites: linkOf(h).sites!, linkedAt: NOW, expiresAt: NOW - 1, refreshable: false, scope: h },
          NOW,
        ),
        status.linkLine({ state: 'broken', accountName: h, sites: [{ name: h, url: h }], refreshable: false }, NOW),
        status.linkLine({ state: 'linked', sites: [{ name: h, url: urlOf(h) }], refreshable: true, heldBy: h }, NOW),
        status.linkLine({ state: 'broken', sites: [], refreshable: false, heldBy: h, refusal: h }, NOW),
        status.linkLine({ state: 'missing', sites: [], refreshable: false, heldBy: h }, NOW),
      ],
    },
    limitsLine: {
      kind: 'line',
      build: (h) => [status.limitsLine({ sites: [limitsSiteOf(h)] }, NOW), status.limitsLine({ sites: [], note: h }, NOW)],
    },
    kubernetesLine: {
      kind: 'line',
      echoes: false,
      build: () => [
        status.kubernetesLine({
          rttMs: 1,
          rfeWorkflowsServed: undefined,
          permissions: { watchWorkflows: false, updateWorkflows: undefined, patchProjectSettings: true },
        }),
      ],
    },
    storeLine: { kind: 'line', echoes: false, build: () => [status.storeLine({ rttMs: 1 })] },
    failuresLine: { kind: 'line', build: (h) => [status.failuresLine(failuresOf(h), NOW)] },
    projectsLine: { kind: 'line', build: (h) => [status.projectsLine(projectProblemsOf(h))] },
    channelsLine: { kind: 'line', build: (h) => [status.channelsLine(channelProblemsOf(h))] },
    slackDate: { kind: 'fragment', echoes: false, build: () => [status.slackDate(NOW), status.slackDate(Number.NaN)] },
  },
  'src/slack/blocks/account.ts': {
    connectPrompt: {
      kind: 'message',
      build: (h) => [account.connectPrompt('missing', h), account.connectPrompt('broken', h), account.connectPrompt('asked')],
    },
    // The sign-in URL is our own OAuth redirect; only its state is random.
    signInLink: {
      kind: 'message',
      echoes: false,
      build: (h) => [
        account.signInLink(`https://auth.example/authorize?state=${encodeURIComponent(prefix(h, 40))}`, NOW + 600_000),
        account.signInLink(`https://auth.example/authorize?state=${encodeURIComponent(prefix(h, 40))}`, NOW + 600_000, 'contextforge'),
      ],
    },
    gatewayConnectedMessage: { kind: 'message', echoes: false, build: () => [account.gatewayConnectedMessage()] },
    // The team id comes from configuration, but is rendered like any outside value.
    gatewayDisconnectMessage: {
      kind: 'message',
      build: (h) => [account.gatewayDisconnectMessage(h), account.gatewayDisconnectMessage(undefined)],
    },
    connectedMessage: {
      kind: 'message',
      build: (h) => [account.connectedMessage(linkOf(h)), account.connectedMessage({ ...linkOf(h), sites: undefined })],
    },
    homeView: {
      kind: 'view',
      build: (h) => [
        account.homeView(undefined, recentOf(h)),
        account.homeView(linkOf(h), recentOf(h)),
        account.homeView(linkOf(h, true), []),
      ],
    },
  },
  'src/cards/render.ts': {
    renderCard: {
      kind: 'message',
      build: (h) => [render.renderCard(workflowOf(h), rowsOf(h), VTEAM_URL), render.renderCard(validWorkflow(h), manyRowsOf(h), undefined)],
    },
    renderDeletedCard: {
      kind: 'message',
      build: (h) => [
        render.renderDeletedCard({ namespace: h, name: h }, h),
        render.renderDeletedCard({ namespace: h, name: h }, undefined),
      ],
    },
    linkMap: notASurface('path → key map for the card store'),
  },
  'src/cards/card-changes.ts': {
    cardChanges: notASurface('computes what changed; changesReply renders it'),
    changesReply: {
      kind: 'message',
      build: (h) => [
        cardChanges.changesReply({
          newDocuments: [h, h],
          announced: [
            { path: h, key: h, url: urlOf(h) },
            { path: h, key: h },
          ],
          removed: [{ path: h, key: h }],
        }),
        cardChanges.changesReply({
          newDocuments: Array.from({ length: 40 }, () => h),
          announced: [],
          removed: Array.from({ length: 40 }, () => ({ path: h, key: h })),
        }),
      ],
    },
  },
};

function refusalsOf(h: string) {
  return [{ reason: 'no-email' as const }, { reason: 'unmappable' as const, email: h }, { reason: 'denied' as const, clusterUser: h }];
}

/**
 * Builders whose Block Kit limits are known to break with hostile lengths in a file owned elsewhere:
 * their injection checks run, their limit checks are listed as todo until the owner clips the values.
 */
export const KNOWN_LIMIT_GAPS: Record<string, string> = {};
