/**
 * Rate limits, the fair queue and the circuit breaker, end to end: the real MCP gateway behind the
 * guard, against the fake MCP server. Two guards sharing one real Redis stand in for two replicas.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedJiraGateway } from '../../src/atlassian/guarded-gateway.ts';
import type { GuardedJiraGateway, GuardedJiraGatewayOptions } from '../../src/atlassian/guarded-gateway.ts';
import { createMcpJiraGateway } from '../../src/atlassian/jira-gateway.ts';
import type { McpJiraGatewayOptions } from '../../src/atlassian/jira-gateway.ts';
import { VteamError } from '../../src/errors.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import type { Metrics } from '../../src/observability/metrics.ts';
import type { CreateIssueRequest, SlackUserRef } from '../../src/publishing/model.ts';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { startFakeMcp } from '../support/fake-mcp/index.ts';
import type { FakeMcp, FakeMcpOptions } from '../support/fake-mcp/index.ts';
import { startRedis } from '../support/redis.ts';
import type { RedisHandle } from '../support/redis.ts';

const SITE = 'https://acme.atlassian.net';
const SITE_KEY = 'acme.atlassian.net';
const HOUR = 60 * 60_000;

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

interface Replica {
  guarded: GuardedJiraGateway;
  metrics: Metrics;
  logs: string[];
  store: KeyValueStore;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const user = (n: number | string): SlackUserRef => ({ teamId: 'T1', userId: `U${n}` });
const tokenOf = (userId: string) => `token-${userId}-0123456789`;

async function fakeWith(users: number, options: Partial<FakeMcpOptions> = {}): Promise<FakeMcp> {
  const fake = await startFakeMcp({ dialect: 'rovo-v1', ...options });
  const site = fake.addSite({ url: SITE, name: 'acme' });
  fake.addProject({ site: site.id, key: 'RFE', issueTypes: ['Epic', 'Story', 'Task', 'Sub-task'] });
  for (let n = 0; n < users; n += 1) fake.addToken({ token: tokenOf(`U${n}`), sites: [site.id] });
  cleanup.push(() => fake.close());
  return fake;
}

let namespaces = 0;

/** One "replica": its own Redis connection, MCP gateway, guard, metrics and log. */
async function replica(
  fake: FakeMcp,
  namespace: string,
  options: Partial<GuardedJiraGatewayOptions> = {},
  gatewayOptions: Partial<McpJiraGatewayOptions> = {},
): Promise<Replica> {
  const store = await createStore(redis.url, { namespace });
  const metrics = createMetrics();
  const logs: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  const inner = createMcpJiraGateway({
    mcpUrl: fake.url,
    credentials: { current: async (u) => ({ accessToken: tokenOf(u.userId) }) },
    metrics,
    logger,
    callTimeoutMs: 10_000,
    ...gatewayOptions,
  });
  const guarded = createGuardedJiraGateway(inner, {
    store,
    concurrency: 4,
    hourlyBudget: 1000,
    maxWaitMs: 60_000,
    metrics,
    logger,
    pollMs: 20,
    ...options,
  });
  cleanup.push(async () => {
    await guarded.close();
    await store.close();
  });
  return { guarded, metrics, logs, store };
}

async function replicas(
  fake: FakeMcp,
  options: Partial<GuardedJiraGatewayOptions> = {},
  gatewayOptions: Partial<McpJiraGatewayOptions> = {},
) {
  const namespace = `limits-${++namespaces}`;
  return [await replica(fake, namespace, options, gatewayOptions), await replica(fake, namespace, options, gatewayOptions)] as const;
}

function create(label: string, overrides: Partial<CreateIssueRequest> = {}): CreateIssueRequest {
  return {
    siteUrl: SITE,
    projectKey: 'RFE',
    issueType: 'Task',
    summary: `Issue ${label}`,
    description: 'body',
    labels: [label],
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<VteamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VteamError);
  return error as VteamError;
}

/** A clock in the middle of an hour (or wherever asked), advancing with real time. */
function clockAt(offsetInHour: number): () => number {
  const base = (Math.floor(Date.now() / HOUR) + 1) * HOUR + offsetInHour;
  const started = Date.now();
  return () => base + (Date.now() - started);
}

async function metricValue(metrics: Metrics, name: keyof Metrics, labels: Record<string, string>): Promise<number | undefined> {
  const metric = metrics[name] as { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> };
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
}

describe('per-site concurrency cap', () => {
  it('never has more calls in flight at the MCP server than the cap, across two replicas', async () => {
    const fake = await fakeWith(8);
    fake.setLatency(15);
    const [a, b] = await replicas(fake, { concurrency: 3 });
    const calls = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? a : b).guarded.createIssue(user(i % 8), create(`cap-${i}`)));
    const issues = await Promise.all(calls);

    expect(new Set(issues.map((issue) => issue.key)).size).toBe(24);
    expect(fake.counters.peakInFlight).toBeLessThanOrEqual(3);
    expect(fake.counters.rateLimited).toBe(0);
    expect((await a.guarded.status(SITE)).inFlight).toBe(0); // every slot came back
  });
});

describe('slot release', () => {
  it('has given the slot back by the time the caller sees the result, however slow the store', async () => {
    const fake = await fakeWith(1);
    const namespace = `limits-${++namespaces}`;
    const a = await replica(fake, namespace, { concurrency: 2 });
    // A store whose writes answer slowly (a busy Redis): the release must still come first.
    const slowStore = new Proxy(a.store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property !== 'compareAndSwap' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await new Promise((resolve) => setTimeout(resolve, 30));
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const inner = createMcpJiraGateway({
      mcpUrl: fake.url,
      credentials: { current: async (u) => ({ accessToken: tokenOf(u.userId) }) },
      callTimeoutMs: 10_000,
    });
    const guarded = createGuardedJiraGateway(inner, {
      store: slowStore,
      concurrency: 2,
      hourlyBudget: 1000,
      maxWaitMs: 60_000,
      pollMs: 20,
    });
    cleanup.push(async () => guarded.close());
    for (let i = 0; i < 3; i += 1) {
      await guarded.createIssue(user(0), create(`release-${i}`));
      expect((await a.guarded.status(SITE)).inFlight).toBe(0);
    }
  });
});

describe('hourly budget', () => {
  it('holds across two replicas and fails the excess with a clear error when the next hour is too far', async () => {
    const fake = await fakeWith(4);
    const now = clockAt(10 * 60_000);
    const [a, b] = await replicas(fake, { hourlyBudget: 10, maxWaitMs: 5_000, now });
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a : b).guarded.createIssue(user(i % 4), create(`budget-${i}`))),
    );

    const done = results.filter((r) => r.status === 'fulfilled');
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as VteamError] : []));
    expect(done).toHaveLength(10);
    expect(fake.toolCalls('createJiraIssue')).toHaveLength(10);
    expect(failed).toHaveLength(6);
    for (const error of failed) {
      expect(error.code).toBe('RATE_BUDGET_EXHAUSTED');
      expect(error.userMessage).toMatch(/budget for acme\.atlassian\.net.*min/);
    }
    const status = await b.guarded.status(SITE);
    expect(status).toMatchObject({ site: SITE_KEY, usedThisHour: 10, hourlyBudget: 10, circuit: 'closed' });
  });

  it('lets the excess wait for the next hour when that is within the maximum wait', async () => {
    const fake = await fakeWith(4);
    const now = clockAt(HOUR - 300);
    const [a] = await replicas(fake, { hourlyBudget: 2, maxWaitMs: 10_000, now });
    const told: number[] = [];
    const issues = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        a.guarded.createIssue(user(i), create(`window-${i}`), { onQueued: ({ position }) => told.push(position) }),
      ),
    );

    expect(issues).toHaveLength(4);
    expect(fake.issues()).toHaveLength(4);
    expect(told.length).toBeGreaterThan(0); // the waiting users were told
    expect((await a.guarded.status(SITE)).usedThisHour).toBe(2); // the new hour's count
  });

  it('counts what each call costs the upstream: four requests per call behind MCP Context Forge', async () => {
    const fake = await fakeWith(2);
    const now = clockAt(20 * 60_000);
    const [a, b] = await replicas(fake, { hourlyBudget: 10, costPerCall: 4, maxWaitMs: 1_000, now });
    await a.guarded.createIssue(user(0), create('cost-1'));
    await b.guarded.createIssue(user(1), create('cost-2'));
    const third = await a.guarded.createIssue(user(0), create('cost-3')).catch((error: unknown) => error as VteamError);

    expect(fake.toolCalls('createJiraIssue')).toHaveLength(2); // 8 of 10 used; a third call would make 12
    expect(third).toMatchObject({ code: 'RATE_BUDGET_EXHAUSTED' });
    expect(await b.guarded.status(SITE)).toMatchObject({ usedThisHour: 8, hourlyBudget: 10 });
  });

  it('warns once at 80 % of the budget, across replicas, and exports the used share', async () => {
    const fake = await fakeWith(2);
    const now = clockAt(5 * 60_000);
    const [a, b] = await replicas(fake, { hourlyBudget: 10, now });
    for (let i = 0; i < 5; i += 1) await a.guarded.createIssue(user(0), create(`warn-a-${i}`));
    for (let i = 0; i < 4; i += 1) await b.guarded.createIssue(user(1), create(`warn-b-${i}`));

    const warnings = [...a.logs, ...b.logs].filter((line) => line.includes('request budget'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ level: 40, site: SITE_KEY, hourlyBudget: 10 });
    expect(await metricValue(b.metrics, 'budgetUsed', { site: SITE_KEY })).toBeCloseTo(0.9);
  });
});

describe('429 with Retry-After', () => {
  it('pauses the site on every replica, then completes the call once', async () => {
    const fake = await fakeWith(2);
    const [a, b] = await replicas(fake);
    await a.guarded.createIssue(user(0), create('warm-up')); // session open, sites known
    fake.failNextRequests(1, { status: 429, retryAfterSeconds: 1, match: { tool: 'createJiraIssue' } });

    const toldA: { position: number; etaMs?: number | undefined }[] = [];
    const first = a.guarded.createIssue(user(0), create('paused-a'), { onQueued: (info) => toldA.push(info) });
    let paused: number | undefined;
    while (paused === undefined) {
      paused = (await b.guarded.status(SITE)).pausedUntil;
      if (paused === undefined) await new Promise((r) => setTimeout(r, 5));
    }
    const toldB: number[] = [];
    const second = b.guarded.createIssue(user(1), create('paused-b'), { onQueued: ({ position }) => toldB.push(position) });
    const [issueA, issueB] = await Promise.all([first, second]);

    expect(issueA.key).not.toBe(issueB.key);
    expect(fake.issues({ label: 'paused-a' })).toHaveLength(1);
    expect(fake.issues({ label: 'paused-b' })).toHaveLength(1);
    expect(toldA[0]?.etaMs).toBeGreaterThan(0);
    expect(toldB.length).toBeGreaterThan(0); // replica B waited out A's pause
    expect(await metricValue(a.metrics, 'rateLimited', { site: SITE_KEY })).toBe(1);
    expect(await metricValue(a.metrics, 'mcpCalls', { tool: 'createJiraIssue', status: 'http_429' })).toBe(1);
  });

  it('gives the 429 back to the caller when the pause is longer than the maximum wait', async () => {
    const fake = await fakeWith(1);
    const [a] = await replicas(fake, { maxWaitMs: 500 });
    fake.failNextRequests(1, { status: 429, retryAfterSeconds: 30, match: { tool: 'createJiraIssue' } });
    const error = await rejection(a.guarded.createIssue(user(0), create('too-long')));
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(30_000);
    expect(fake.issues()).toHaveLength(0);
  });
});

describe('fair queue', () => {
  it('serves a late user before most of an early user’s flood', async () => {
    const fake = await fakeWith(5);
    fake.setLatency(5);
    const [a] = await replicas(fake, { concurrency: 1 });
    const order: string[] = [];
    const flood = Array.from({ length: 50 }, (_, i) => a.guarded.createIssue(user(0), create(`flood-${i}`)).then(() => order.push('A')));
    const others = [1, 2, 3, 4].map((n) => a.guarded.createIssue(user(n), create(`other-${n}`)).then(() => order.push(`U${n}`)));
    await Promise.all([...flood, ...others]);

    for (const n of [1, 2, 3, 4]) expect(order.indexOf(`U${n}`)).toBeLessThan(10);
    expect(order.filter((who) => who === 'A')).toHaveLength(50);
  });

  it('tells waiting callers their position, then only when it has moved a lot', async () => {
    const fake = await fakeWith(5);
    fake.setLatency(30);
    const [a] = await replicas(fake, { concurrency: 1 });
    const told = new Map<number, number[]>();
    await Promise.all(
      [0, 1, 2, 3, 4].map((n) =>
        a.guarded.createIssue(user(n), create(`pos-${n}`), {
          onQueued: ({ position }) => told.set(n, [...(told.get(n) ?? []), position]),
        }),
      ),
    );

    const first = [1, 2, 3, 4].map((n) => told.get(n)?.[0]);
    expect(first).toEqual([1, 2, 3, 4]);
    for (const n of [1, 2, 3, 4]) {
      const positions = told.get(n) ?? [];
      expect(positions.at(-1)).toBe(1);
      expect(positions).toEqual([...positions].sort((x, y) => y - x)); // only ever closer
    }
    expect(told.get(0)).toBeUndefined(); // the first call never waited
  });

  it('says when a queued call leaves the queue, before its lease check and its request', async () => {
    const fake = await fakeWith(2);
    fake.setLatency(30);
    const [a] = await replicas(fake, { concurrency: 1 });
    const events: string[] = [];
    const first = a.guarded.createIssue(user(0), create('started-0'));
    const second = a.guarded.createIssue(user(1), create('started-1'), {
      onQueued: () => events.push(`queued with ${fake.issues().length} created`),
      onStarted: () => events.push(`started with ${fake.issues().length} created`),
      beforeSend: async () => void events.push('before send'),
    });
    await Promise.all([first, second]);

    expect(events).toEqual(['queued with 0 created', 'started with 1 created', 'before send']);
  });
});

describe('burst (PRODUCT §8): 200 creates from 50 users, server answers 429 above 10 in flight', () => {
  it('with the default cap: all complete, none duplicated, users told they are queued, no 429', async () => {
    const fake = await fakeWith(50, { rateLimit: { maxConcurrent: 10, retryAfterSeconds: 1 } });
    const [a, b] = await replicas(fake);
    const queued = new Set<string>();
    const issues = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 === 0 ? a : b).guarded.createIssue(user(i % 50), create(`burst-${i}`), { onQueued: () => queued.add(`burst-${i}`) }),
      ),
    );

    expect(new Set(issues.map((issue) => issue.key)).size).toBe(200);
    expect(fake.issues()).toHaveLength(200);
    for (let i = 0; i < 200; i += 1) expect(fake.issues({ label: `burst-${i}` })).toHaveLength(1);
    expect(queued.size).toBeGreaterThan(0);
    expect(fake.counters.rateLimited).toBe(0);
  });

  it('with a cap above the server’s limit: the 429s are absorbed, none duplicated, none lost', async () => {
    const fake = await fakeWith(50, { rateLimit: { maxConcurrent: 10, retryAfterSeconds: 0 } });
    // Slow enough answers that more than 10 of the 16 slots are in flight together even on a busy
    // machine (each slot is taken through Redis), so the server's 429s do happen. Every attempt
    // counts against the hourly budget; that is tested above, so here it is out of the way.
    fake.setLatency(100);
    const [a, b] = await replicas(fake, { concurrency: 16, hourlyBudget: 1_000_000 });
    const issues = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).guarded.createIssue(user(i % 50), create(`over-${i}`))),
    );

    expect(fake.counters.rateLimited).toBeGreaterThan(0);
    expect(fake.counters.peakInFlight).toBeLessThanOrEqual(10);
    expect(new Set(issues.map((issue) => issue.key)).size).toBe(200);
    expect(fake.issues()).toHaveLength(200);
    for (let i = 0; i < 200; i += 1) expect(fake.issues({ label: `over-${i}` })).toHaveLength(1);
  });
});

describe('circuit breaker', () => {
  it('opens after repeated connection failures, fails fast, half-opens and closes', async () => {
    const fake = await fakeWith(1);
    let now = Date.now();
    const [a] = await replicas(fake, {}, { circuitBreaker: { failureThreshold: 3, windowMs: 60_000, cooldownMs: 30_000, now: () => now } });
    await a.guarded.createIssue(user(0), create('before'));

    await fake.stop();
    for (let i = 0; i < 3; i += 1) {
      const error = await rejection(a.guarded.createIssue(user(0), create(`down-${i}`)));
      expect(error.code).toBe('MCP_UNREACHABLE');
      expect(error.outcomeUnknown).toBe(false);
    }
    expect((await a.guarded.status(SITE)).circuit).toBe('open');
    expect(await metricValue(a.metrics, 'circuitState', {})).toBe(1);

    // The server is back, but the circuit is open: the answer comes at once, without a request.
    await fake.start();
    const requests = fake.counters.httpRequests;
    const fast = await rejection(a.guarded.createIssue(user(0), create('while-open')));
    expect(fast.userMessage).toBe('Unable to connect to Jira integration service. Please try again later.');
    expect(fake.counters.httpRequests).toBe(requests);

    now += 30_000;
    expect((await a.guarded.status(SITE)).circuit).toBe('half-open');
    const probe = await a.guarded.createIssue(user(0), create('probe'));
    expect(probe.key).toMatch(/^RFE-\d+$/);
    expect((await a.guarded.status(SITE)).circuit).toBe('closed');
    expect(await metricValue(a.metrics, 'circuitState', {})).toBe(0);
    expect(fake.issues({ label: 'while-open' })).toHaveLength(0);
    expect(await metricValue(a.metrics, 'mcpCalls', { tool: 'createJiraIssue', status: 'unreachable' })).toBe(3);
  });

  it('opens on 5xx too, and a failed probe opens it again', async () => {
    const fake = await fakeWith(1);
    let now = Date.now();
    const [a] = await replicas(fake, {}, { circuitBreaker: { failureThreshold: 2, windowMs: 60_000, cooldownMs: 10_000, now: () => now } });
    await a.guarded.createIssue(user(0), create('before'));
    fake.failNextRequests(3, { status: 503, match: { tool: 'createJiraIssue' } });
    await rejection(a.guarded.createIssue(user(0), create('5xx-1')));
    await rejection(a.guarded.createIssue(user(0), create('5xx-2')));
    expect((await a.guarded.status(SITE)).circuit).toBe('open');

    now += 10_000;
    const probe = await rejection(a.guarded.createIssue(user(0), create('probe-fails')));
    expect(probe.code).toBe('MCP_UNREACHABLE');
    expect((await a.guarded.status(SITE)).circuit).toBe('open');
    now += 10_000;
    await a.guarded.createIssue(user(0), create('probe-works'));
    expect((await a.guarded.status(SITE)).circuit).toBe('closed');
  });

  it('does not count Jira’s own refusals as outages', async () => {
    const fake = await fakeWith(1);
    const [a] = await replicas(fake, {}, { circuitBreaker: { failureThreshold: 2 } });
    for (let i = 0; i < 4; i += 1) {
      const error = await rejection(a.guarded.createIssue(user(0), create(`bad-${i}`, { issueType: 'Nonsense' })));
      expect(error.code).toBe('JIRA_REJECTED');
    }
    expect((await a.guarded.status(SITE)).circuit).toBe('closed');
  });
});
