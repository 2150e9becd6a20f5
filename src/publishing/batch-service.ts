/**
 * From plan to tracked work: Publish all (the spec as the parent issue, the other documents as its
 * children) and Create issues from tasks (one issue per open task of a tasks document).
 *
 * Every item is an ordinary publish (publish-service's publishItem): its own lease, in-flight record,
 * journal entry and idempotency label, so double clicks, replicas, retries and a kill -9 midway leave
 * each document and each task with exactly one issue, and a second run creates only what is missing.
 * Items go through the same preparation gate and rate limiter as single publishes, with the user as
 * the fair-queue lane: a user's 40 tasks take their turn with everyone else's publishes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { errors, logLevelOf, toVteamError } from '../errors.ts';
import { CoalescingSender } from '../lib/coalescing-sender.ts';
import type { KeyValueStore, LockService } from '../storage/types.ts';
import type { DocumentRows } from './document-rows.ts';
import { documentId } from './issue-content.ts';
import { taskPlacement, type TaskPlacement } from './issue-drafts.ts';
import type { DocumentContent, JiraSettings, PublishRequest, ReplyTo, SlackUserRef, Workflow, WorkflowRef } from './model.ts';
import { validateDocumentPath } from './paths.ts';
import type {
  AccountLinks,
  BatchItemResult,
  BatchNotifier,
  DocumentSource,
  JiraBudget,
  JiraGateway,
  ProgressHandle,
  ProjectDirectory,
  PublishNotifier,
} from './ports.ts';
import type { PublishService } from './publish-service.ts';
import { qualifiedName } from './resolve-workflow.ts';
import { parseTasks, splitTaskPath, taskPath, taskSummary, type PlanTask } from './tasks.ts';
import type { PendingBatch, PendingPublishes } from './user-records.ts';

export interface BatchServiceDeps {
  service: Pick<PublishService, 'authorize' | 'publishItem' | 'resume'>;
  rows: DocumentRows;
  documents: Pick<DocumentSource, 'read'>;
  projects: Pick<ProjectDirectory, 'jiraSettings'>;
  jira: Pick<JiraGateway, 'browseUrl'>;
  links: AccountLinks;
  locks: LockService;
  /** Batch progress and summaries; the Connect prompt, and what became of a batch that waited for it. */
  notifier: BatchNotifier & Pick<PublishNotifier, 'needsLink' | 'pendingDropped' | 'failed'>;
  /** Where a batch waits while its user connects Atlassian (one waiting publish or batch per user). */
  pending: PendingPublishes;
  /** The shared store: where a running batch's progress message is remembered, for the run after a crash. */
  store: Pick<KeyValueStore, 'get' | 'set' | 'delete'>;
  budget?: JiraBudget | undefined;
  logger: Logger;
  options: {
    /** Items of one batch in flight at once (the rate limiter still decides when each is sent). */
    concurrency: number;
    leaseMs: number;
    /** Shortest time between two edits of the progress message. Default 1 s. */
    progressIntervalMs?: number | undefined;
    /** Upstream requests one create costs (behind MCP Context Forge, 4). Default 1. */
    requestsPerCreate?: number | undefined;
    /** How long an item another worker is publishing is waited for before it is reported. Default 60 s. */
    busyItemWaitMs?: number | undefined;
    wait?: (ms: number) => Promise<unknown>;
  };
}

export interface BatchInput {
  user: SlackUserRef;
  channelId: string;
  workflow: WorkflowRef;
  replyTo: ReplyTo;
}

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

const BUSY = 'PUBLISH_IN_PROGRESS';
/** A batch's own lease (renewed at a third of it while the batch runs). */
const BATCH_LEASE_MS = 10_000;
/** How long a running batch's progress message is remembered: longer than any batch runs. */
const PROGRESS_RECORD_MS = 24 * 3600_000;

export function createBatchService(deps: BatchServiceDeps) {
  const { service, locks, notifier, logger, options } = deps;
  const wait = options.wait ?? sleep;
  const perCreate = options.requestsPerCreate ?? 1;

  async function requireSettings(namespace: string): Promise<JiraSettings> {
    const { settings, secretName } = await deps.projects.jiraSettings(namespace);
    if (!settings) throw errors.notConfigured(namespace, secretName);
    return settings;
  }

  /** One run of a batch: who asked, and what is saved to resume it if the user must connect first. */
  function begin(input: BatchInput, resumeAs: PendingBatch, workflow?: Workflow): BatchRun {
    let parked = false;
    return {
      input,
      workflow,
      async park(reason) {
        if (parked) return;
        parked = true;
        // Replaces any single item a gateway parked meanwhile: the whole batch resumes.
        const label = resumeAs.kind === 'tasks' ? resumeAs.path : qualifiedName(input.workflow);
        const { user, channelId, workflow, replyTo } = input;
        await deps.pending.save({ user, channelId, workflow, path: label, replyTo }, resumeAs);
        await notifier.needsLink(replyTo, { user, path: label, reason });
      },
    };
  }

  /** True when the user may publish; otherwise the batch waits for the Connect prompt's answer. */
  async function linked(run: BatchRun): Promise<boolean> {
    const state = await deps.links.state(run.input.user);
    if (state === 'linked') return true;
    await run.park(state);
    return false;
  }

  /**
   * After a successful OAuth callback: the batch (or single publish) that waited for it. A batch of
   * tasks was confirmed before it waited, so it runs without asking again.
   */
  async function resumeAfterLink(user: SlackUserRef): Promise<void> {
    const waiting = await deps.pending.take(user);
    if (!waiting) return;
    const { batch, request } = waiting;
    if (!batch) return service.resume(waiting);
    if (!waiting.fresh) {
      await notifier.pendingDropped(request.replyTo, { path: request.path, maxAgeMs: deps.pending.maxAgeMs });
      return;
    }
    const input = { user, channelId: request.channelId, workflow: request.workflow, replyTo: request.replyTo };
    logger.info({ workflow: qualifiedName(request.workflow), batch: batch.kind }, 'resuming a batch after the user connected');
    try {
      await (batch.kind === 'all' ? publishAll(input) : createTaskIssues({ ...input, path: batch.path }));
    } catch (error) {
      const failure = toVteamError(error);
      logger[logLevelOf(failure)]({ err: failure.cause ?? error, code: failure.code }, 'a resumed batch failed');
      await notifier.failed(request.replyTo, failure);
    }
  }

  /** Runs `work` unless another run of the same batch holds its lease (a double click, another replica). */
  async function exclusively(name: string, what: string, work: () => Promise<void>): Promise<void> {
    // Short, and renewed while the batch runs: after a crash the next run may start within seconds.
    const result = await locks.withLock(name, Math.min(options.leaseMs, BATCH_LEASE_MS), work);
    if (!result.acquired) throw errors.batchInProgress(what);
  }

  /**
   * Publishes one item, waiting out another worker that holds its lease (recovery after a restart,
   * a second click): the item then reads as linked.
   */
  async function publishOne(run: BatchRun, request: PublishRequest, document?: DocumentContent, taskId?: string): Promise<BatchItemResult> {
    const deadline = Date.now() + (options.busyItemWaitMs ?? 60_000);
    // The batch's own read of the workflow first; after waiting out another worker, a fresh one.
    let workflow = run.workflow;
    for (let delay = 500; ; delay = Math.min(delay * 2, 4000)) {
      const result = await collect(run, request, { document, workflow }, taskId);
      workflow = undefined;
      if (result.status !== 'failed' || result.error?.code !== BUSY || Date.now() + delay > deadline) return result;
      await wait(delay);
    }
  }

  async function collect(
    run: BatchRun,
    request: PublishRequest,
    read: { document: DocumentContent | undefined; workflow: Workflow | undefined },
    taskId: string | undefined,
  ): Promise<BatchItemResult> {
    let result: BatchItemResult = { path: request.path, taskId, status: 'failed', error: errors.internal(new Error('no outcome')) };
    const told: PublishNotifier = {
      queued: async () => undefined,
      published: async (_replyTo, event) => {
        result = { path: request.path, taskId, status: event.created ? 'created' : 'found', issue: event.issue };
      },
      alreadyLinked: async (_replyTo, info) => {
        result = { path: request.path, taskId, status: 'existing', issue: info.issue, duplicate: info.duplicate };
      },
      updated: async () => undefined,
      failed: async (_replyTo, error) => {
        result = { path: request.path, taskId, status: 'failed', error };
      },
      // A gateway holding users' tokens says "not linked" only when asked: the whole batch waits, asked once.
      needsLink: async (_replyTo, info) => {
        result = { path: request.path, taskId, status: 'needs-link' };
        await run.park(info.reason);
      },
      pendingDropped: async () => undefined,
    };
    await service.publishItem(request, told, read);
    return result;
  }

  /**
   * Runs `items` at `concurrency`, the first alone: a missing Atlassian link (known only when asked,
   * behind a gateway) then stops the batch after one item instead of after a round of them.
   */
  async function runAll(
    run: BatchRun,
    items: { request: PublishRequest; taskId?: string | undefined }[],
    document: DocumentContent | undefined,
    onResult: () => void = () => undefined,
  ): Promise<BatchItemResult[]> {
    const results: (BatchItemResult | undefined)[] = items.map(() => undefined);
    let next = 0;
    let stopped = false;
    const runNext = async (): Promise<void> => {
      const index = next++;
      const { request, taskId } = items[index]!;
      const result = await publishOne(run, request, document, taskId);
      results[index] = result;
      if (result.status === 'needs-link') stopped = true;
      onResult();
    };
    const take = async (): Promise<void> => {
      while (!stopped && next < items.length) await runNext();
    };
    if (items.length > 0) await runNext();
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, take));
    // Items never started because the user must connect first are reported as waiting for that.
    return results.map((r, i) => r ?? { path: items[i]!.request.path, taskId: items[i]!.taskId, status: 'needs-link' });
  }

  /** Publish all: the spec first (the parent), then the other documents as its children. */
  async function publishAll(input: BatchInput): Promise<void> {
    const started = Date.now();
    const workflow = await service.authorize(input.channelId, input.workflow);
    await requireSettings(workflow.namespace);
    const rows = (await deps.rows(workflow)).filter((row) => splitTaskPath(row.path) === undefined);
    if (rows.length === 0)
      throw errors.badRequest('This workflow has no spec, plan or tasks document yet, so there is nothing to publish.');
    const specs = rows.filter((row) => row.phase === 'specify');
    const others = rows.filter((row) => row.phase !== 'specify');
    const unpublished = rows.filter((row) => row.jiraKey === undefined);
    const run = begin(input, { kind: 'all' });
    if (unpublished.length > 0 && !(await linked(run))) return;

    await exclusively(`batch:${qualifiedName(workflow)}:all`, `Publishing every document of \`${qualifiedName(workflow)}\``, async () => {
      const base = { user: input.user, channelId: input.channelId, workflow: input.workflow, hierarchy: true, replyTo: input.replyTo };
      const parents = await runAll(
        run,
        specs.map((row) => ({ request: { ...base, path: row.path } })),
        undefined,
      );
      const children = others.map((row) => ({ request: { ...base, path: row.path } }));
      // Children wait for their parent (its key is their `parent` field), and are not created without it.
      const failedParent = parents.find((r) => r.status === 'failed' || r.status === 'needs-link');
      const items = failedParent
        ? [...parents, ...children.map(({ request }) => blockedBy(failedParent, request.path, specs[0]!.path))]
        : [...parents, ...(await runAll(run, children, undefined))];
      logger.info(
        { workflow: qualifiedName(workflow), user: input.user.userId, ...countByStatus(items), elapsedMs: Date.now() - started },
        'published every document of a workflow',
      );
      await notifier.batchFinished(input.replyTo, undefined, {
        workflow: (await reread(input)) ?? workflow,
        kind: 'documents',
        items,
        skippedDone: 0,
        elapsedMs: Date.now() - started,
      });
    });
  }

  async function reread(input: BatchInput): Promise<Workflow | undefined> {
    return service.authorize(input.channelId, input.workflow).catch(() => undefined);
  }

  /** What Create issues from tasks would create, where, and what it costs: the confirmation modal's content. */
  async function planTasks(input: Omit<BatchInput, 'replyTo'> & { path: string; issueType?: string | undefined }): Promise<TaskPlan> {
    const documentPath = validateDocumentPath(input.path);
    const workflow = await service.authorize(input.channelId, input.workflow);
    const settings = await requireSettings(workflow.namespace);
    const document = await deps.documents.read(workflow, documentPath);
    const plan = planFrom(workflow, settings, document, input.issueType);
    const budget = await deps.budget?.(settings).catch((error: unknown) => {
      logger.info({ err: error }, 'could not read the Jira request budget for a task plan');
      return undefined;
    });
    return { ...plan, budget };
  }

  function planFrom(workflow: Workflow, settings: JiraSettings, document: DocumentContent, issueType?: string): TaskPlan {
    const { tasks } = parseTasks(document.markdown);
    const linkedPaths = new Set(workflow.jiraLinks.map((l) => l.path));
    const open = tasks.filter((t) => !t.done);
    const existing = open.filter((t) => linkedPaths.has(taskPath(document.path, t.id)));
    const toCreate = open.filter((t) => !linkedPaths.has(taskPath(document.path, t.id)));
    const placement = taskPlacement(workflow, settings, document.path, issueType);
    const publishesDocumentFirst = placement.under === 'document' && placement.parentKey === undefined;
    return {
      workflow,
      settings,
      documentPath: document.path,
      toCreate,
      existing,
      done: tasks.filter((t) => t.done),
      placement,
      parentUrl: placement.parentKey === undefined ? undefined : deps.jira.browseUrl(settings.siteUrl, placement.parentKey),
      publishesDocumentFirst,
      requests: (toCreate.length + (publishesDocumentFirst ? 1 : 0)) * perCreate,
    };
  }

  /** Create issues from tasks: one issue per open task without one, with progress in the workflow's thread. */
  async function createTaskIssues(input: BatchInput & { path: string; issueType?: string | undefined }): Promise<void> {
    const started = Date.now();
    const documentPath = validateDocumentPath(input.path);
    const workflow = await service.authorize(input.channelId, input.workflow);
    const what = `Creating issues from \`${documentPath}\``;
    const name = `batch:${qualifiedName(workflow)}:${documentId(workflow, documentPath)}`;
    await exclusively(name, what, async () => {
      // A run cut short (a crash) left its progress message counting: it says so, and this run goes on.
      const left = await deps.store.get<ProgressHandle>(`progress:${name}`);
      if (left) {
        await notifier
          .batchInterrupted(left, { workflow, documentPath })
          .catch((error: unknown) => logger.info({ err: error }, 'could not mark an interrupted progress message'));
        await deps.store.delete(`progress:${name}`);
      }
      // Planned again under the lease: the modal's numbers may be minutes old.
      const settings = await requireSettings(workflow.namespace);
      const document = await deps.documents.read(workflow, documentPath);
      const plan = planFrom(workflow, settings, document, input.issueType);
      const summary = (items: BatchItemResult[]) => ({
        workflow: plan.workflow,
        kind: 'tasks' as const,
        documentPath,
        items,
        skippedDone: plan.done.length,
        elapsedMs: Date.now() - started,
      });
      const alreadyThere = plan.existing.map((task) => existingResult(plan, task, deps.jira));
      if (plan.toCreate.length === 0) {
        await notifier.batchFinished(input.replyTo, undefined, summary(alreadyThere));
        return;
      }
      // Every task starts from the workflow read for the plan (a task's parent is already in it).
      const run = begin(input, { kind: 'tasks', path: documentPath }, plan.workflow);
      if (!(await linked(run))) return;

      const total = plan.toCreate.length;
      const handle = await notifier
        .batchStarted(input.replyTo, { workflow: plan.workflow, documentPath, total })
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'could not post the progress message of a batch');
          return undefined;
        });
      if (handle) await deps.store.set(`progress:${name}`, handle, PROGRESS_RECORD_MS);
      const progress = progressSender(handle, plan.workflow, documentPath, total);
      const base = { user: input.user, channelId: input.channelId, workflow: input.workflow, replyTo: input.replyTo };

      let parentFailure: BatchItemResult | undefined;
      // Sub-tasks need their parent, the tasks document's issue: without it none is attempted.
      if (plan.publishesDocumentFirst) {
        const parent = await publishOne(run, { ...base, path: documentPath, hierarchy: true }, document);
        if (parent.status === 'failed' || parent.status === 'needs-link') parentFailure = parent;
        // The Sub-tasks' parent is the link just written: their drafts must see it.
        run.workflow = await reread(input);
      }
      let done = 0;
      const created = parentFailure
        ? plan.toCreate.map((task) => ({ ...blockedBy(parentFailure!, taskPath(documentPath, task.id), documentPath), taskId: task.id }))
        : await runAll(
            run,
            plan.toCreate.map((task) => ({
              request: { ...base, path: taskPath(documentPath, task.id), issueType: input.issueType, hierarchy: true },
              taskId: task.id,
            })),
            document,
            () => progress?.push(++done),
          );
      const items = [...created, ...alreadyThere];
      logger.info(
        {
          workflow: qualifiedName(workflow),
          path: documentPath,
          user: input.user.userId,
          ...countByStatus(items),
          elapsedMs: Date.now() - started,
        },
        'created issues from tasks',
      );
      // Read again so the summary (and a refreshed document list) shows the links just written.
      const final = { ...summary(items), workflow: (await reread(input)) ?? plan.workflow };
      if (progress)
        await progress.close(done).catch((error: unknown) => logger.warn({ err: error }, 'could not edit the progress message'));
      await notifier.batchFinished(input.replyTo, handle, final);
      if (handle) await deps.store.delete(`progress:${name}`);
    });
  }

  function progressSender(handle: ProgressHandle | undefined, workflow: Workflow, documentPath: string, total: number) {
    if (!handle) return undefined;
    return new CoalescingSender<number>((done) => notifier.batchProgress(handle, { workflow, documentPath, done, total }), {
      intervalMs: options.progressIntervalMs ?? 1000,
      onError: (error) => logger.info({ err: error }, 'could not edit the progress message of a batch'),
    });
  }

  return { publishAll, planTasks, createTaskIssues, resumeAfterLink };
}

interface BatchRun {
  readonly input: BatchInput;
  /** The workflow as this batch last read it: its items start from it instead of reading it again. */
  workflow: Workflow | undefined;
  /** Saves the batch to resume once the user connects Atlassian, and asks them to (once per run). */
  park(reason: 'missing' | 'broken'): Promise<void>;
}

export type BatchService = ReturnType<typeof createBatchService>;

function existingResult(plan: TaskPlan, task: PlanTask, jira: Pick<JiraGateway, 'browseUrl'>): BatchItemResult {
  const path = taskPath(plan.documentPath, task.id);
  const key = plan.workflow.jiraLinks.find((l) => l.path === path)?.jiraKey;
  const issue =
    key === undefined ? undefined : { key, url: jira.browseUrl(plan.settings.siteUrl, key), summary: taskSummary(task), issueType: '' };
  return { path, taskId: task.id, status: 'existing', issue };
}

/** An item not attempted because its parent issue (the spec's, the tasks document's) could not be created. */
function blockedBy(parent: BatchItemResult, path: string, parentPath: string): BatchItemResult {
  if (parent.status === 'needs-link') return { path, status: 'needs-link' };
  const reason = parent.error?.userMessage ?? 'it failed';
  return { path, status: 'failed', error: errors.parentNotCreated(parentPath, reason) };
}

function countByStatus(items: BatchItemResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item.status] = (counts[item.status] ?? 0) + 1;
  return counts;
}
