/**
 * The part of a publish that runs under the document's lease: find or create the issue, then link it.
 * Exactly once rests on evidence that outlives any one worker or store:
 * - the CR's jiraLinks: the truth of "published";
 * - an in-flight record on the CR (written before the create, removed with the link) and a journal
 *   entry in the shared store: "an issue may exist", so the next worker searches by label first;
 * - the lease, confirmed (fenced) right before each side effect, so a worker that lost it never acts.
 * Jira's search is eventually consistent: an issue created moments ago may not be found yet, so the
 * search is repeated until `settleMs` after the attempt that may have created it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { errors, isVteamError } from '../errors.ts';
import type { HeldLease } from '../storage/types.ts';
import { BOT_LABEL, idempotencyLabel, linkedIssue } from './issue-content.ts';
import type { IssueDrafts } from './issue-drafts.ts';
import type { Journal, JournalEntry } from './journal.ts';
import type { DocumentContent, JiraIssue, JiraSettings, PublishRequest, ReplyTo, Workflow, WorkflowRef } from './model.ts';
import type { JiraGateway, PublishNotifier, WorkflowRepository } from './ports.ts';
import type { RateLimitWaits } from './rate-limit-waits.ts';
import { qualifiedName } from './resolve-workflow.ts';
import type { PublishHistory } from './user-records.ts';

export interface PublishAttemptDeps {
  workflows: WorkflowRepository;
  /** What to create for the request's path (a document, or one task of a tasks document). */
  drafts: IssueDrafts;
  jira: JiraGateway;
  journal: Journal;
  history: PublishHistory;
  notifier: PublishNotifier;
  rateLimitWaits: RateLimitWaits;
  logger: Logger;
  /** How long after a possibly successful create the label search may still miss the issue. */
  settleMs: number;
  now?: () => number;
  wait?: (ms: number) => Promise<unknown>;
}

export interface Attempt {
  request: PublishRequest;
  settings: JiraSettings;
  lease: HeldLease;
  /** The journal record of an earlier, interrupted attempt, if the store still has one. */
  entry: JournalEntry | undefined;
  recovered: boolean;
  /**
   * False for background recovery of an attempt whose user was already told it failed, or whose
   * journal is gone: find and link, never create behind the user's back.
   */
  createIfMissing: boolean;
  /**
   * The workflow as read just before the lease was taken, saving a second read. Safe because the
   * in-flight record is written only over this very version, or over a later one that left the path
   * as it was (markInFlight); otherwise the attempt decides again on the workflow as it is now.
   */
  workflow?: Workflow | undefined;
  /** The request's document, already read by the caller (a batch reads its tasks document once). */
  document?: DocumentContent | undefined;
  /** The publish's own logger (bound to its publishId); default: the module's. */
  logger?: Logger | undefined;
  /** The publish's own notifier (it records the outcome); default: the module's. */
  notifier?: PublishNotifier | undefined;
  /** Called each time the attempt starts waiting on Jira: its preparation is over (see PreparationGate). */
  waitingOnJira?: (() => void) | undefined;
}

/** `linked`: the document has its issue (now or already); `absent`: nothing found and nothing created. */
export type AttemptOutcome = 'linked' | 'absent';

export function createPublishAttempts(deps: PublishAttemptDeps) {
  const { workflows, drafts, jira, journal, history, rateLimitWaits, settleMs } = deps;
  const now = deps.now ?? Date.now;
  const wait = deps.wait ?? sleep;
  const logOf = (attempt: Attempt) => attempt.logger ?? deps.logger;
  const notifierOf = (attempt: Attempt) => attempt.notifier ?? deps.notifier;

  /** Searches by label until found or `settleMs` after `since` (the possibly creating attempt). */
  async function findEarlier(attempt: Attempt, workflow: Workflow, since: number): Promise<JiraIssue | undefined> {
    const { request, settings } = attempt;
    const label = idempotencyLabel(workflow, request.path);
    for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
      attempt.waitingOnJira?.();
      const found = await rateLimitWaits(
        request.replyTo,
        workflow,
        request.path,
        (callOptions) =>
          jira.findIssueByLabel(request.user, { siteUrl: settings.siteUrl, projectKey: settings.projectKey, label }, callOptions),
        logOf(attempt),
      );
      const left = since + settleMs - now();
      if (found || left <= 0) return found;
      logOf(attempt).debug(
        { workflow: qualifiedName(workflow), path: request.path, leftMs: left },
        "no issue found by label yet; Jira's search may lag, searching again",
      );
      await wait(Math.min(delay, left));
    }
  }

  async function run(attempt: Attempt): Promise<AttemptOutcome> {
    let workflow = attempt.workflow ?? (await workflows.get(attempt.request.workflow));
    for (let round = 1; ; round += 1) {
      if (!workflow) throw errors.workflowNotFound(qualifiedName(attempt.request.workflow));
      const result = await runOn(attempt, workflow);
      if (typeof result === 'string') return result;
      // Someone acted on this document between our read and our write: decide again on what is there now.
      if (round >= MAX_ROUNDS) throw errors.publishInterrupted(attempt.request.path, new Error('the workflow kept changing'));
      workflow = result.changed;
    }
  }

  async function runOn(attempt: Attempt, read: Workflow): Promise<AttemptOutcome | { changed: Workflow }> {
    const { request, settings, lease, entry, recovered } = attempt;
    const { user, replyTo, path } = request;
    const logger = logOf(attempt);
    const notifier = notifierOf(attempt);
    let workflow: Workflow = read;
    const intent = workflow.inFlight?.find((i) => i.path === path);

    const link = workflow.jiraLinks.find((l) => l.path === path);
    if (link) {
      if (intent) {
        await lease.confirm();
        await workflows.clearInFlight(workflow, path);
      }
      if (entry?.issue?.key === link.jiraKey) {
        // This attempt's own issue is linked, but the process died before its user was told (the
        // journal entry is removed only after the reply): tell them now.
        await announce(attempt, workflow, entry.issue, true);
        return 'linked';
      }
      if (entry) await journal.remove(workflow, path);
      const issue = linkedIssue(workflow, path, link.jiraKey, jira.browseUrl(settings.siteUrl, link.jiraKey));
      await notifier.alreadyLinked(replyTo, { workflow, path, issue });
      return 'linked';
    }

    let issue = entry?.state === 'created' ? entry.issue : undefined;
    let created = false;
    if (!issue && (entry || intent)) {
      // An earlier attempt may have created the issue: look before creating.
      issue = await findEarlier(attempt, workflow, Math.max(entry?.updatedAt ?? 0, intent?.since ?? 0));
      if (!issue && !attempt.createIfMissing) {
        await lease.confirm();
        if (intent) await workflows.clearInFlight(workflow, path);
        if (entry) await journal.remove(workflow, path);
        logger.info(
          { workflow: qualifiedName(workflow), path, state: entry?.state ?? 'in-flight record' },
          'an interrupted publish left no issue; its records are cleared',
        );
        return 'absent';
      }
      if (issue) logger.info({ workflow: qualifiedName(workflow), path, jiraKey: issue.key }, 'found the issue an earlier attempt created');
    }

    if (!issue) {
      const made = await create(attempt, workflow);
      if ('changed' in made) return made;
      ({ issue, workflow } = made);
      created = true;
    }

    // Best effort: the in-flight record on the CR is the evidence that counts if this write fails.
    await journal
      .put({
        state: 'created',
        workflow: ref(workflow),
        path,
        label: idempotencyLabel(workflow, path),
        user,
        issueType: request.issueType,
        hierarchy: request.hierarchy,
        replyTo,
        issue,
      })
      .catch((error: unknown) =>
        logger.warn(
          { err: error, workflow: qualifiedName(workflow), path },
          'could not journal the created issue; the record on the workflow stands for it',
        ),
      );
    await lease.confirm();
    const outcome = await workflows.upsertJiraLink(workflow, { path, jiraKey: issue.key });
    workflow = outcome.workflow;

    if (outcome.existingKey !== undefined) {
      await forget(workflow, path, logger);
      logger.warn(
        { workflow: qualifiedName(workflow), path, existingKey: outcome.existingKey, duplicateKey: issue.key, created },
        'the document already links another issue; kept it, reported the duplicate',
      );
      const existing = linkedIssue(workflow, path, outcome.existingKey, jira.browseUrl(settings.siteUrl, outcome.existingKey));
      await notifier.alreadyLinked(replyTo, { workflow, path, issue: existing, duplicate: issue });
      return 'linked';
    }
    logger.info({ workflow: qualifiedName(workflow), path, jiraKey: issue.key, created, recovered }, 'published');
    await announce(attempt, workflow, issue, created);
    return 'linked';
  }

  /**
   * Tells the user, then drops the journal entry: a crash before the reply leaves the entry, and
   * recovery tells them. A reply that fails is retried once by recovery, not forever.
   */
  async function announce(attempt: Attempt, workflow: Workflow, issue: JiraIssue, created: boolean): Promise<void> {
    const {
      request: { user, replyTo, path },
      recovered,
    } = attempt;
    const logger = logOf(attempt);
    // The history (App Home) is recorded beside the reply, not before it: the user waits for the reply.
    const recorded = history
      .add(user, { workflow: ref(workflow), title: workflow.title, path, issue: { key: issue.key, url: issue.url }, at: now() })
      .catch((error: unknown) => logger.warn({ err: error }, 'could not record the publish in the user history'));
    try {
      await notifierOf(attempt).published(replyTo, { workflow, path, issue, user, created, recovered });
    } catch (error) {
      await recorded;
      logger.warn(
        { err: error, workflow: qualifiedName(workflow), path, jiraKey: issue.key },
        recovered ? 'could not tell the user about a recovered publish; giving up' : 'could not tell the user; recovery will try again',
      );
      if (!recovered) return;
    }
    await Promise.all([recorded, forget(workflow, path, logger)]);
  }

  async function forget(workflow: WorkflowRef, path: string, logger: Logger): Promise<void> {
    await journal
      .remove(workflow, path)
      .catch((error: unknown) =>
        logger.warn(
          { err: error, workflow: qualifiedName(workflow), path },
          'could not clear the journal entry; recovery will find the link and clear it',
        ),
      );
  }

  /**
   * Records the intent (CR, then journal), then creates with the lease confirmed right before sending.
   * The document is read (and the issue drafted) while the intent is written: neither needs the other.
   */
  async function create(attempt: Attempt, current: Workflow): Promise<{ issue: JiraIssue; workflow: Workflow } | { changed: Workflow }> {
    const { request, settings, lease } = attempt;
    const { user, replyTo, path } = request;
    const logger = logOf(attempt);
    const label = idempotencyLabel(current, path);
    const [read, marked] = await Promise.allSettled([
      drafts(current, request, settings, attempt.document),
      lease
        .confirm()
        .then(() => workflows.markInFlight(current, { path, since: now(), fence: lease.token, user, replyTo: durableReplyTo(replyTo) })),
    ]);
    if (marked.status === 'rejected') throw marked.reason;
    if (marked.value.changed) return { changed: marked.value.workflow };
    const workflow = marked.value.workflow;
    if (read.status === 'rejected') {
      // Nothing will be created: take the record back, or recovery would later search for an issue that never was.
      await lease
        .confirm()
        .then(() => workflows.clearInFlight(workflow, path))
        .catch((error: unknown) => logger.warn({ err: error }, 'could not clear the in-flight record of an unread document'));
      throw read.reason;
    }
    const draft = read.value;
    const recorded = { workflow: ref(workflow), path, label, user, issueType: request.issueType, hierarchy: request.hierarchy, replyTo };
    await journal.put({ state: 'creating', ...recorded });
    try {
      attempt.waitingOnJira?.();
      const issue = await rateLimitWaits(
        replyTo,
        workflow,
        path,
        (callOptions) =>
          jira.createIssue(
            user,
            {
              siteUrl: settings.siteUrl,
              projectKey: settings.projectKey,
              issueType: draft.issueType,
              summary: draft.summary,
              description: draft.description,
              parentKey: draft.parentKey,
              labels: [BOT_LABEL, label],
            },
            { ...callOptions, beforeSend: () => lease.confirm() },
          ),
        logger,
      );
      return { issue, workflow };
    } catch (error) {
      if (isVteamError(error) && error.outcomeUnknown) {
        // The records stay: the next attempt searches before it creates.
        await journal
          .put({ state: 'uncertain', ...recorded })
          .catch((e: unknown) =>
            logger.warn({ err: e }, 'could not journal an uncertain create; the record on the workflow stands for it'),
          );
      } else if (isVteamError(error)) {
        // Jira refused: nothing exists, so nothing needs finding later.
        await Promise.all([journal.remove(workflow, path), workflows.clearInFlight(workflow, path)]).catch((e: unknown) =>
          logger.warn({ err: e }, 'could not clear the records of a refused create; the next publish searches once more'),
        );
      }
      // Anything else (a lost lease) leaves the records to whoever holds the lease next.
      throw error;
    }
  }

  return { run };
}

/** URLs (Slack's response_url) are not written to the cluster; the rest of a reply target is ids. */
function durableReplyTo(replyTo: ReplyTo): ReplyTo {
  return Object.fromEntries(
    Object.entries(replyTo).filter(([, value]) => typeof value !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)),
  );
}

/** Decisions taken again after someone changed the document's state between our read and our write. */
const MAX_ROUNDS = 4;

function ref(workflow: WorkflowRef): WorkflowRef {
  return { namespace: workflow.namespace, name: workflow.name };
}
