import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { errors, isVteamError, logLevelOf, toVteamError, type VteamError } from '../errors.ts';
import { isLeaseLost } from '../storage/locks.ts';
import type { HeldLease, KeyValueStore, LockService } from '../storage/types.ts';
import { validateDocumentPath } from './paths.ts';
import { createIssueDrafts, validatePublishPath } from './issue-drafts.ts';
import { documentId, issueDescription, issueSummary, linkedIssue } from './issue-content.ts';
import { createJournal, journalKey, type JournalEntry } from './journal.ts';
import { linkedIssueRefusal } from './linked-issue-guard.ts';
import type {
  DocumentContent,
  DocumentRow,
  JiraIssue,
  JiraSettings,
  PublishIntent,
  PublishRequest,
  ReplyTo,
  SlackUserRef,
  Workflow,
  WorkflowRef,
} from './model.ts';
import type { AccountLinks, DocumentSource, JiraGateway, ProjectDirectory, PublishNotifier, WorkflowRepository } from './ports.ts';
import { createPublishAttempts, type Attempt } from './publish-attempt.ts';
import { PreparationGate } from './preparation-gate.ts';
import { sessionKey } from './model.ts';
import { createRateLimitWaits } from './rate-limit-waits.ts';
import type { DocumentRows } from './document-rows.ts';
import { qualifiedName, resolveWorkflow } from './resolve-workflow.ts';
import type { PendingPublishes, PublishHistory, WaitingPublish } from './user-records.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface PublishServiceDeps {
  workflows: WorkflowRepository;
  /** The documents of a workflow with their link state (the picker's content). */
  rows: DocumentRows;
  projects: ProjectDirectory;
  documents: DocumentSource;
  jira: JiraGateway;
  links: AccountLinks;
  store: KeyValueStore;
  locks: LockService;
  notifier: PublishNotifier;
  pending: PendingPublishes;
  history: PublishHistory;
  /** Outcomes counted (publishes) and, for publishes and updates, timed by outcome (publishDuration). */
  metrics?: Pick<Metrics, 'publishes' | 'publishDuration'> | undefined;
  /** Recent failures by cause, for /vteam jira-status. */
  failures?:
    | { record(failure: { code: string; message: string; at: number; workflow?: string; path?: string; user?: string }): Promise<void> }
    | undefined;
  logger: Logger;
  options: {
    leaseMs: number;
    rateLimitMaxWaitMs: number;
    /** How long Jira's search may miss a fresh issue (PUBLISH_SEARCH_SETTLE_SECONDS). Default 10 s. */
    searchSettleMs?: number | undefined;
    /** Publishes and updates preparing at once (PreparationGate). Default 8: twice the default Jira concurrency. */
    preparingAtOnce?: number | undefined;
  };
}

/**
 * The publishing use case. Knows nothing of Slack or HTTP: requests come in as plain data, results
 * leave through the PublishNotifier port. Exactly-once rests on a per-document lease (one worker at
 * a time across replicas, fenced before each side effect), the CR's jiraLinks (the source of truth
 * for "already published"), and evidence of attempts in flight (a record on the CR, a journal entry,
 * an idempotency label on the issue): see publish-attempt.ts.
 *
 * Each publish, update or recovery is a run: its log lines carry one `publishId` (attempt included),
 * and its outcome labels its duration.
 */
export function createPublishService(deps: PublishServiceDeps) {
  const { workflows, projects, documents, jira, links, locks, pending, history, logger, options } = deps;
  const notifier = countingNotifier(deps.notifier, deps.metrics);
  const journal = createJournal(deps.store);
  const settleMs = options.searchSettleMs ?? 10_000;
  const withRateLimitWaits = createRateLimitWaits({ notifier, logger, maxWaitMs: options.rateLimitMaxWaitMs });
  const gate = new PreparationGate(options.preparingAtOnce ?? 8);
  const attempts = createPublishAttempts({
    workflows,
    drafts: createIssueDrafts(documents),
    jira,
    journal,
    history,
    notifier,
    rateLimitWaits: withRateLimitWaits,
    logger,
    settleMs,
  });

  /**
   * A new run: a child logger with its own publishId, and a notifier that counts and remembers its
   * outcome. `told`: where outcomes go instead of the module's notifier (a batch collects them).
   */
  function begin(told: PublishNotifier = deps.notifier): PublishRun {
    const run: PublishRun = {
      log: logger.child({ publishId: randomBytes(4).toString('hex') }),
      notifier: told,
      outcome: undefined,
      leaveGate: () => undefined,
    };
    run.notifier = countingNotifier(told, deps.metrics, (outcome) => {
      run.outcome = outcome;
    });
    return run;
  }

  /** Times `work` into publishDuration, labelled with the run's outcome (its last one). */
  async function timed(run: PublishRun, work: () => Promise<void>): Promise<void> {
    const stopTimer = deps.metrics?.publishDuration.startTimer();
    try {
      await work();
    } finally {
      stopTimer?.({ outcome: run.outcome ?? 'none' });
    }
  }

  /** A user's publish or update, timed, entering the preparation gate first (it leaves when it waits on Jira). */
  async function gated(run: PublishRun, user: SlackUserRef, work: () => Promise<void>): Promise<void> {
    await timed(run, async () => {
      run.leaveGate = await gate.enter(sessionKey(user));
      try {
        await work();
      } finally {
        run.leaveGate();
      }
    });
  }

  /** A click or command may only act on a project that binds the channel it came from. */
  async function authorize(channelId: string, ref: WorkflowRef, log: Logger = logger): Promise<Workflow> {
    await requireBinding(channelId, ref, log);
    return requireWorkflow(ref);
  }

  async function requireBinding(channelId: string, ref: WorkflowRef, log: Logger): Promise<void> {
    if (await projects.isBound(ref.namespace, channelId)) return;
    log.warn({ channelId, namespace: ref.namespace, workflow: ref.name }, 'refused: channel is not bound to the project');
    throw errors.channelNotBound(ref.namespace, channelId);
  }

  async function requireWorkflow(ref: WorkflowRef): Promise<Workflow> {
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
      const found = (await Promise.all(bound.map((namespace) => workflows.get({ namespace, name: argument.trim() })))).filter(
        (w): w is Workflow => w !== undefined,
      );
      if (found.length === 1) return found[0]!;
    }
    return resolveWorkflow(argument, await workflows.list(bound));
  }

  async function requireSettings(namespace: string): Promise<JiraSettings> {
    const { settings, secretName } = await projects.jiraSettings(namespace);
    if (!settings) throw errors.notConfigured(namespace, secretName);
    return settings;
  }

  function existingIssue(workflow: Workflow, path: string, settings: JiraSettings): JiraIssue | undefined {
    const link = workflow.jiraLinks.find((l) => l.path === path);
    return link && linkedIssue(workflow, path, link.jiraKey, jira.browseUrl(settings.siteUrl, link.jiraKey));
  }

  /** `/vteam publish <workflow>` without a path: the picker's content. */
  async function documentsOf(channelId: string, workflowArgument: string): Promise<{ workflow: Workflow; rows: DocumentRow[] }> {
    const workflow = await resolve(channelId, workflowArgument);
    return { workflow, rows: await deps.rows(workflow) };
  }

  async function underLease(request: PublishRequest, work: (lease: HeldLease) => Promise<void>): Promise<boolean> {
    const lease = `publish:${request.workflow.namespace}/${request.workflow.name}:${documentId(request.workflow, request.path)}`;
    const result = await locks.withLock(lease, options.leaseMs, work);
    return result.acquired;
  }

  /**
   * Runs one attempt under the document's lease. A lease lost midway (store failover, a stall longer
   * than the lease) stops the attempt before its next side effect; it then starts over once under a
   * new lease, searching before creating. False when another worker holds the lease.
   */
  async function attemptUnderLease(
    run: PublishRun,
    request: PublishRequest,
    attempt: (lease: HeldLease) => PreparedAttempt | Promise<PreparedAttempt | undefined>,
  ): Promise<{ ran: boolean; outcome?: 'linked' | 'absent' }> {
    let outcome: 'linked' | 'absent' | undefined;
    const work = async (lease: HeldLease) => {
      const prepared = await attempt(lease);
      if (prepared)
        outcome = await attempts.run({ ...prepared, lease, logger: run.log, notifier: run.notifier, waitingOnJira: run.leaveGate });
    };
    try {
      return { ran: await underLease(request, work), outcome };
    } catch (error) {
      if (!isLeaseLost(error)) throw error;
      run.log.warn(
        { workflow: qualifiedName(request.workflow), path: request.path },
        'publish lost its lease; starting over under a new one',
      );
      try {
        return { ran: await underLease(request, work), outcome };
      } catch (again) {
        throw isLeaseLost(again) ? errors.publishInterrupted(request.path, again) : again;
      }
    }
  }

  async function report(run: PublishRun, replyTo: ReplyTo, error: unknown, context: Record<string, unknown>): Promise<void> {
    const failure: VteamError = toVteamError(error);
    const level = logLevelOf(failure, { alsoErrors: ['KUBERNETES_UNAVAILABLE', 'MCP_UNREACHABLE'] });
    run.log[level](
      { ...context, code: failure.code, err: failure.cause ?? (failure.code === 'INTERNAL' ? error : undefined) },
      'publish failed',
    );
    // Another worker publishing the same document is no failure of anything: jira-status would only be noise.
    if (failure.code !== 'PUBLISH_IN_PROGRESS')
      await deps.failures
        ?.record({
          code: failure.code,
          message: failure.userMessage,
          at: Date.now(),
          workflow: typeof context.workflow === 'string' ? context.workflow : undefined,
          path: typeof context.path === 'string' ? context.path : undefined,
          user: typeof context.user === 'string' ? context.user : undefined,
        })
        .catch(() => undefined);
    await run.notifier.failed(replyTo, failure).catch((e: unknown) => run.log.error({ err: e }, 'could not report a failure to the user'));
  }

  /**
   * Publish one document. Never throws: every outcome reaches the notifier. `resolved`: the workflow
   * the caller has just read (a command resolving its argument), so it is not read again.
   */
  async function publish(request: PublishRequest, resolved?: Workflow): Promise<void> {
    const run = begin();
    const ref = { namespace: request.workflow.namespace, name: request.workflow.name };
    const known = resolved !== undefined && qualifiedName(resolved) === qualifiedName(ref) ? resolved : undefined;
    await gated(run, request.user, () => publishOnce({ ...request, workflow: ref }, run, known));
  }

  /**
   * One item of a batch (a document of Publish all, a task of a tasks document), with the same
   * guarantees as a publish. Its outcome goes to `told` only. `read`: what the batch has read once for
   * all its items: the item's document, and the workflow (safe even when stale: see markInFlight).
   */
  async function publishItem(
    request: PublishRequest,
    told: PublishNotifier,
    read: { document?: DocumentContent | undefined; workflow?: Workflow | undefined } = {},
  ): Promise<void> {
    const run = begin(told);
    const ref = { namespace: request.workflow.namespace, name: request.workflow.name };
    const known = read.workflow !== undefined && qualifiedName(read.workflow) === qualifiedName(ref) ? read.workflow : undefined;
    await gated(run, request.user, () => publishOnce({ ...request, workflow: ref }, run, known, read.document));
  }

  async function publishOnce(request: PublishRequest, run: PublishRun, known?: Workflow, document?: DocumentContent): Promise<void> {
    const context = { workflow: qualifiedName(request.workflow), path: request.path, user: request.user.userId };
    try {
      const path = validatePublishPath(request.path);
      const req = { ...request, path };
      // The user's link is looked up meanwhile; it concerns no project, so it may start before the check.
      const linkState = links.state(request.user);
      linkState.catch(() => undefined);
      await requireBinding(request.channelId, request.workflow, run.log);
      // Then the reads that do not depend on each other at once; their failures are told in this order.
      const [workflow, settings] = await inOrder([
        known ? Promise.resolve(known) : requireWorkflow(request.workflow),
        requireSettings(request.workflow.namespace),
      ] as const);
      const linked = existingIssue(workflow, path, settings);
      if (linked) {
        await run.notifier.alreadyLinked(request.replyTo, { workflow, path, issue: linked });
        return;
      }
      const state = await linkState;
      if (state !== 'linked') {
        await waitForLink(run, req, state);
        return;
      }
      const { ran } = await attemptUnderLease(run, req, async () => ({
        request: req,
        settings,
        entry: await journal.get(workflow, path),
        recovered: false,
        createIfMissing: true,
        workflow,
        document,
      }));
      if (!ran) throw errors.publishInProgress(path);
    } catch (error) {
      // A gateway holding users' tokens (MCP Context Forge) says "not linked" only when asked.
      if (isVteamError(error, 'AUTH_EXPIRED') || isVteamError(error, 'NOT_LINKED')) {
        const reason = error.code === 'AUTH_EXPIRED' ? 'broken' : 'missing';
        await waitForLink(run, { ...request }, reason).catch((e: unknown) => report(run, request.replyTo, e, context));
        return;
      }
      await report(run, request.replyTo, error, context);
    }
  }

  /** Park the publish and ask the user to (re)connect; the batch service's `resumeAfterLink` picks it up. */
  async function waitForLink(run: PublishRun, request: PublishRequest, reason: 'missing' | 'broken'): Promise<void> {
    await pending.save(request);
    run.log.info(
      { workflow: qualifiedName(request.workflow), path: request.path, user: request.user.userId, reason },
      'publish waits for the user to connect Atlassian',
    );
    await run.notifier.needsLink(request.replyTo, { user: request.user, path: request.path, reason });
  }

  /** A publish that waited for the user's Atlassian link, taken from the pending records after the callback. */
  async function resume(waiting: WaitingPublish): Promise<void> {
    const { user } = waiting.request;
    if (!waiting.fresh) {
      await notifier.pendingDropped(waiting.request.replyTo, { path: waiting.request.path, maxAgeMs: pending.maxAgeMs });
      return;
    }
    const run = begin();
    run.log.info(
      { workflow: qualifiedName(waiting.request.workflow), path: waiting.request.path },
      'resuming a publish after the user connected',
    );
    await gated(run, user, () => publishOnce(waiting.request, run));
  }

  /** Re-publish an already linked document: edit the issue's summary and description. */
  async function update(request: PublishRequest): Promise<void> {
    const run = begin();
    await gated(run, request.user, () => updateOnce(request, run));
  }

  async function updateOnce(request: PublishRequest, run: PublishRun): Promise<void> {
    const context = { workflow: qualifiedName(request.workflow), path: request.path, user: request.user.userId, action: 'update' };
    try {
      const path = validateDocumentPath(request.path);
      const workflow = await authorize(request.channelId, request.workflow, run.log);
      const settings = await requireSettings(workflow.namespace);
      const link = workflow.jiraLinks.find((l) => l.path === path);
      if (!link) {
        await publishOnce({ ...request, path }, run);
        return;
      }
      const refusal = linkedIssueRefusal(link, settings, workflow);
      if (refusal) {
        run.log.warn(
          { ...context, jiraKey: link.jiraKey.slice(0, 64), projectKey: settings.projectKey },
          "refused to update an issue outside the project's Jira project",
        );
        throw refusal;
      }
      const linkState = await links.state(request.user);
      if (linkState !== 'linked') throw linkState === 'broken' ? errors.authExpired() : errors.notLinked();
      const ran = await underLease({ ...request, path }, async (lease) => {
        const document = await documents.read(workflow, path);
        run.leaveGate();
        const issue = await withRateLimitWaits(
          request.replyTo,
          workflow,
          path,
          (callOptions) =>
            jira.updateIssue(
              request.user,
              {
                siteUrl: settings.siteUrl,
                issueKey: link.jiraKey,
                summary: issueSummary(workflow, document.phase),
                description: issueDescription(document),
              },
              { ...callOptions, beforeSend: () => lease.confirm() },
            ),
          run.log,
        );
        run.log.info({ ...context, jiraKey: issue.key }, 'issue updated');
        await run.notifier.updated(request.replyTo, { workflow, path, issue, user: request.user });
      });
      if (!ran) throw errors.publishInProgress(path);
    } catch (error) {
      await report(run, request.replyTo, error, context);
    }
  }

  /**
   * Finishes publishes interrupted by a crash (any replica). Entries whose lease is still held are
   * being worked on and are left alone. Returns how many entries were examined.
   */
  let nextIntentScan = 0;
  async function recoverInterrupted(): Promise<number> {
    const entries = await journal.pending();
    for (const entry of entries) await recoverEntry(entry);
    if (Date.now() < nextIntentScan) return entries.length;
    nextIntentScan = Date.now() + Math.max(options.leaseMs, settleMs);
    const journaled = new Set(entries.map((e) => journalKey(e.workflow, e.path)));
    const orphans = (await abandonedIntents()).filter(({ workflow, intent }) => !journaled.has(journalKey(workflow, intent.path)));
    for (const orphan of orphans) await recoverIntent(orphan.workflow, orphan.intent);
    return entries.length + orphans.length;
  }

  async function recoverEntry(entry: JournalEntry): Promise<void> {
    // An uncertain create is left to the user's retry until Jira's search has had time to show it.
    if (entry.state === 'uncertain' && Date.now() < entry.updatedAt + settleMs) return;
    const request: PublishRequest = {
      user: entry.user,
      channelId: '',
      workflow: entry.workflow,
      path: entry.path,
      issueType: entry.issueType,
      hierarchy: entry.hierarchy,
      replyTo: entry.replyTo,
    };
    const context = {
      workflow: qualifiedName(entry.workflow),
      path: entry.path,
      user: entry.user.userId,
      state: entry.state,
      recovery: true,
    };
    const run = begin();
    try {
      const { outcome } = await attemptUnderLease(run, request, async () => {
        const fresh = await journal.get(entry.workflow, entry.path);
        if (!fresh) return undefined;
        run.log.info(context, 'recovering an interrupted publish');
        const settings = await requireSettings(entry.workflow.namespace);
        // A create cut short by a crash is finished; one the user was told failed is only found.
        return { request, settings, entry: fresh, recovered: true, createIfMissing: fresh.state === 'creating' };
      });
      if (outcome === 'absent') await run.notifier.failed(entry.replyTo, errors.notPublished(entry.path));
    } catch (error) {
      const attempt = (entry.recoveryAttempts ?? 0) + 1;
      if (TRANSIENT.has(toVteamError(error).code) && attempt < MAX_RECOVERY_ATTEMPTS) {
        // Left in the journal: the next recovery round tries again, without pestering the user.
        // The code and the cause's message say why; a stack per round would only bury them.
        run.log.warn({ ...context, ...transientCause(error), attempts: attempt }, 'recovery postponed');
        const latest = await journal.get(entry.workflow, entry.path);
        if (latest) await journal.put({ ...latest, recoveryAttempts: attempt });
        return;
      }
      await journal.remove(entry.workflow, entry.path);
      await report(run, entry.replyTo, error, context);
    }
  }

  /**
   * In-flight records on workflows with no journal entry: the store lost it (flushed, failed over,
   * expired) or the worker died. Older than any live attempt could be, they are finished from the CR.
   */
  async function abandonedIntents(): Promise<{ workflow: Workflow; intent: PublishIntent }[]> {
    const minAgeMs = Math.max(2 * options.leaseMs, settleMs);
    const candidates = (await workflows.withInFlight()).flatMap((workflow) =>
      (workflow.inFlight ?? []).filter((i) => Date.now() - i.since > minAgeMs).map((intent) => ({ workflow, intent })),
    );
    // The record names who acts and where to answer; anyone able to edit the workflow could forge it,
    // so it is only acted on when the cluster binds that channel to the workflow's project.
    const checked = await Promise.all(
      candidates.map(async (c) => {
        const channel = c.intent.replyTo.channelId;
        const bound = typeof channel === 'string' && (await projects.isBound(c.workflow.namespace, channel));
        if (!bound)
          logger.warn(
            { workflow: qualifiedName(c.workflow), path: c.intent.path },
            'ignoring an in-flight record whose channel is not bound to the project',
          );
        return bound ? [c] : [];
      }),
    );
    return checked.flat();
  }

  async function recoverIntent(workflow: Workflow, intent: PublishIntent): Promise<void> {
    const request: PublishRequest = {
      user: intent.user,
      channelId: '',
      workflow: { namespace: workflow.namespace, name: workflow.name },
      path: intent.path,
      replyTo: intent.replyTo,
    };
    const context = { workflow: qualifiedName(workflow), path: intent.path, user: intent.user.userId, recovery: 'in-flight record' };
    const run = begin();
    try {
      const { outcome } = await attemptUnderLease(run, request, async (lease) => {
        const fresh = await workflows.get(workflow);
        if (!fresh?.inFlight?.some((i) => i.path === intent.path)) return undefined;
        if (fresh.jiraLinks.some((l) => l.path === intent.path)) {
          await lease.confirm();
          await workflows.clearInFlight(fresh, intent.path);
          return undefined;
        }
        run.log.info(context, 'recovering a publish from its record on the workflow');
        return { request, settings: await requireSettings(workflow.namespace), entry: undefined, recovered: true, createIfMissing: false };
      });
      if (outcome === 'absent') await run.notifier.failed(intent.replyTo, errors.notPublished(intent.path));
    } catch (error) {
      if (TRANSIENT.has(toVteamError(error).code)) {
        run.log.warn({ ...context, ...transientCause(error) }, 'recovery postponed');
        return;
      }
      // The record stays, so a later publish still searches first; the user hears why this failed.
      await report(run, intent.replyTo, error, context);
    }
  }

  return { resolve, authorize, documentsOf, publish, publishItem, update, resume, recoverInterrupted };
}

/** One publish, update or recovery: its logger (bound to its publishId), its notifier, its last outcome. */
interface PublishRun {
  log: Logger;
  notifier: PublishNotifier;
  outcome: string | undefined;
  /** Leaves the preparation gate, if the run entered it (idempotent). */
  leaveGate: () => void;
}

/** What publish-service prepares for an attempt; the lease and the run's logger and notifier are added. */
type PreparedAttempt = Omit<Attempt, 'lease' | 'logger' | 'notifier' | 'waitingOnJira'>;

/**
 * Counts each outcome where it is decided: the notifier sees every one exactly once, and tells
 * `onOutcome` (the run's duration is labelled with it). Queued is intermediate, not an outcome.
 */
function countingNotifier(
  notifier: PublishNotifier,
  metrics: PublishServiceDeps['metrics'],
  onOutcome?: (outcome: string) => void,
): PublishNotifier {
  if (!metrics && !onOutcome) return notifier;
  const count = (outcome: string) => {
    metrics?.publishes.inc({ outcome });
    onOutcome?.(outcome);
  };
  return {
    ...notifier,
    queued: (r, i) => notifier.queued(r, i),
    needsLink: (r, i) => {
      count('needs_link');
      return notifier.needsLink(r, i);
    },
    pendingDropped: (r, i) => notifier.pendingDropped(r, i),
    published: (r, e) => {
      count(e.created ? 'created' : 'found');
      return notifier.published(r, e);
    },
    alreadyLinked: (r, i) => {
      count(i.duplicate ? 'duplicate' : 'already_linked');
      return notifier.alreadyLinked(r, i);
    },
    updated: (r, i) => {
      count('updated');
      return notifier.updated(r, i);
    },
    failed: (r, e) => {
      count(e.code.toLowerCase());
      return notifier.failed(r, e);
    },
  };
}

/** About an hour of recovery rounds at the default 30 s lease. */
const MAX_RECOVERY_ATTEMPTS = 120;

/** Failures worth retrying later rather than reporting. */
const TRANSIENT = new Set([
  'PUBLISH_INTERRUPTED',
  'MCP_UNREACHABLE',
  'RATE_LIMITED',
  'RATE_BUDGET_EXHAUSTED',
  'KUBERNETES_UNAVAILABLE',
  'INTERNAL',
  'DOCUMENT_SOURCE_FAILED',
]);

export type PublishService = ReturnType<typeof createPublishService>;

/** Awaits every promise; throws the first failure in the order given (not the first to happen). */
async function inOrder<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A transient failure for a log line: its code and its cause's message, without stacks. */
function transientCause(error: unknown): { code: string; cause: string } {
  const failure = toVteamError(error);
  const cause = failure.cause instanceof Error ? failure.cause.message : String(failure.cause ?? failure.message);
  return { code: failure.code, cause: cause.slice(0, 300) };
}
