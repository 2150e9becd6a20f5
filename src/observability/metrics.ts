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
 * composition root and passed to whoever records. Names follow Prometheus conventions.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vteam_slack_' });
  registry.registerMetric(processMetrics.unhandledRejections);
  const r = [registry];
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
      help: 'Wall time of a publish, from request to result.',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: r,
    }),
    mcpCalls: new Counter({
      name: 'vteam_slack_mcp_calls_total',
      help: 'MCP tool calls by tool and status (ok, error, http_<code>, unreachable).',
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
      help: 'Atlassian token refreshes by outcome.',
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
