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
import type { Logger } from 'pino';
import { errors, logLevelOf, toVteamError } from '../errors.ts';
import { CoalescingSender } from '../lib/coalescing-sender.ts';
import type { KeyValueStore, LockService } from '../storage/types.ts';
import { createBatchItems, type BatchInput, type BatchItemsDeps } from './batch-items.ts';
import type { DocumentRows } from './document-rows.ts';
import { documentId } from './issue-content.ts';
import type { JiraSettings, SlackUserRef, Workflow } from './model.ts';
import { validateDocumentPath } from './paths.ts';
import type {
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
import { existingResult, planTasksOf, type TaskPlan } from './task-plan.ts';
import { splitTaskPath, taskPath } from './tasks.ts';

export type { BatchInput } from './batch-items.ts';

export interface BatchServiceDeps extends BatchItemsDeps {
  service: Pick<PublishService, 'authorize' | 'publishItem' | 'resume'>;
  rows: DocumentRows;
  documents: Pick<DocumentSource, 'read'>;
  projects: Pick<ProjectDirectory, 'jiraSettings'>;
  jira: Pick<JiraGateway, 'browseUrl'>;
  locks: LockService;
  /** Batch progress and summaries; the Connect prompt, and what became of a batch that waited for it. */
  notifier: BatchNotifier & Pick<PublishNotifier, 'needsLink' | 'pendingDropped' | 'failed'>;
  /** The shared store: where a running batch's progress message is remembered, for the run after a crash. */
  store: Pick<KeyValueStore, 'get' | 'set' | 'delete'>;
  budget?: JiraBudget | undefined;
  logger: Logger;
  options: BatchItemsDeps['options'] & {
    leaseMs: number;
    /** Shortest time between two edits of the progress message. Default 1 s. */
    progressIntervalMs?: number | undefined;
    /** Upstream requests one create costs (behind MCP Context Forge, 4). Default 1. */
    requestsPerCreate?: number | undefined;
  };
}

/** A batch's own lease (renewed at a third of it while the batch runs). */
const BATCH_LEASE_MS = 10_000;
/** How long a running batch's progress message is remembered: longer than any batch runs. */
const PROGRESS_RECORD_MS = 24 * 3600_000;

export function createBatchService(deps: BatchServiceDeps) {
  const { service, locks, notifier, logger, options } = deps;
  const perCreate = options.requestsPerCreate ?? 1;
  const browseUrl = (siteUrl: string, key: string) => deps.jira.browseUrl(siteUrl, key);
  const { begin, linked, publishOne, runAll } = createBatchItems(deps);

  async function requireSettings(namespace: string): Promise<JiraSettings> {
    const { settings, secretName } = await deps.projects.jiraSettings(namespace);
    if (!settings) throw errors.notConfigured(namespace, secretName);
    return settings;
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
    const plan = planTasksOf(workflow, settings, document, { issueType: input.issueType, requestsPerCreate: perCreate, browseUrl });
    const budget = await deps.budget?.(settings).catch((error: unknown) => {
      logger.info({ err: error }, 'could not read the Jira request budget for a task plan');
      return undefined;
    });
    return { ...plan, budget };
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
      const plan = planTasksOf(workflow, settings, document, { issueType: input.issueType, requestsPerCreate: perCreate, browseUrl });
      const summary = (items: BatchItemResult[]) => ({
        workflow: plan.workflow,
        kind: 'tasks' as const,
        documentPath,
        items,
        skippedDone: plan.done.length,
        elapsedMs: Date.now() - started,
      });
      const alreadyThere = plan.existing.map((task) => existingResult(plan, task, browseUrl));
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

export type BatchService = ReturnType<typeof createBatchService>;

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
