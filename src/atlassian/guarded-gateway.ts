/**
 * The JiraGateway the use case talks to: every call goes through the per-site rate limiter (fair
 * queue, concurrency cap, hourly budget, 429 pauses) before it reaches the MCP gateway, and fails
 * at once while the MCP gateway's circuit is open. Also answers `JiraLimits.status` for jira-status.
 */
import type { Logger } from 'pino';
import { errors } from '../errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import {
  sessionKey,
  type CreateIssueRequest,
  type FindIssueRequest,
  type JiraIssue,
  type SlackUserRef,
  type UpdateIssueRequest,
} from '../publishing/model.ts';
import type { JiraCallOptions, JiraGateway } from '../publishing/ports.ts';
import type { KeyValueStore } from '../storage/types.ts';
import type { CircuitState } from './circuit-breaker.ts';
import type { JiraLimits, JiraLimitsStatus } from './limits.ts';
import { RateLimiter } from './rate-limiter.ts';
import { hostOf } from './results.ts';

/** What the guard needs from the gateway it wraps (the MCP gateway offers all of it). */
export type GuardableGateway = JiraGateway & {
  circuitState?(): CircuitState;
  close?(): Promise<void>;
};

export interface GuardedJiraGatewayOptions {
  /** Shared store: Redis shares the limits across replicas; SQLite keeps them in the one process. */
  store: KeyValueStore;
  /** Calls in flight per site (config.rateLimit.concurrency). */
  concurrency: number;
  /** Upstream requests per hour per site (config.rateLimit.hourlyBudget). */
  hourlyBudget: number;
  /** Upstream requests one call costs (a gateway's `upstreamRequestsPerCall`); default 1. */
  costPerCall?: number | undefined;
  /** Longest a call waits out a 429 pause or an exhausted budget (config.publishing.rateLimitMaxWaitMs). */
  maxWaitMs: number;
  metrics?: Pick<Metrics, 'rateLimited' | 'queueLength' | 'budgetUsed'> | undefined;
  logger?: Logger | undefined;
  /** The limit key of a site URL; default its lower-case host. */
  siteOf?: (siteUrl: string) => string;
  slotLeaseMs?: number;
  pollMs?: number;
  warnAtRatio?: number;
  now?: () => number;
}

export type GuardedJiraGateway = JiraGateway &
  JiraLimits & {
    listIssueTypes(user: SlackUserRef, request: { siteUrl: string; projectKey: string }): Promise<string[]>;
    /** Fails queued calls, then closes the wrapped gateway. */
    close(): Promise<void>;
  };

export function createGuardedJiraGateway(inner: GuardableGateway, options: GuardedJiraGatewayOptions): GuardedJiraGateway {
  const siteOf = options.siteOf ?? defaultSiteOf;
  const circuitOpen = () => inner.circuitState?.() === 'open';
  const refusal = () => errors.mcpUnreachable(new Error('Not calling the MCP server while its circuit is open'));
  const limiter = new RateLimiter({
    store: options.store,
    concurrency: options.concurrency,
    hourlyBudget: options.hourlyBudget,
    costPerCall: options.costPerCall,
    maxWaitMs: options.maxWaitMs,
    slotLeaseMs: options.slotLeaseMs,
    pollMs: options.pollMs,
    warnAtRatio: options.warnAtRatio,
    refuse: () => (circuitOpen() ? refusal() : undefined),
    metrics: options.metrics,
    logger: options.logger,
    now: options.now,
  });

  function guarded<T>(user: SlackUserRef, siteUrl: string, call: () => Promise<T>, callOptions?: JiraCallOptions): Promise<T> {
    // Fail fast: a dead server must not hold users in the queue, nor spend the budget.
    if (circuitOpen()) return Promise.reject(refusal());
    const { beforeSend, onStarted } = callOptions ?? {};
    const send =
      beforeSend === undefined && onStarted === undefined
        ? call
        : async () => {
            onStarted?.();
            await beforeSend?.();
            return call();
          };
    return limiter.run(siteOf(siteUrl), sessionKey(user), send, callOptions?.onQueued);
  }

  return {
    createIssue: (user: SlackUserRef, request: CreateIssueRequest, callOptions?: JiraCallOptions): Promise<JiraIssue> =>
      guarded(user, request.siteUrl, () => inner.createIssue(user, request), callOptions),
    updateIssue: (user: SlackUserRef, request: UpdateIssueRequest, callOptions?: JiraCallOptions): Promise<JiraIssue> =>
      guarded(user, request.siteUrl, () => inner.updateIssue(user, request), callOptions),
    findIssueByLabel: (user: SlackUserRef, request: FindIssueRequest, callOptions?: JiraCallOptions): Promise<JiraIssue | undefined> =>
      guarded(user, request.siteUrl, () => inner.findIssueByLabel(user, request), callOptions),
    async listIssueTypes(user, request) {
      const list = inner.listIssueTypes;
      if (list === undefined) return [];
      return guarded(user, request.siteUrl, () => list.call(inner, user, request));
    },
    browseUrl: (siteUrl, key) => inner.browseUrl(siteUrl, key),
    async status(siteUrl: string): Promise<JiraLimitsStatus> {
      const site = siteOf(siteUrl);
      const snapshot = await limiter.status(site);
      return { site, ...snapshot, circuit: inner.circuitState?.() ?? 'closed' };
    },
    async close() {
      await limiter.close();
      await inner.close?.();
    },
  };
}

/** Limits are per Atlassian site: `https://Acme.atlassian.net/` and `https://acme.atlassian.net` are one. */
function defaultSiteOf(siteUrl: string): string {
  return hostOf(siteUrl) ?? siteUrl.trim().toLowerCase();
}
