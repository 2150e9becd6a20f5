import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { errors, isVteamError, toVteamError, type VteamError } from '../errors.ts';
import type { KeyValueStore, LockService } from '../storage/types.ts';
import { phaseOf, validateDocumentPath } from '../vteam/paths.ts';
import {
  BOT_LABEL, chooseIssueType, documentId, idempotencyLabel, issueDescription, issueSummary, parentKey,
} from './issue-content.ts';
import { createJournal, type JournalEntry } from './journal.ts';
import { linkedIssueRefusal } from './linked-issue-guard.ts';
import type { JiraIssue, JiraSettings, SlackUserRef, Workflow, WorkflowDocument, WorkflowRef } from './model.ts';
import type {
  AccountLinks, DocumentSource, JiraCallOptions, JiraGateway, ProjectDirectory, PublishNotifier, ReplyTo, WorkflowRepository,
} from './ports.ts';
import { qualifiedName, resolveWorkflow } from './resolve-workflow.ts';
import type { PendingPublishes, PublishHistory } from './user-records.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface PublishServiceDeps {
  workflows: WorkflowRepository;
  projects: ProjectDirectory;
  documents: DocumentSource;
  jira: JiraGateway;
  links: AccountLinks;
  store: KeyValueStore;
  locks: LockService;
  notifier: PublishNotifier;
  pending: PendingPublishes;
  history: PublishHistory;
  metrics?: Pick<Metrics, 'publishes' | 'publishDuration'> | undefined;
  /** Recent failures by cause, for /vteam jira-status. */
  failures?: { record(failure: { code: string; message: string; at: number; workflow?: string; path?: string; user?: string }): Promise<void> } | undefined;
  logger: Logger;
  options: { leaseMs: number; rateLimitMaxWaitMs: number };
}

export interface PublishRequest {
  user: SlackUserRef;
  /** The channel the request came from: the only source of authorization. */
  channelId: string;
  workflow: WorkflowRef;
  path: string;
  issueType?: string | undefined;
  replyTo: ReplyTo;
}

export interface DocumentRow extends WorkflowDocument {
  jiraKey?: string | undefined;
  url?: string | undefined;
}

/**
 * The publishing use case. Knows nothing of Slack or HTTP: requests come in as plain data, results
 * leave through the PublishNotifier port. Exactly-once rests on three things: a per-document lease
 * (one worker at a time across replicas), the CR's jiraLinks (the source of truth for "already
 * published"), and a journal plus an idempotency label on the issue (recovery after a crash).
 */
export function createPublishService(deps: PublishServiceDeps) {
  const { workflows, projects, documents, jira, links, locks, pending, history, logger, options } = deps;
  const notifier = countingNotifier(deps.notifier, deps.metrics);
  const journal = createJournal(deps.store);

  /** A click or command may only act on a project that binds the channel it came from. */
  async function authorize(channelId: string, ref: WorkflowRef): Promise<Workflow> {
    if (!(await projects.isBound(ref.namespace, channelId))) {
      logger.warn({ channelId, namespace: ref.namespace, workflow: ref.name }, 'refused: channel is not bound to the project');
      throw errors.channelNotBound(ref.namespace, channelId);
    }
    const workflow = await workflows.get(ref);
    if (!workflow) throw errors.workflowNotFound(qualifiedName(ref));
    return workflow;
  }

  /** `/vteam publish <workflow>`: a CR name, `<project>/<name>`, or a title prefix, within bound projects. */
  async function resolve(channelId: string, argument: string): Promise<Workflow> {
    const qualified = /^([^/\s]+)\/([^/\s]+)$/.exec(argument.trim());
    if (qualified) return authorize(channelId, { namespace: qualified[1]!, name: qualified[2]! });
    const bound = await projects.projectsBoundTo(channelId);
    if (bound.length === 0) throw errors.channelNotBound(undefined, channelId);
    // The common case, a CR name, is a GET per bound project rather than a LIST of every workflow.
    if (/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(argument.trim())) {
      const found = (await Promise.all(bound.map((namespace) => workflows.get({ namespace, name: argument.trim() }))))
        .filter((w): w is Workflow => w !== undefined);
      if (found.length === 1) return found[0]!;
    }
    return resolveWorkflow(argument, await workflows.list(bound));
  }

  async function requireSettings(namespace: string): Promise<JiraSettings> {
    const { settings, secretName } = await projects.jiraSettings(namespace);
    if (!settings) throw errors.notConfigured(namespace, secretName);
    return settings;
  }

  async function existingIssue(workflow: Workflow, path: string, settings?: JiraSettings): Promise<JiraIssue | undefined> {
    const link = workflow.jiraLinks.find((l) => l.path === path);
    if (!link) return undefined;
    const site = settings ?? (await projects.jiraSettings(workflow.namespace)).settings;
    return {
      key: link.jiraKey,
      url: site ? jira.browseUrl(site.siteUrl, link.jiraKey) : '',
      summary: issueSummary(workflow, phaseOf(path)),
      issueType: '',
    };
  }

  /**
   * The workflow's documents with their link state (Jira key and URL when published).
   * `branchMayBeMissing` (cards, pickers): a workflow whose branch is not seeded yet has no documents
   * yet, rather than failing; they appear once it is.
   */
  async function rowsOf(workflow: Workflow, options: { branchMayBeMissing?: boolean } = {}): Promise<DocumentRow[]> {
    const [docs, { settings }] = await Promise.all([
      documents.list(workflow).catch((error: unknown) => {
        if (options.branchMayBeMissing && isVteamError(error, 'NO_FEATURE_BRANCH')) return [];
        throw error;
      }),
      projects.jiraSettings(workflow.namespace),
    ]);
    // Links made for paths the listing does not show (renamed files, other layouts) stay visible.
    const listed = new Set(docs.map((d) => d.path));
    const extra = workflow.jiraLinks.filter((l) => !listed.has(l.path)).map((l) => ({ path: l.path, phase: phaseOf(l.path) }));
    return [...docs, ...extra].map((doc) => {
      const link = workflow.jiraLinks.find((l) => l.path === doc.path);
      return { ...doc, jiraKey: link?.jiraKey, url: link && settings ? jira.browseUrl(settings.siteUrl, link.jiraKey) : undefined };
    });
  }

  /** `/vteam publish <workflow>` without a path: the picker's content. */
  async function documentsOf(channelId: string, workflowArgument: string): Promise<{ workflow: Workflow; rows: DocumentRow[] }> {
    const workflow = await resolve(channelId, workflowArgument);
    return { workflow, rows: await rowsOf(workflow) };
  }

  /**
   * Runs `call`, waiting out Jira's 429s (the user is told) until the configured budget is spent.
   * Safe for creates too: a 429 means the server did not process the request.
   */
  async function withRateLimitWaits<T>(replyTo: ReplyTo, workflow: Workflow, path: string, call: (options: JiraCallOptions) => Promise<T>): Promise<T> {
    let waited = 0;
    // Told once per position change at most, so a long queue is not a stream of messages.
    let toldPosition: number | undefined;
    const callOptions: JiraCallOptions = {
      onQueued: ({ position, etaMs }) => {
        if (toldPosition !== undefined && position >= toldPosition) return;
        if (toldPosition !== undefined && position > 1) return;
        toldPosition = position;
        notifier.queued(replyTo, { workflow, path, position, retryAfterMs: etaMs }).catch((e: unknown) => logger.warn({ err: e }, 'could not tell the user they are queued'));
      },
    };
    for (;;) {
      try {
        return await call(callOptions);
      } catch (error) {
        if (!isVteamError(error, 'RATE_LIMITED')) throw error;
        const retryAfterMs = Math.max(1000, error.retryAfterMs ?? 1000);
        if (waited + retryAfterMs > options.rateLimitMaxWaitMs) throw error;
        waited += retryAfterMs;
        logger.info({ workflow: qualifiedName(workflow), path, retryAfterMs }, 'rate limited by Jira; waiting');
        await notifier.queued(replyTo, { workflow, path, retryAfterMs }).catch((e: unknown) => logger.warn({ err: e }, 'could not tell the user they are queued'));
        await sleep(retryAfterMs);
      }
    }
  }

  /**
   * The part that must run under the document's lease: find or create the issue, then link it.
   * `entry` is the journal record of an earlier, interrupted attempt, if any.
   */
  async function createAndLink(request: PublishRequest, settings: JiraSettings, entry: JournalEntry | undefined, recovered: boolean): Promise<void> {
    const { user, replyTo, path } = request;
    let workflow = await workflows.get(request.workflow);
    if (!workflow) throw errors.workflowNotFound(qualifiedName(request.workflow));

    const linked = await existingIssue(workflow, path, settings);
    if (linked) {
      if (entry) await journal.remove(workflow, path);
      await notifier.alreadyLinked(replyTo, { workflow, path, issue: linked });
      return;
    }

    const label = idempotencyLabel(workflow, path);
    let issue = entry?.state === 'created' ? entry.issue : undefined;
    let created = false;
    if (!issue && entry) {
      // An earlier attempt may have created the issue before it died: look before creating.
      issue = await withRateLimitWaits(replyTo, workflow, path, (callOptions) =>
        jira.findIssueByLabel(user, { siteUrl: settings.siteUrl, projectKey: settings.projectKey, label }, callOptions));
      if (!issue && entry.state === 'uncertain') {
        // The user was told it failed; without evidence of an issue there is nothing to finish.
        await journal.remove(workflow, path);
        logger.info({ workflow: qualifiedName(workflow), path }, 'uncertain publish left no issue; journal cleared');
        return;
      }
    }

    if (!issue) {
      const document = await documents.read(workflow, path);
      const issueType = chooseIssueType(settings, document.phase, request.issueType);
      await journal.put({ state: 'creating', workflow: ref(workflow), path, label, user, issueType: request.issueType, replyTo });
      try {
        const current = workflow;
        issue = await withRateLimitWaits(replyTo, workflow, path, (callOptions) => jira.createIssue(user, {
          siteUrl: settings.siteUrl,
          projectKey: settings.projectKey,
          issueType,
          summary: issueSummary(current, document.phase),
          description: issueDescription(document),
          parentKey: parentKey(current),
          labels: [BOT_LABEL, label],
        }, callOptions));
        created = true;
      } catch (error) {
        if (isVteamError(error) && error.outcomeUnknown) {
          await journal.put({ state: 'uncertain', workflow: ref(workflow), path, label, user, issueType: request.issueType, replyTo });
        } else {
          await journal.remove(workflow, path);
        }
        throw error;
      }
    }

    await journal.put({ state: 'created', workflow: ref(workflow), path, label, user, issueType: request.issueType, replyTo, issue });
    workflow = await workflows.upsertJiraLink(workflow, { path, jiraKey: issue.key });
    await journal.remove(workflow, path);
    logger.info({ workflow: qualifiedName(workflow), path, jiraKey: issue.key, created, recovered }, 'published');
    await history.add(user, { workflow: ref(workflow), title: workflow.title, path, issue: { key: issue.key, url: issue.url }, at: Date.now() })
      .catch((error: unknown) => logger.warn({ err: error }, 'could not record the publish in the user history'));
    await notifier.published(replyTo, { workflow, path, issue, user, created, recovered });
  }

  async function underLease(request: PublishRequest, work: () => Promise<void>): Promise<boolean> {
    const lease = `publish:${request.workflow.namespace}/${request.workflow.name}:${documentId(request.workflow, request.path)}`;
    const result = await locks.withLock(lease, options.leaseMs, work);
    return result.acquired;
  }

  async function report(replyTo: ReplyTo, error: unknown, context: Record<string, unknown>): Promise<void> {
    const failure: VteamError = toVteamError(error);
    const level = failure.code === 'INTERNAL' || failure.code === 'KUBERNETES_UNAVAILABLE' || failure.code === 'MCP_UNREACHABLE' ? 'error' : 'info';
    logger[level]({ ...context, code: failure.code, err: failure.cause ?? (failure.code === 'INTERNAL' ? error : undefined) }, 'publish failed');
    await deps.failures?.record({
      code: failure.code, message: failure.userMessage, at: Date.now(),
      workflow: typeof context.workflow === 'string' ? context.workflow : undefined,
      path: typeof context.path === 'string' ? context.path : undefined,
      user: typeof context.user === 'string' ? context.user : undefined,
    }).catch(() => undefined);
    await notifier.failed(replyTo, failure).catch((e: unknown) => logger.error({ err: e }, 'could not report a failure to the user'));
  }

  /** Publish one document. Never throws: every outcome reaches the notifier. */
  async function publish(request: PublishRequest): Promise<void> {
    const stopTimer = deps.metrics?.publishDuration.startTimer();
    try {
      await publishOnce(request);
    } finally {
      stopTimer?.();
    }
  }

  async function publishOnce(request: PublishRequest): Promise<void> {
    const context = { workflow: qualifiedName(request.workflow), path: request.path, user: request.user.userId };
    try {
      const path = validateDocumentPath(request.path);
      const req = { ...request, path };
      const workflow = await authorize(request.channelId, request.workflow);
      const settings = await requireSettings(workflow.namespace);
      const linked = await existingIssue(workflow, path, settings);
      if (linked) {
        await notifier.alreadyLinked(request.replyTo, { workflow, path, issue: linked });
        return;
      }
      const linkState = await links.state(request.user);
      if (linkState !== 'linked') {
        await waitForLink(req, linkState);
        return;
      }
      const ran = await underLease(req, async () => {
        await createAndLink(req, settings, await journal.get(workflow, path), false);
      });
      if (!ran) throw errors.publishInProgress(path);
    } catch (error) {
      if (isVteamError(error, 'AUTH_EXPIRED')) {
        await waitForLink({ ...request }, 'broken').catch((e: unknown) => report(request.replyTo, e, context));
        return;
      }
      await report(request.replyTo, error, context);
    }
  }

  /** Park the publish and ask the user to (re)connect; `resumeAfterLink` picks it up. */
  async function waitForLink(request: PublishRequest, reason: 'missing' | 'broken'): Promise<void> {
    await pending.save(request);
    logger.info({ workflow: qualifiedName(request.workflow), path: request.path, user: request.user.userId, reason }, 'publish waits for the user to connect Atlassian');
    await notifier.needsLink(request.replyTo, { user: request.user, path: request.path, reason });
  }

  /** After a successful OAuth callback: finish the publish that was waiting for it, if any. */
  async function resumeAfterLink(user: SlackUserRef): Promise<void> {
    const waiting = await pending.take(user);
    if (!waiting) return;
    if (!waiting.fresh) {
      await notifier.pendingDropped(waiting.request.replyTo, { path: waiting.request.path, maxAgeMs: pending.maxAgeMs });
      return;
    }
    logger.info({ workflow: qualifiedName(waiting.request.workflow), path: waiting.request.path }, 'resuming a publish after the user connected');
    await publish(waiting.request);
  }

  /** Re-publish an already linked document: edit the issue's summary and description. */
  async function update(request: PublishRequest): Promise<void> {
    const context = { workflow: qualifiedName(request.workflow), path: request.path, user: request.user.userId, action: 'update' };
    try {
      const path = validateDocumentPath(request.path);
      const workflow = await authorize(request.channelId, request.workflow);
      const settings = await requireSettings(workflow.namespace);
      const link = workflow.jiraLinks.find((l) => l.path === path);
      if (!link) {
        await publish({ ...request, path });
        return;
      }
      const refusal = linkedIssueRefusal(link, settings, workflow);
      if (refusal) {
        logger.warn({ ...context, jiraKey: link.jiraKey.slice(0, 64), projectKey: settings.projectKey }, 'refused to update an issue outside the project\'s Jira project');
        throw refusal;
      }
      const linkState = await links.state(request.user);
      if (linkState !== 'linked') throw linkState === 'broken' ? errors.authExpired() : errors.notLinked();
      const ran = await underLease({ ...request, path }, async () => {
        const document = await documents.read(workflow, path);
        const issue = await withRateLimitWaits(request.replyTo, workflow, path, (callOptions) => jira.updateIssue(request.user, {
          siteUrl: settings.siteUrl,
          issueKey: link.jiraKey,
          summary: issueSummary(workflow, document.phase),
          description: issueDescription(document),
        }, callOptions));
        logger.info({ ...context, jiraKey: issue.key }, 'issue updated');
        await notifier.updated(request.replyTo, { workflow, path, issue, user: request.user });
      });
      if (!ran) throw errors.publishInProgress(path);
    } catch (error) {
      await report(request.replyTo, error, context);
    }
  }

  /**
   * Finishes publishes interrupted by a crash (any replica). Entries whose lease is still held are
   * being worked on and are left alone. Returns how many entries were examined.
   */
  async function recoverInterrupted(): Promise<number> {
    const pending = await journal.pending();
    for (const entry of pending) {
      const request: PublishRequest = {
        user: entry.user, channelId: '', workflow: entry.workflow, path: entry.path,
        issueType: entry.issueType, replyTo: entry.replyTo,
      };
      const context = { workflow: qualifiedName(entry.workflow), path: entry.path, user: entry.user.userId, state: entry.state, recovery: true };
      try {
        await underLease(request, async () => {
          const fresh = await journal.get(entry.workflow, entry.path);
          if (!fresh) return;
          logger.info(context, 'recovering an interrupted publish');
          const settings = await requireSettings(entry.workflow.namespace);
          await createAndLink(request, settings, fresh, true);
        });
      } catch (error) {
        const attempts = (entry.recoveryAttempts ?? 0) + 1;
        if (TRANSIENT.has(toVteamError(error).code) && attempts < MAX_RECOVERY_ATTEMPTS) {
          // Left in the journal: the next recovery round tries again, without pestering the user.
          logger.warn({ ...context, err: error, attempts }, 'recovery postponed');
          const latest = await journal.get(entry.workflow, entry.path);
          if (latest) await journal.put({ ...latest, recoveryAttempts: attempts });
          continue;
        }
        await journal.remove(entry.workflow, entry.path);
        await report(entry.replyTo, error, context);
      }
    }
    return pending.length;
  }

  return { resolve, authorize, rowsOf, documentsOf, publish, update, resumeAfterLink, recoverInterrupted };
}

/**
 * Counts each outcome where it is decided: the notifier sees every one exactly once. Durations are
 * measured from the request; queued and link prompts are intermediate, not outcomes.
 */
function countingNotifier(notifier: PublishNotifier, metrics: PublishServiceDeps['metrics']): PublishNotifier {
  if (!metrics) return notifier;
  const count = (outcome: string) => metrics.publishes.inc({ outcome });
  return {
    ...notifier,
    queued: (r, i) => notifier.queued(r, i),
    needsLink: (r, i) => { count('needs_link'); return notifier.needsLink(r, i); },
    pendingDropped: (r, i) => notifier.pendingDropped(r, i),
    published: (r, e) => { count(e.created ? 'created' : 'found'); return notifier.published(r, e); },
    alreadyLinked: (r, i) => { count('already_linked'); return notifier.alreadyLinked(r, i); },
    updated: (r, i) => { count('updated'); return notifier.updated(r, i); },
    failed: (r, e) => { count(e.code.toLowerCase()); return notifier.failed(r, e); },
  };
}

/** About an hour of recovery rounds at the default 30 s lease. */
const MAX_RECOVERY_ATTEMPTS = 120;

/** Failures worth retrying later rather than reporting. */
const TRANSIENT = new Set(['MCP_UNREACHABLE', 'RATE_LIMITED', 'RATE_BUDGET_EXHAUSTED', 'KUBERNETES_UNAVAILABLE', 'INTERNAL', 'DOCUMENT_SOURCE_FAILED']);

function ref(workflow: WorkflowRef): WorkflowRef {
  return { namespace: workflow.namespace, name: workflow.name };
}

export type PublishService = ReturnType<typeof createPublishService>;
