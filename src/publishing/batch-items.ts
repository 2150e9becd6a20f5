/**
 * How a batch runs its items: each one an ordinary publish (publish-service's publishItem) whose
 * outcome is collected instead of told, a few at a time, stopping when the user turns out not to be
 * linked (the whole batch then waits for the Connect prompt's answer).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errors } from '../errors.ts';
import type { DocumentContent, PublishRequest, ReplyTo, SlackUserRef, Workflow, WorkflowRef } from './model.ts';
import type { AccountLinks, BatchItemResult, PublishNotifier } from './ports.ts';
import type { PublishService } from './publish-service.ts';
import { qualifiedName } from './resolve-workflow.ts';
import type { PendingBatch, PendingPublishes } from './user-records.ts';

export interface BatchInput {
  user: SlackUserRef;
  channelId: string;
  workflow: WorkflowRef;
  replyTo: ReplyTo;
}

export interface BatchItemsDeps {
  service: Pick<PublishService, 'publishItem'>;
  links: AccountLinks;
  pending: PendingPublishes;
  notifier: Pick<PublishNotifier, 'needsLink'>;
  options: {
    /** Items of one batch in flight at once (the rate limiter still decides when each is sent). */
    concurrency: number;
    /** How long an item another worker is publishing is waited for before it is reported. Default 60 s. */
    busyItemWaitMs?: number | undefined;
    wait?: (ms: number) => Promise<unknown>;
  };
}

const BUSY = 'PUBLISH_IN_PROGRESS';

export function createBatchItems(deps: BatchItemsDeps) {
  const { service, notifier, options } = deps;
  const wait = options.wait ?? sleep;

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

  return { begin, linked, publishOne, runAll };
}

export interface BatchRun {
  readonly input: BatchInput;
  /** The workflow as this batch last read it: its items start from it instead of reading it again. */
  workflow: Workflow | undefined;
  /** Saves the batch to resume once the user connects Atlassian, and asks them to (once per run). */
  park(reason: 'missing' | 'broken'): Promise<void>;
}
