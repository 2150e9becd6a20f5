/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it
 * (client-node 2.x ships no such helper):
 * - acquire or renew with the read resourceVersion, so of two replicas racing only one write wins (409);
 * - a lease held by someone else is taken over only after it has not changed for leaseDuration as
 *   measured by this replica's own clock since it last saw it change (no trust in other clocks);
 * - a leader that cannot renew for `renewDeadline` stops leading before its lease can expire elsewhere;
 * - stop() releases the lease (empty holder) so another replica takes over at once.
 *
 * While the API server cannot be reached a replica that does not lead retries with exponential
 * backoff (from the renew period up to 30 s, or 5 min when no cluster is configured at all), and says
 * so once: a warning naming the API server and the cause when the outage starts, debug lines for the
 * retries, "Kubernetes API reachable again" when it ends. A leader keeps its renew period, so that it
 * steps down in time.
 */
import { V1MicroTime, type CoordinationV1Api, type ConfigurationOptions, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { backoffDelay, formatDelay } from '../lib/backoff.ts';
import { describeKubeFailure, isConflict, isNotFound, kubeFailureFields, kubeFailureSummary, type KubeFailure } from './kube-errors.ts';

/** Longest wait between tries while the API server is unreachable. */
export const UNREACHABLE_BACKOFF_MAX_MS = 30_000;
/** Longest wait between tries when no cluster is configured (nothing will change until a restart). */
export const NOT_CONFIGURED_BACKOFF_MAX_MS = 300_000;

export interface LeaderElectorOptions {
  coordination: CoordinationV1Api;
  callOptions?: ConfigurationOptions;
  namespace: string;
  name: string;
  /** This replica's identity, e.g. the pod name. */
  identity: string;
  /** How long a lease stays valid without renewal. */
  leaseMs: number;
  /** How often the lease is renewed or tried. Default leaseMs / 5. */
  retryMs?: number;
  /** A leader that has not renewed for this long steps down. Default leaseMs * 2/3. */
  renewDeadlineMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  /** The API server, for log lines (apiServerOf(kubeConfig)). */
  apiServer?: string | undefined;
  /** Backoff caps; tests shorten them. */
  backoff?: { unreachableMaxMs?: number; notConfiguredMaxMs?: number } | undefined;
  logger?: Logger | undefined;
  now?: () => number;
}

export interface LeaderElector {
  start(): void;
  /** Stops trying; a leader releases the lease unless `release: false` (e.g. a test simulating a crash). */
  stop(options?: { release?: boolean }): Promise<void>;
  isLeader(): boolean;
  stats(): {
    identity: string;
    leader: boolean;
    holder: string | undefined;
    transitions: number;
    /** Consecutive failed tries (0 while the lease can be read and written). */
    failures: number;
  };
}

export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const { coordination, callOptions, namespace, name, identity, logger } = options;
  const now = options.now ?? Date.now;
  const leaseSeconds = Math.max(1, Math.round(options.leaseMs / 1000));
  const retryMs = options.retryMs ?? Math.max(100, Math.floor(options.leaseMs / 5));
  const renewDeadlineMs = options.renewDeadlineMs ?? Math.floor((options.leaseMs * 2) / 3);

  let leader = false;
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastRenewed = 0;
  /** The last record seen and when (locally) it was first seen in that form. */
  let observed: { fingerprint: string; holder: string | undefined; at: number } | undefined;
  let transitions = 0;
  const apiServer = options.apiServer ?? 'the configured API server';
  /** Consecutive failed tries, and the failure that started the run (its first log line). */
  let failures = 0;
  let outage: (KubeFailure & { since: number }) | undefined;
  /** The wait after a failed try, when it is not the renew period. */
  let retryInMs: number | undefined;

  function setLeader(next: boolean): void {
    if (next === leader) return;
    leader = next;
    transitions++;
    logger?.info({ identity, lease: `${namespace}/${name}` }, next ? 'became the leader' : 'stopped being the leader');
    try {
      (next ? options.onStartedLeading : options.onStoppedLeading)?.();
    } catch (error) {
      logger?.error({ err: error }, 'leadership callback failed');
    }
  }

  function observe(lease: V1Lease): void {
    const spec = lease.spec ?? {};
    const fingerprint = `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}|${spec.leaseDurationSeconds ?? ''}`;
    if (observed?.fingerprint !== fingerprint) observed = { fingerprint, holder: spec.holderIdentity || undefined, at: now() };
  }

  function spec(previous: V1Lease['spec'], acquiring: boolean): V1Lease['spec'] {
    const time = new V1MicroTime(now());
    return {
      ...previous,
      holderIdentity: identity,
      leaseDurationSeconds: leaseSeconds,
      renewTime: time,
      ...(acquiring ? { acquireTime: time, leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous?.holderIdentity ? 1 : 0) } : {}),
    };
  }

  /** One attempt; true when this replica holds the lease afterwards. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    let current: V1Lease;
    try {
      current = await coordination.readNamespacedLease({ namespace, name }, callOptions);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        const created = await coordination.createNamespacedLease(
          {
            namespace,
            body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec(undefined, true) },
          },
          callOptions,
        );
        observe(created);
        return true;
      } catch (createError) {
        if (isConflict(createError)) return false; // another replica created it first
        throw createError;
      }
    }
    observe(current);
    const holder = current.spec?.holderIdentity || undefined;
    const mine = holder === identity;
    const durationMs = (current.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (holder && !mine && observed && now() - observed.at < durationMs) return false;
    try {
      const updated = await coordination.replaceNamespacedLease(
        {
          namespace,
          name,
          body: { ...current, metadata: { ...current.metadata, name, namespace }, spec: spec(current.spec, !mine) },
        },
        callOptions,
      );
      observe(updated);
      return true;
    } catch (error) {
      if (isConflict(error)) return false; // someone else wrote it since we read it
      throw error;
    }
  }

  async function tick(): Promise<void> {
    retryInMs = undefined;
    try {
      const held = await tryAcquireOrRenew();
      if (held) lastRenewed = now();
      recovered();
      if (stopped) return;
      setLeader(held || (leader && now() - lastRenewed < renewDeadlineMs));
    } catch (error) {
      // Keep leading only while the last renewal is fresh enough that nobody else can have taken over.
      if (leader && now() - lastRenewed >= renewDeadlineMs) setLeader(false);
      if (!stopped) failed(error);
    }
  }

  /** A failed try: back off (unless leading) and log it once per outage, then at debug. */
  function failed(error: unknown): void {
    failures++;
    const failure = describeKubeFailure(error, apiServer);
    const maxMs =
      failure.kind === 'not-configured'
        ? (options.backoff?.notConfiguredMaxMs ?? NOT_CONFIGURED_BACKOFF_MAX_MS)
        : (options.backoff?.unreachableMaxMs ?? UNREACHABLE_BACKOFF_MAX_MS);
    const wait = leader ? retryMs : backoffDelay(failures, { initialMs: retryMs, maxMs: Math.max(retryMs, maxMs) });
    retryInMs = wait;
    const lease = `${namespace}/${name}`;
    const fields = { kubernetes: failure.kubernetes, cause: failure.cause, lease, attempt: failures, retryInMs: wait };
    const text =
      failure.kind === 'unreachable' || failure.kind === 'not-configured'
        ? `${kubeFailureSummary(failure)}; retrying in ${formatDelay(wait)}`
        : `could not read or renew the lease ${lease}: ${kubeFailureSummary(failure)}; retrying in ${formatDelay(wait)}`;
    // Said once: at the start of an outage, or when its cause changes. No cluster at all was said at start.
    const news = failure.kind !== 'not-configured' && (outage === undefined || outage.cause !== failure.cause);
    // The stack of an unexpected error once, with the warning; never with every retry.
    if (news) logger?.warn({ ...kubeFailureFields(failure, error), ...fields }, text);
    else logger?.debug(fields, text);
    if (outage === undefined || outage.cause !== failure.cause) outage = { ...failure, since: outage?.since ?? now() };
  }

  function recovered(): void {
    if (outage === undefined) return;
    const { kubernetes, cause, kind, since } = outage;
    if (kind !== 'not-configured')
      logger?.info(
        { kubernetes, lease: `${namespace}/${name}`, after: cause, failedTries: failures, downForMs: now() - since },
        kind === 'answered' ? 'the lease can be read and renewed again' : 'Kubernetes API reachable again',
      );
    outage = undefined;
    failures = 0;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(
      () => {
        running = tick().finally(schedule);
      },
      retryInMs ?? retryMs * (leader ? 1 : 0.8 + Math.random() * 0.4),
    );
    timer.unref();
  }

  async function release(): Promise<void> {
    try {
      const current = await coordination.readNamespacedLease({ namespace, name }, callOptions);
      if (current.spec?.holderIdentity !== identity) return;
      await coordination.replaceNamespacedLease(
        {
          namespace,
          name,
          // An empty holder is free for anyone at once (client-go writes the same on release).
          body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(now()) } },
        },
        callOptions,
      );
      logger?.info({ lease: `${namespace}/${name}` }, 'released the lease');
    } catch (error) {
      const failure = describeKubeFailure(error, apiServer);
      logger?.warn(
        { ...kubeFailureFields(failure, error), lease: `${namespace}/${name}` },
        `could not release the lease (${kubeFailureSummary(failure)}); another replica takes over when it expires`,
      );
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      running = tick().finally(schedule);
    },
    async stop({ release: shouldRelease = true } = {}) {
      stopped = true;
      clearTimeout(timer);
      await running;
      const wasLeader = leader;
      setLeader(false);
      if (wasLeader && shouldRelease) await release();
    },
    isLeader: () => leader,
    stats: () => ({ identity, leader, holder: observed?.holder, transitions, failures }),
  };
}
