/**
 * Live workflow cards: one parent card per workflow per bound channel, kept up to date from a watch.
 *
 * Every replica runs leader election; only the leader watches (RFEWorkflows and projectsettings,
 * cluster-wide), computes the bindings and writes cards. Publishes keep working on every replica: the
 * publish path finds the card through the same store records (card-threads.ts).
 *
 * Work is "look at workflow K in channel C": queued per channel (deduplicated, so a burst of events
 * for one workflow is one look), run against the latest cached state. Documents are listed once per
 * workflow content and resync generation, with bounded concurrency (they cost GitHub calls).
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { Workflow, WorkflowRef } from '../publishing/model.ts';
import type { DocumentRow } from '../publishing/model.ts';
import { createChannelProblems } from '../storage/channel-problems.ts';
import type { KeyValueStore, LockService } from '../storage/types.ts';
import type { Informer, InformerOptions } from '../vteam/informer.ts';
import { apiServerOf, type KubeClients } from '../vteam/kube-clients.ts';
import { describeKubeFailure, kubeFailureFields, kubeFailureSummary } from '../vteam/kube-errors.ts';
import { createLeaderElector, type LeaderElector } from '../vteam/leader-election.ts';
import { leaseNamespace } from '../vteam/lease-namespace.ts';
import { CardQueue, type CardPriority } from './card-queue.ts';
import { createCardReconciler, type CardOutcome } from './card-reconciler.ts';
import { createCardStore } from './card-store.ts';
import { bindingInformer, managedNamespaces, workflowInformer, type ChannelBinding } from './sources.ts';
import { createSlackWriter, UnpostableChannelError } from './slack-writer.ts';

export interface CardServiceOptions {
  kube: Pick<KubeClients, 'kubeConfig' | 'customObjects' | 'core' | 'coordination' | 'callOptions'>;
  store: KeyValueStore;
  locks: LockService;
  /** A client that rejects rate-limited calls (createCardsSlackClient), not Bolt's retrying one. */
  client: WebClient;
  rowsOf: (workflow: Workflow) => Promise<DocumentRow[]>;
  metrics?: Pick<Metrics, 'cardsPosted' | 'cardsUpdated' | 'reportCardsQueued' | 'watchRestarts' | 'cardsLeader'> | undefined;
  /** Bound by the caller (the composition root binds `component: cards`); the service adds no binding of its own. */
  logger: Logger;
  vteamUrl?: string | undefined;
  leaderElection: { namespace?: string | undefined; leaseName: string; leaseMs: number; identity: string };
  /** Full re-look at every card (documents are listed again). */
  resyncMs: number;
  /** Minimum spacing of writes per channel. Default 1000 ms. */
  postIntervalMs?: number;
  /** How long a link seen in the CR waits for the publish path to announce it. Default 10 s. */
  announceGraceMs?: number;
  /** Parallel document listings. Default 4. */
  concurrency?: number;
  /** Watch tuning (tests shorten these). */
  informer?: Pick<InformerOptions<unknown>, 'backoff' | 'notServedRetryMs' | 'pageSize' | 'watchTimeoutSeconds'>;
  /** Lease renew period. Default leaseMs / 5. */
  leaseRetryMs?: number;
}

export interface CardService {
  start(): Promise<void>;
  /** Stops watching and writing; releases the lease so another replica takes over at once. */
  stop(options?: { release?: boolean }): Promise<void>;
  isLeader(): boolean;
  /** Resolves when the leader has looked at every bound workflow once since it started leading. */
  idle(): Promise<void>;
  stats(): CardServiceStats;
}

export interface CardServiceStats {
  leader: boolean;
  identity: string;
  workflows: number;
  bindings: number;
  queued: number;
  posted: number;
  updated: number;
  replies: number;
  blockedChannels: string[];
  watches: ReturnType<Informer<unknown>['stats']>[];
}

const RETRY_AFTER_FAILURE_MS = 30_000;

export function createCardService(options: CardServiceOptions): CardService {
  const { kube, store, locks, client, logger: log } = options;
  const cards = createCardStore(store);
  const problems = createChannelProblems(store);
  const writer = createSlackWriter({ client, problems, logger: log, intervalMs: options.postIntervalMs });
  const concurrency = options.concurrency ?? 4;
  let elector: LeaderElector | undefined;
  let leading = false;

  const reconciler = createCardReconciler({
    cards,
    locks,
    writer,
    logger: log,
    vteamUrl: options.vteamUrl,
    announceGraceMs: options.announceGraceMs ?? 10_000,
    mayWrite: () => leading,
  });

  // ── State while leading ──
  let workflows: Informer<Workflow> | undefined;
  let settings: Informer<ChannelBinding> | undefined;
  /** namespace → bound channels (managed projects only). */
  let bindings = new Map<string, string[]>();
  let resyncTimer: NodeJS.Timeout | undefined;
  let bindingsTimer: NodeJS.Timeout | undefined;
  const wakeTimers = new Map<string, NodeJS.Timeout>();
  let generation = 0;
  const counts = { posted: 0, updated: 0, replies: 0 };

  // ── Per-channel work queues ──
  const queues = new Map<string, CardQueue>();
  const failures = new Map<string, number>();
  let idleWaiters: (() => void)[] = [];

  const queuedCount = () => [...queues.values()].reduce((n, q) => n + q.size + (q.running ? 1 : 0), 0);
  options.metrics?.reportCardsQueued(queuedCount);
  /** vteam_slack_cards_leader follows the Lease: 1 from winning it until losing or releasing it. */
  const reportLeader = (leader: boolean) => options.metrics?.cardsLeader.set(leader ? 1 : 0);
  reportLeader(false);

  /** Work nobody awaits (timers, watch callbacks): a failure is logged, never an unhandled rejection. */
  function inBackground(what: string, work: () => Promise<void>): void {
    work().catch((error: unknown) => log.error({ err: error }, `${what} failed`));
  }

  function enqueue(channelId: string, key: string, priority: CardPriority = 'sweep'): void {
    if (!leading) return;
    let queue = queues.get(channelId);
    if (!queue) queues.set(channelId, (queue = new CardQueue()));
    queue.add(key, priority);
    if (!queue.running) inBackground('card queue', () => pump(channelId, queue));
  }

  async function pump(channelId: string, queue: CardQueue): Promise<void> {
    queue.running = true;
    try {
      for (let key = queue.take(); leading && key !== undefined; key = queue.take()) {
        await look(channelId, key);
      }
    } finally {
      queue.running = false;
      if (queue.size === 0) queues.delete(channelId);
      if (queues.size === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }

  /** One card: workflow K as cached now, in channel C. */
  async function look(channelId: string, key: string): Promise<void> {
    const ref = refOf(key);
    const workflow = workflows?.get(key);
    const pair = `${channelId} ${key}`;
    try {
      if (await writer.isBlocked(channelId)) return;
      let outcome: CardOutcome;
      if (workflow) {
        if (!bindings.get(workflow.namespace)?.includes(channelId)) return; // unbound meanwhile
        outcome = await reconciler.sync(channelId, workflow, await rowsFor(workflow));
      } else {
        if (!workflows?.synced() || !workflows.served()) return; // absence means nothing yet
        outcome = await reconciler.markDeleted(channelId, ref);
      }
      failures.delete(pair);
      if (outcome.posted) {
        counts.posted++;
        options.metrics?.cardsPosted.inc();
      }
      if (outcome.updated) {
        counts.updated++;
        options.metrics?.cardsUpdated.inc();
      }
      if (outcome.replied) counts.replies++;
      if (outcome.wakeAt !== undefined) wakeAt(channelId, key, outcome.wakeAt, 'change'); // a pending link's grace ended
    } catch (error) {
      if (error instanceof UnpostableChannelError) {
        queues.get(channelId)?.clear();
        return;
      }
      const attempt = (failures.get(pair) ?? 0) + 1;
      failures.set(pair, attempt);
      log.warn({ err: error, channelId, workflow: key, attempt }, 'could not bring the workflow card up to date');
      // A few retries; after that the periodic resync tries again.
      if (attempt <= 5) wakeAt(channelId, key, Date.now() + RETRY_AFTER_FAILURE_MS * attempt, 'sweep');
    }
  }

  function wakeAt(channelId: string, key: string, at: number, priority: CardPriority): void {
    const id = `${channelId} ${key}`;
    clearTimeout(wakeTimers.get(id));
    const timer = setTimeout(
      () => {
        wakeTimers.delete(id);
        enqueue(channelId, key, priority);
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    wakeTimers.set(id, timer);
  }

  // ── Document rows, shared by the channels of a workflow ──
  const rowsCache = new Map<string, { fingerprint: string; generation: number; expiresAt: number; rows: Promise<DocumentRow[]> }>();
  let listing = 0;
  const listingWaiters: (() => void)[] = [];
  async function limited<T>(work: () => Promise<T>): Promise<T> {
    while (listing >= concurrency) await new Promise<void>((resolve) => listingWaiters.push(resolve));
    listing++;
    try {
      return await work();
    } finally {
      listing--;
      listingWaiters.shift()?.();
    }
  }

  function rowsFor(workflow: Workflow): Promise<DocumentRow[]> {
    const key = `${workflow.namespace}/${workflow.name}`;
    const fingerprint = contentOf(workflow);
    const cached = rowsCache.get(key);
    if (cached && cached.fingerprint === fingerprint && cached.generation === generation && cached.expiresAt > Date.now())
      return cached.rows;
    const rows = limited(() => options.rowsOf(workflow));
    rowsCache.set(key, { fingerprint, generation, expiresAt: Date.now() + 60_000, rows });
    rows.catch(() => rowsCache.delete(key));
    if (rowsCache.size > 2_000) for (const [k, v] of rowsCache) if (v.expiresAt <= Date.now()) rowsCache.delete(k);
    return rows;
  }

  // ── Reacting to the cluster ──
  function workflowChanged(key: string, workflow: Workflow, previous?: Workflow): void {
    // Status-only updates (resourceVersion moves, the card content does not) are not worth a look.
    if (previous && contentOf(previous) === contentOf(workflow)) return;
    for (const channelId of bindings.get(workflow.namespace) ?? []) enqueue(channelId, key, 'change');
  }

  function workflowDeleted(key: string, workflow: Workflow): void {
    rowsCache.delete(key);
    for (const channelId of bindings.get(workflow.namespace) ?? []) enqueue(channelId, key, 'change');
  }

  function scheduleBindings(): void {
    clearTimeout(bindingsTimer);
    bindingsTimer = setTimeout(() => inBackground('channel bindings', recomputeBindings), 50);
    bindingsTimer.unref();
  }

  /**
   * Leadership can end (and start again, with new informers) during any await: work that began with
   * these informers goes on only while they are still the current ones.
   */
  const stillLeadingWith = (informer: Informer<unknown>) => leading && (informer === workflows || informer === settings);

  /** Bindings = projectsettings channels of managed namespaces; newly bound pairs get their cards. */
  async function recomputeBindings(): Promise<void> {
    const watched = settings;
    if (!leading || !watched?.synced()) return;
    let managed: Set<string>;
    try {
      managed = await managedNamespaces(kube, log);
    } catch (error) {
      const failure = describeKubeFailure(error, apiServerOf(kube.kubeConfig));
      log.warn(
        kubeFailureFields(failure, error),
        `could not list the managed namespaces (${kubeFailureSummary(failure)}); bindings unchanged for now`,
      );
      if (!stillLeadingWith(watched)) return;
      bindingsTimer = setTimeout(() => inBackground('channel bindings', recomputeBindings), RETRY_AFTER_FAILURE_MS);
      bindingsTimer.unref();
      return;
    }
    if (!stillLeadingWith(watched)) return;
    const next = new Map<string, string[]>();
    for (const binding of watched.values()) {
      if (managed.has(binding.namespace) && binding.channels.length > 0) next.set(binding.namespace, binding.channels);
    }
    const before = bindings;
    bindings = next;
    for (const [namespace, channels] of next) {
      const added = channels.filter((c) => !(before.get(namespace) ?? []).includes(c));
      if (added.length === 0) continue;
      log.info({ namespace, channels: added }, 'new channel bindings: posting their cards');
      for (const workflow of workflows?.values() ?? []) {
        if (workflow.namespace === namespace) for (const channelId of added) enqueue(channelId, `${namespace}/${workflow.name}`);
      }
    }
  }

  /** Every bound workflow looked at again, documents listed afresh; cards of vanished workflows marked. */
  async function resync(): Promise<void> {
    const watched = workflows;
    if (!leading || !watched?.synced()) return;
    generation++;
    await recomputeBindings();
    if (!stillLeadingWith(watched)) return;
    for (const workflow of watched.values()) {
      for (const channelId of bindings.get(workflow.namespace) ?? []) enqueue(channelId, `${workflow.namespace}/${workflow.name}`);
    }
    if (!watched.served()) return;
    const stored = await cards.all().catch((error: unknown) => {
      log.warn({ err: error }, 'could not scan the stored cards');
    });
    if (!stored || !stillLeadingWith(watched)) return;
    for (const card of stored) {
      const key = `${card.ref.namespace}/${card.ref.name}`;
      if (!card.record.deleted && !watched.get(key)) enqueue(card.channelId, key);
    }
  }

  async function startLeading(): Promise<void> {
    leading = true;
    generation++;
    const moved = await cards.migrateLegacyKeys().catch((error: unknown) => {
      log.warn({ err: error }, 'card key migration failed');
      return 0;
    });
    if (moved > 0) log.info({ moved }, 'card records moved to channel-only keys');
    if (!leading) return;
    const common = { logger: log, metrics: options.metrics, ...options.informer };
    workflows = workflowInformer(kube, {
      ...common,
      onEvent: (event) => {
        if (event.type === 'deleted') workflowDeleted(event.key, event.object);
        else workflowChanged(event.key, event.object, event.previous);
      },
    });
    settings = bindingInformer(kube, { ...common, onEvent: scheduleBindings, onSynced: scheduleBindings });
    settings.start();
    workflows.start();
    // The first pass once both caches are filled; later passes on the resync period.
    const synced = Promise.all([workflows.whenSynced(), settings.whenSynced()]);
    inBackground('card resync', () => synced.then(resync));
    resyncTimer = setInterval(() => inBackground('card resync', resync), options.resyncMs);
    resyncTimer.unref();
  }

  async function stopLeading(): Promise<void> {
    leading = false;
    clearInterval(resyncTimer);
    clearTimeout(bindingsTimer);
    for (const timer of wakeTimers.values()) clearTimeout(timer);
    wakeTimers.clear();
    for (const queue of queues.values()) queue.clear();
    const stopping = [workflows?.stop(), settings?.stop()];
    workflows = undefined;
    settings = undefined;
    bindings = new Map();
    rowsCache.clear();
    await Promise.all(stopping);
  }

  function idle(): Promise<void> {
    if (queues.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => idleWaiters.push(resolve));
  }

  let transition: Promise<void> = Promise.resolve();
  const serially = (work: () => Promise<void>) => {
    transition = transition.then(work).catch((error: unknown) => log.error({ err: error }, 'card leadership transition failed'));
  };

  return {
    async start() {
      const namespace = await leaseNamespace(options.leaderElection.namespace, kube.kubeConfig);
      elector = createLeaderElector({
        coordination: kube.coordination,
        callOptions: kube.callOptions,
        namespace,
        name: options.leaderElection.leaseName,
        identity: options.leaderElection.identity,
        leaseMs: options.leaderElection.leaseMs,
        ...(options.leaseRetryMs ? { retryMs: options.leaseRetryMs } : {}),
        apiServer: apiServerOf(kube.kubeConfig),
        logger: log,
        onStartedLeading: () => {
          reportLeader(true);
          serially(startLeading);
        },
        onStoppedLeading: () => {
          leading = false;
          reportLeader(false);
          serially(stopLeading);
        },
      });
      elector.start();
    },
    async stop({ release = true } = {}) {
      await elector?.stop({ release });
      serially(stopLeading);
      await transition;
      // Let a write in progress finish (bounded), so a card is not left half-recorded.
      await Promise.race([idle(), new Promise((r) => setTimeout(r, 5_000).unref())]);
    },
    isLeader: () => leading,
    idle,
    stats() {
      return {
        leader: leading,
        identity: options.leaderElection.identity,
        workflows: workflows?.size() ?? 0,
        bindings: [...bindings.values()].reduce((n, c) => n + c.length, 0),
        queued: queuedCount(),
        ...counts,
        blockedChannels: writer.stats().blockedChannels,
        watches: [workflows?.stats(), settings?.stats()].filter((s) => s !== undefined),
      };
    },
  };
}

function refOf(key: string): WorkflowRef {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** What a card is rendered from, without the resourceVersion (status updates change only that). */
function contentOf(workflow: Workflow): string {
  const { resourceVersion: _ignored, ...content } = workflow;
  return JSON.stringify(content);
}
