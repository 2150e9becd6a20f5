/**
 * The first run, as someone trying the bot does it: `npm start` with the Slack settings and nothing
 * else — no KUBECONFIG, no ~/.kube/config, not in a cluster — and then with a kubeconfig whose API
 * server is down. Either way the bot serves Slack (ready), says once what is missing or down, names
 * the API server and the cause, and retries quietly: no stack trace every few seconds.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startApp, type AppProcess } from '../support/app-process.ts';
import { messageText, startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { writeKubeconfig } from '../support/kubeconfig.ts';
import { postToSlackEvents, slashCommandBody } from '../support/slack-requests.ts';

const BOT_TOKEN = 'xoxb-first-run';
const SIGNING_SECRET = 'first-run-secret';
/** In a pod, client-node would find the service account: there is no "no cluster" to try. */
const IN_A_POD = existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
/** How long the app is watched, once ready, for repeated warnings and stack traces. */
const WATCH_MS = 8_000;

let slack: FakeSlack;
let home: string;
let app: AppProcess | undefined;

beforeAll(async () => {
  slack = await startFakeSlack({ botToken: BOT_TOKEN });
});
afterAll(async () => {
  await slack?.close();
});
afterEach(async () => {
  await app?.kill('SIGKILL');
  app = undefined;
  await rm(home, { recursive: true, force: true });
});

/** The app as `npm start` runs it; HOME is an empty directory (no ~/.kube/config), no KUBERNETES_SERVICE_HOST. */
async function start(extra: Record<string, string> = {}): Promise<AppProcess> {
  home = await mkdtemp(join(tmpdir(), 'vteam-first-run-'));
  const env = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: String(await freePort()),
    HOME: home,
    STORE_URL: `sqlite://${join(home, 'store.sqlite')}`,
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ...extra,
  };
  expect(Object.keys(env).some((k) => k.startsWith('KUBERNETES_'))).toBe(false);
  app = await startApp(env);
  return app;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WARN = 40;
const DEBUG = 20;
const level = (record: Record<string, unknown>) => (typeof record.level === 'number' ? record.level : 0);
const msg = (record: Record<string, unknown>) => String(record.msg ?? '');

async function command(target: AppProcess, text: string): Promise<{ status: number; body: string; responseId: string }> {
  const responseId = `first-run-${Math.random().toString(36).slice(2)}`;
  const body = slashCommandBody({ text, responseUrl: slack.responseUrl(responseId) });
  return { ...(await postToSlackEvents(target.url, SIGNING_SECRET, body)), responseId };
}

describe.skipIf(IN_A_POD)('first run', () => {
  it('no cluster configured: ready, one warning saying what is missing, quiet retries with growing delays, no stack traces', async () => {
    const a = await start();
    const started = Date.now(); // ready: listening, store open

    const ready = await fetch(`${a.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { store: 'ok', accepting: 'ok' } });

    // Within the first few seconds: exactly one warning, and it says what is missing and what still works.
    const warning = await a.waitForLog((r) => level(r) >= WARN && /Kubernetes/.test(msg(r)), 5_000);
    expect(warning).toMatchObject({ level: WARN, kubernetes: 'none' });
    expect(msg(warning)).toBe(
      'No Kubernetes cluster configured (no KUBECONFIG, no ~/.kube/config, not running in a cluster): workflow cards, publishing and channel bindings need one; Slack commands answer, and /vteam jira-status reports it. Set KUBECONFIG or run in the cluster.',
    );

    // Slack commands answer; /vteam jira-status tells what is missing.
    const help = await command(a, 'help');
    expect(help.status).toBe(200);
    const status = await command(a, 'jira-status');
    expect(status.status).toBe(200);
    const answer = await slack.waitFor(() => slack.responses.find((r) => r.id === status.responseId), 10_000);
    expect(messageText(answer.body)).toMatch(/Kubernetes[\s\S]*no Kubernetes cluster configured/);

    await wait(Math.max(0, started + WATCH_MS - Date.now()));
    const logs = a.logs();
    const warnings = logs.filter((r) => level(r) >= WARN);
    expect(warnings.map(msg)).toEqual([msg(warning)]);
    expect(a.output.filter((line) => line.includes('"stack"') || /^\s+at /.test(line))).toEqual([]);
    expect(logs.filter((r) => 'err' in r)).toEqual([]);

    // The lease is tried again at debug, each time later than the time before (3 s, 6 s, … up to 5 min).
    const retries = logs.filter((r) => r.cause === 'not configured' && typeof r.retryInMs === 'number');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.every((r) => level(r) === DEBUG && r.kubernetes === 'none')).toBe(true);
    expect(msg(retries[0]!)).toMatch(/^No Kubernetes cluster configured; retrying in \d(\.\d)? s$/);
    const delays = retries.map((r) => r.retryInMs as number);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1]!);
    expect(a.child.exitCode).toBeNull();
  }, 40_000);

  it('a kubeconfig whose API server is down: ready, and the warnings name the API server and ECONNREFUSED', async () => {
    const dead = `https://127.0.0.1:${await freePort()}`; // nothing listens there
    const kubeconfigDir = await mkdtemp(join(tmpdir(), 'vteam-first-run-kube-'));
    try {
      const a = await start({ KUBECONFIG: await writeKubeconfig(kubeconfigDir, dead, 'token') });
      const started = Date.now();
      expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
      const first = await a.waitForLog((r) => level(r) >= WARN && r.kubernetes === dead, 5_000);
      expect(first).toMatchObject({ kubernetes: dead, cause: 'ECONNREFUSED' });
      expect(msg(first)).toContain(`Kubernetes API at ${dead} unreachable (ECONNREFUSED)`);

      await wait(Math.max(0, started + WATCH_MS - Date.now()));
      const logs = a.logs();
      expect(logs.find((r) => msg(r) === `Kubernetes API: ${dead}`)).toMatchObject({ kubernetes: dead, kubeconfig: 'file' });
      const warnings = logs.filter((r) => level(r) >= WARN);
      expect(warnings.length).toBeGreaterThan(0);
      for (const w of warnings) expect(w).toMatchObject({ kubernetes: dead, cause: 'ECONNREFUSED' });
      // Said once per loop, not once per retry: the lease loop's retries are at debug.
      const lease = logs.filter((r) => r.lease !== undefined && r.cause === 'ECONNREFUSED');
      expect(lease.filter((r) => level(r) >= WARN)).toHaveLength(1);
      expect(lease.length).toBeGreaterThanOrEqual(2);
      expect(msg(lease[0]!)).toMatch(
        new RegExp(`^Kubernetes API at ${dead.replace(/[.:/]/g, '\\$&')} unreachable \\(ECONNREFUSED\\); retrying in \\d(\\.\\d)? s$`),
      );
      expect(a.output.filter((line) => line.includes('"stack"'))).toEqual([]);
      expect(logs.some((r) => /No Kubernetes cluster configured/.test(msg(r)))).toBe(false);
    } finally {
      await rm(kubeconfigDir, { recursive: true, force: true });
    }
  }, 40_000);
});
