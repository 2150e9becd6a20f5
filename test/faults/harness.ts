/**
 * The fault suite's harness: one world per scenario (a real Redis, the loopback Slack, Kubernetes,
 * GitHub and Atlassian MCP servers, and the app run as a process, `node src/main.ts`), signed Slack
 * clicks, and the invariants every scenario ends with:
 *
 * - exactly one Jira issue per published document (or the expected key, when someone else linked it);
 * - the document's link is in the RFEWorkflow once, every other entry and field kept;
 * - the user was told the outcome (a thread reply or an ephemeral answer naming the issue);
 * - nothing left queued or locked: no `journal:` or `lock:publish:` keys in the store, no in-flight
 *   annotation on the CR, no click still being worked on, no publish waiting in a rate-limit queue.
 *
 * Each scenario records a row (fault × outcome) into the JSON-lines file named by VTEAM_FAULTS_REPORT
 * (set by report-setup.ts); the global teardown prints them as a table.
 */
import { appendFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect as vitestExpect, it } from 'vitest';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { freePort, startApp, type AppProcess } from '../support/app-process.ts';
import { ALICE, ALICE_TOKEN, PROJECT, WORKFLOW, buttonValue, startEnvironment, type Environment } from '../support/environment.ts';
import type { FakeIssue } from '../support/fake-mcp/index.ts';
import { messageText } from '../support/fake-slack.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';

export const REPORT_ENV = 'VTEAM_FAULTS_REPORT';

export interface FaultRow {
  file: string;
  fault: string;
  /** Issues the bot created for the scenario's documents. */
  issues: number;
  linksOk: boolean;
  userTold: boolean;
  leftovers: string[];
  outcome: 'pass' | 'fail';
  seconds: number;
  startedAt: number;
}

export interface ClickRecord {
  path: string;
  responseId: string;
  app: AppProcess;
  at: number;
  /** False for a redelivery the app may rightly ignore (it need not run a publish for it). */
  runsPublish: boolean;
}

export interface PathExpectation {
  /** The key the CR must hold for the path; default: the one issue the bot created for it. */
  key?: string;
  /** How many issues the bot may have created for it; default exactly one. */
  issues?: { min: number; max: number };
}

export interface World {
  env: Environment;
  redis: RedisHandle;
  /** Every app process started in this world, in order (the replicas too). */
  apps: AppProcess[];
  clicks: ClickRecord[];
  /** A signed Publish to Jira click on `path` (on `app`, default the current one). */
  click(path: string, options?: { app?: AppProcess }): Promise<ClickRecord>;
  /** Records a click delivered by hand (a redelivery, …). */
  recordClick(click: ClickRecord): void;
  /** Another replica on the same store. */
  startReplica(): Promise<AppProcess>;
  /** Starts the app again (after a kill), as the current app. */
  restart(): Promise<AppProcess>;
  /** kill -9. */
  kill(app?: AppProcess): Promise<void>;
  /** Stores Alice's Atlassian link again (after the store lost it). */
  relink(): Promise<void>;
  /**
   * Deletes keys by prefix while Redis stays up: what a failover to a replica that never received
   * them looks like to the clients (their connections keep working, the keys are just gone).
   */
  forgetKeys(...prefixes: string[]): Promise<string[]>;
  /** Waits until the app answered this click ephemerally (response_url) and returns the text. */
  replyTo(click: ClickRecord, timeoutMs?: number): Promise<string>;
  /** Waits until `app` has finished working on every click sent to it (its publish-duration count). */
  clicksDone(app?: AppProcess, timeoutMs?: number): Promise<void>;
  /** A metric of `app` summed over the series whose labels include `labels` (undefined if unreadable). */
  metric(app: AppProcess, name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** Issues the bot created for `path` (by summary phase). */
  issuesFor(path: string): FakeIssue[];
  /** What the scenario requires for `path` at the end (every clicked path is expected to be published). */
  expect(path: string, expectation: PathExpectation): void;
  /** Waits (bounded) until `predicate` holds; async predicates allowed. */
  until<T>(what: string, predicate: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  /** Seconds of a deliberate fault duration (not a correctness wait). */
  hold(ms: number): Promise<void>;
}

interface PathVerdict {
  path: string;
  issues: FakeIssue[];
  links: string[];
  expectedKey: string | undefined;
  maxIssues: number;
  issuesOk: boolean;
  linkOk: boolean;
  told: boolean;
}

interface Observation {
  paths: PathVerdict[];
  othersKept: boolean;
  leftovers: string[];
  ok: boolean;
}

const PHASES: Record<string, string> = { spec: 'specify' };

/** The phase in the issue summary (`[RFE] <title> - <phase>`), as the bot names it. */
export function phaseOfPath(path: string): string {
  const stem = basename(path).replace(/\.md$/i, '').toLowerCase();
  return PHASES[stem] ?? stem;
}

export async function startWorld(
  options: { appEnv?: Record<string, string> } = {},
): Promise<World & { close(): Promise<void>; observe(): Promise<Observation> }> {
  const redis = await startRedis();
  let env: Environment;
  try {
    env = await startEnvironment({ appEnv: { STORE_URL: redis.url, ...options.appEnv } });
  } catch (error) {
    await redis.stop();
    throw error;
  }
  const apps: AppProcess[] = [env.app];
  const clicks: ClickRecord[] = [];
  const expectations = new Map<string, PathExpectation>();
  const initialAnnotations = new Set(Object.keys(workflowObject(env)?.metadata?.annotations ?? {}));
  const initialLinks = env.workflowLinks();
  let store: KeyValueStore | undefined;

  const openStore = async (): Promise<KeyValueStore> => {
    store ??= await createStore(redis.url, { commandTimeoutMs: 2000 });
    return store;
  };

  const world: World & { close(): Promise<void>; observe(): Promise<Observation> } = {
    env,
    redis,
    apps,
    clicks,
    async click(path, { app } = {}) {
      const target = app ?? env.app;
      const at = Date.now();
      const result = await env.click('publish_to_jira', buttonValue(path), { app: target });
      if (result.status !== 200) throw new Error(`the click on ${path} was answered ${result.status}`);
      const click = { path, responseId: result.responseId, app: target, at, runsPublish: true };
      clicks.push(click);
      return click;
    },
    recordClick(click) {
      clicks.push(click);
    },
    async startReplica() {
      const app = await startApp({ ...env.appEnv(), PORT: String(await freePort()) });
      apps.push(app);
      return app;
    },
    async restart() {
      const app = await env.startApp();
      apps.push(app);
      return app;
    },
    async kill(app = env.app) {
      await app.kill('SIGKILL');
    },
    async forgetKeys(...prefixes) {
      const kv = await openStore();
      const keys = (await Promise.all(prefixes.map((p) => kv.keys(p)))).flat();
      for (const key of keys) await kv.delete(key);
      return keys;
    },
    async relink() {
      await env.link(ALICE, ALICE_TOKEN);
    },
    async replyTo(click, timeoutMs = 20_000) {
      return world.until(
        `an answer to the click on ${click.path}`,
        () => {
          const answer = env.slack.responses.find((r) => r.id === click.responseId && r.body.replace_original !== true);
          return answer === undefined ? undefined : messageText(answer.body);
        },
        timeoutMs,
      );
    },
    async clicksDone(app = env.app, timeoutMs = 20_000) {
      const expected = clicks.filter((c) => c.app === app && c.runsPublish).length;
      await world.until(
        `app on port ${app.port} to finish ${expected} click(s)`,
        async () => {
          const metrics = await appMetrics(app);
          return (metrics?.get('vteam_slack_publish_duration_seconds_count') ?? 0) >= expected;
        },
        timeoutMs,
      );
    },
    async metric(app, name, labels = {}) {
      const series = await appSeries(app);
      if (series === undefined) return undefined;
      return series
        .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
        .reduce((n, x) => n + x.value, 0);
    },
    issuesFor(path) {
      const suffix = ` - ${phaseOfPath(path)}`;
      return env.mcp.issues().filter((issue) => issue.summary.endsWith(suffix));
    },
    expect(path, expectation) {
      expectations.set(path, { ...expectations.get(path), ...expectation });
    },
    async until(what, predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await predicate();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    hold: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),

    async observe() {
      const paths = [...new Set([...clicks.map((c) => c.path), ...expectations.keys()])];
      const links = env.workflowLinks();
      const told = toldTexts(env);
      const verdicts = paths.map((path): PathVerdict => {
        const expectation = expectations.get(path) ?? {};
        const issues = world.issuesFor(path);
        const range = expectation.issues ?? { min: 1, max: 1 };
        const keys = links.filter((l) => l.path === path).map((l) => l.jiraKey);
        const expectedKey = expectation.key ?? (issues.length === 1 ? issues[0]!.key : undefined);
        return {
          path,
          issues,
          links: keys,
          expectedKey,
          maxIssues: range.max,
          issuesOk: issues.length >= range.min && issues.length <= range.max,
          linkOk: expectedKey !== undefined && keys.length === 1 && keys[0] === expectedKey,
          told: expectedKey !== undefined && told.some((text) => mentionsKey(text, expectedKey) && !/outside this channel/.test(text)),
        };
      });
      // Every entry that was there before (and the other spec fields) is kept.
      const object = workflowObject(env);
      const othersKept =
        initialLinks.every((l) => links.some((x) => x.path === l.path && x.jiraKey === l.jiraKey)) && object?.spec?.customField === 'kept';
      const leftovers = await leftoversOf(world, openStore, initialAnnotations);
      const ok = verdicts.every((v) => v.issuesOk && v.linkOk && v.told) && othersKept && leftovers.length === 0;
      return { paths: verdicts, othersKept, leftovers, ok };
    },

    async close() {
      if (redis.paused) await redis.resume().catch(() => undefined);
      await Promise.allSettled(apps.filter((app) => app !== env.app).map((app) => app.kill('SIGKILL')));
      await env.close();
      await store?.close().catch(() => undefined);
      await redis.stop();
    },
  };
  return world;
}

function workflowObject(env: Environment) {
  return env.kube.get('rfeworkflows', PROJECT, WORKFLOW) as
    { metadata?: { annotations?: Record<string, string> }; spec?: { customField?: unknown } } | undefined;
}

function mentionsKey(text: string, key: string): boolean {
  return new RegExp(`(^|[^A-Z0-9-])${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9])`).test(text);
}

/** What the user could read: answered thread replies and ephemeral answers (a hung call was never delivered). */
function toldTexts(env: Environment): string[] {
  const hung = new Set(env.slack.hungCalls());
  return [
    ...env.slack.messages.filter((m) => m.threadTs !== undefined && !m.deleted).map((m) => messageText({ text: m.text, blocks: m.blocks })),
    ...env.slack.responses.filter((r) => r.body.replace_original !== true).map((r) => messageText(r.body)),
    ...env.slack.calls.filter((c) => c.method === 'chat.postEphemeral' && !hung.has(c)).map((c) => messageText(c.args)),
  ];
}

const alive = (app: AppProcess) => app.child.exitCode === null && app.child.signalCode === null;

/** Anything still queued, locked or in flight once the scenario should be over. */
async function leftoversOf(world: World, openStore: () => Promise<KeyValueStore>, initialAnnotations: Set<string>): Promise<string[]> {
  const found: string[] = [];
  try {
    const store = await openStore();
    for (const prefix of ['journal:', 'lock:publish:']) {
      for (const key of await store.keys(prefix)) found.push(key.slice(0, 60));
    }
  } catch (error) {
    found.push(`store unreadable (${error instanceof Error ? error.message : String(error)})`);
  }
  const annotations = workflowObject(world.env)?.metadata?.annotations ?? {};
  for (const key of Object.keys(annotations)) {
    if (!initialAnnotations.has(key) && !key.startsWith('fake-kube.test/') && /in-?flight|pending|publish|journal|lock/i.test(key))
      found.push(`cr:${key}`);
  }
  for (const [index, app] of world.apps.entries()) {
    if (!alive(app)) continue;
    const metrics = await appMetrics(app);
    if (metrics === undefined) {
      found.push(`app#${index + 1}: /metrics unreachable`);
      continue;
    }
    const expected = world.clicks.filter((c) => c.app === app && c.runsPublish).length;
    const finished = metrics.get('vteam_slack_publish_duration_seconds_count') ?? 0;
    if (finished < expected) found.push(`app#${index + 1}: ${expected - finished} click(s) still in flight`);
    const queued = metrics.get('vteam_slack_publish_queue_length') ?? 0;
    if (queued > 0) found.push(`app#${index + 1}: ${queued} queued`);
  }
  return found;
}

/** The app's Prometheus series. */
async function appSeries(app: AppProcess): Promise<{ name: string; labels: Record<string, string>; value: number }[] | undefined> {
  try {
    const response = await fetch(`${app.url}/metrics`, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) return undefined;
    return (await response.text()).split('\n').flatMap((line) => {
      const match = /^([a-z_:]+)(?:\{([^}]*)\})?\s+([0-9.eE+-]+)$/.exec(line);
      if (!match) return [];
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      return [{ name: match[1]!, labels, value: Number(match[3]) }];
    });
  } catch {
    return undefined;
  }
}

/** Sums of the app's Prometheus series by metric name (labels folded). */
async function appMetrics(app: AppProcess): Promise<Map<string, number> | undefined> {
  const series = await appSeries(app);
  if (series === undefined) return undefined;
  const sums = new Map<string, number>();
  for (const { name, value } of series) sums.set(name, (sums.get(name) ?? 0) + value);
  return sums;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const INTERESTING = /publish|recover|journal|lease|lock|uncertain|rate limited|conflict|jira link|redis|store/i;

/** The app log lines that explain a publish: warnings and errors, and the publish path's own lines. */
export function logDigest(world: World, max = 40): string {
  const lines: string[] = [];
  for (const [index, app] of world.apps.entries()) {
    for (const record of app.logs()) {
      const level = typeof record.level === 'number' ? record.level : 30;
      const msg = typeof record.msg === 'string' ? record.msg : '';
      if (level < 40 && !(record.component === 'publish' || (level >= 30 && INTERESTING.test(msg)))) continue;
      if (msg === 'recovery pass done') continue;
      const err = record.err as { message?: string } | undefined;
      const fields = ['path', 'jiraKey', 'code', 'state', 'created', 'recovered', 'attempts', 'lock', 'retryAfterMs']
        .filter((k) => record[k] !== undefined)
        .map((k) => `${k}=${JSON.stringify(record[k])}`);
      const errText = typeof err?.message === 'string' ? ` err=${err.message.replace(/\s+/g, ' ').slice(0, 200)}` : '';
      lines.push(`  app#${index + 1} ${LEVELS[level] ?? level} ${msg} ${fields.join(' ')}${errText}`);
    }
  }
  return lines.slice(-max).join('\n');
}

export interface ScenarioOptions {
  /** The scenario's own budget (the body and the settling); default 60 s. */
  timeoutMs?: number;
  /** How long the end state may take to settle once the body is done; default 15 s. */
  settleMs?: number;
  appEnv?: Record<string, string>;
}

/**
 * One fault scenario: a fresh world, the body (which drives clicks and faults and may assert its
 * own specifics), then the invariants, waited for up to `settleMs`. Records the row either way.
 */
export function scenario(fault: string, options: ScenarioOptions, body: (world: World) => Promise<void>): void {
  const timeoutMs = options.timeoutMs ?? 60_000;
  it(
    fault,
    async () => {
      const file = basename(vitestExpect.getState().testPath ?? 'unknown').replace(/\.fault\.test\.ts$/, '');
      const startedAt = Date.now();
      const started = performance.now();
      const seconds = () => Math.round((performance.now() - started) / 100) / 10;
      let world: Awaited<ReturnType<typeof startWorld>>;
      try {
        world = await startWorld({ appEnv: options.appEnv });
      } catch (error) {
        record({
          file,
          fault,
          startedAt,
          outcome: 'fail',
          issues: 0,
          linksOk: false,
          userTold: false,
          leftovers: ['world did not start'],
          seconds: seconds(),
        });
        throw error;
      }
      let failure: unknown;
      let observation: Observation | undefined;
      try {
        try {
          await body(world);
        } catch (error) {
          failure = error;
        }
        // Settle: wait for the invariants (bounded); a failed body gets a short look only.
        const settleMs = failure === undefined ? (options.settleMs ?? 15_000) : 1000;
        const deadline = Date.now() + settleMs;
        for (;;) {
          observation = await world.observe();
          // More issues than allowed can never be undone: wait only for the work to end.
          const duplicated = observation.paths.some((p) => p.issues.length > p.maxIssues);
          if (observation.ok || (duplicated && observation.leftovers.length === 0) || Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const outcome = failure === undefined && observation.ok ? 'pass' : 'fail';
        record({
          file,
          fault,
          startedAt,
          outcome,
          issues: observation.paths.reduce((n, p) => n + p.issues.length, 0),
          linksOk: observation.paths.every((p) => p.linkOk) && observation.othersKept,
          userTold: observation.paths.every((p) => p.told),
          leftovers: observation.leftovers,
          seconds: seconds(),
        });
        if (process.env.VTEAM_FAULTS_VERBOSE === '1') console.log(`── ${fault} (${outcome})\n${logDigest(world, 80)}`);
        if (outcome === 'fail') {
          const details = observation.paths
            .map(
              (p) =>
                `  ${p.path}: issues=[${p.issues.map((i) => i.key).join(',')}] (ok=${p.issuesOk}) cr=[${p.links.join(',')}] expected=${p.expectedKey ?? '?'} (ok=${p.linkOk}) told=${p.told}`,
            )
            .join('\n');
          const cause =
            failure instanceof Error ? failure.message : failure === undefined ? 'invariants did not hold' : JSON.stringify(failure);
          throw new Error(
            `${fault}: ${cause}\n${details}\n  other CR entries kept: ${observation.othersKept}\n  leftovers: ${observation.leftovers.join('; ') || 'none'}\napp log:\n${logDigest(world)}`,
            { cause: failure },
          );
        }
      } finally {
        await world.close();
      }
    },
    timeoutMs + 30_000,
  );
}

function record(row: FaultRow): void {
  const file = process.env[REPORT_ENV];
  if (file === undefined || file === '') return;
  appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** Waits for a promise, bounded. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
