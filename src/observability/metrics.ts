import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Counted by the process-level handlers (src/process-handlers.ts), which are installed before the app
 * and its registry exist: process-wide like them, and exposed by every registry.
 */
export const processMetrics = {
  unhandledRejections: new Counter({
    name: 'vteam_slack_unhandled_rejections_total',
    help: 'Promise rejections nothing handled (each one a bug, logged at error level); the process kept serving.',
    registers: [],
  }),
};

/**
 * Every Prometheus metric the bot exposes, in one registry (prom-client), created once by the
 * composition root and passed to whoever records. Names follow Prometheus conventions: the bot's own
 * metrics start with `vteam_slack_`; Node's standard process metrics (process_cpu_seconds_total,
 * nodejs_heap_size_used_bytes, nodejs_eventloop_lag_seconds…) keep their usual names, so stock
 * Node.js dashboards work. deploy/components/monitoring queries them (test/ship/monitoring.test.ts).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registry.registerMetric(processMetrics.unhandledRejections);
  const r = [registry];
  new Gauge({
    name: 'vteam_slack_build_info',
    help: 'Always 1; the labels tell the version of the bot and of Node.js this process runs.',
    labelNames: ['version', 'node'] as const,
    registers: r,
  }).set({ version: packageVersion(), node: process.version }, 1);
  // Read when scraped, from whoever owns the number (the card service registers itself).
  let cardsQueuedNow = (): number => 0;
  return {
    registry,
    publishes: new Counter({
      name: 'vteam_slack_publishes_total',
      help: 'Publishes by outcome (created, found, already_linked, duplicate, updated, or an error code).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    publishDuration: new Histogram({
      name: 'vteam_slack_publish_duration_seconds',
      help: 'Wall time of a publish or update, from request to result, by outcome (as vteam_slack_publishes_total counts them).',
      labelNames: ['outcome'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: r,
    }),
    ackDuration: new Histogram({
      name: 'vteam_slack_ack_duration_seconds',
      help: 'Time from a Slack request reaching the app (HTTP or Socket Mode) to its acknowledgement; Slack gives up after 3 s.',
      labelNames: ['kind'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5],
      registers: r,
    }),
    slackApiDuration: new Histogram({
      name: 'vteam_slack_slack_api_duration_seconds',
      help: 'Slack Web API requests (each HTTP attempt, retries included) by method and outcome: ok, the Slack error code, ratelimited, http_<status>, timeout or unreachable.',
      labelNames: ['method', 'outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    mcpCalls: new Counter({
      name: 'vteam_slack_mcp_calls_total',
      help: 'MCP tool calls by tool and status (ok, error, garbled, timeout, unreachable, http_<code>).',
      labelNames: ['tool', 'status'] as const,
      registers: r,
    }),
    rateLimited: new Counter({
      name: 'vteam_slack_mcp_rate_limited_total',
      help: 'HTTP 429 answers from the MCP server.',
      labelNames: ['site'] as const,
      registers: r,
    }),
    queueLength: new Gauge({
      name: 'vteam_slack_publish_queue_length',
      help: 'Publishes waiting for the rate limiter.',
      labelNames: ['site'] as const,
      registers: r,
    }),
    tokenRefreshes: new Counter({
      name: 'vteam_slack_token_refreshes_total',
      help: 'Atlassian token refreshes by outcome: ok, broken (Atlassian refused the refresh token: the user reconnects), failed (the refresh could not be done).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    cardsPosted: new Counter({ name: 'vteam_slack_cards_posted_total', help: 'Workflow cards posted to channels.', registers: r }),
    cardsUpdated: new Counter({ name: 'vteam_slack_cards_updated_total', help: 'Workflow cards edited in place.', registers: r }),
    cardsQueued: new Gauge({
      name: 'vteam_slack_cards_queued',
      help: 'Workflow cards waiting to be posted or edited (Slack allows about one write per second per channel).',
      registers: r,
      collect() {
        this.set(cardsQueuedNow());
      },
    }),
    reportCardsQueued(count: () => number) {
      cardsQueuedNow = count;
    },
    cardsLeader: new Gauge({
      name: 'vteam_slack_cards_leader',
      help: '1 on the replica that holds the cards Lease and keeps the workflow cards current, 0 on the others.',
      registers: r,
    }),
    kubernetesUp: new Gauge({
      name: 'vteam_slack_kubernetes_up',
      help: "1 while the Kubernetes API answers this replica's periodic probe (GET /version), 0 when it does not.",
      registers: r,
    }),
    watchRestarts: new Counter({
      name: 'vteam_slack_watch_restarts_total',
      help: 'Kubernetes watch restarts by resource and reason.',
      labelNames: ['resource', 'reason'] as const,
      registers: r,
    }),
    circuitState: new Gauge({
      name: 'vteam_slack_mcp_circuit_open',
      help: '1 while calls to the MCP server are suspended after repeated failures.',
      registers: r,
    }),
    budgetUsed: new Gauge({
      name: 'vteam_slack_rate_budget_used_ratio',
      help: 'Share of the hourly MCP call budget used, per site.',
      labelNames: ['site'] as const,
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

let version: string | undefined;

/** The version in package.json (beside src/ in the image), read once. */
function packageVersion(): string {
  if (version === undefined) {
    try {
      const parsed = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      version = typeof parsed.version === 'string' ? parsed.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
