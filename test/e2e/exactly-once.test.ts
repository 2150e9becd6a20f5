import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messageText } from '../support/fake-slack.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';
import { freePort, startApp, type AppProcess } from '../support/app-process.ts';
import { PLAN, PROJECT, SPEC, TASKS, WORKFLOW, buttonValue, startEnvironment, type Environment } from '../support/environment.ts';

const inFlightRecords = (env: Environment) =>
  Object.keys(
    (env.kube.get('rfeworkflows', PROJECT, WORKFLOW) as unknown as { metadata: { annotations?: Record<string, string> } }).metadata
      .annotations ?? {},
  ).filter((k) => k.startsWith('jira-publish.vteam.ambient-code/'));

const threadTexts = (env: Environment) =>
  env.slack
    .callsTo('chat.postMessage')
    .filter((c) => c.args.thread_ts !== undefined)
    .map((c) => messageText(c.args));

describe('exactly once, on one replica', () => {
  let env: Environment;
  beforeAll(async () => {
    env = await startEnvironment();
  });
  afterAll(async () => {
    await env?.close();
  });

  it('a double click (or a redelivered click) makes one issue and one link', async () => {
    env.mcp.setLatency(300);
    const clicks = await Promise.all([env.click('publish_to_jira', buttonValue(SPEC)), env.click('publish_to_jira', buttonValue(SPEC))]);
    expect(clicks.map((c) => c.status)).toEqual([200, 200]);
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === SPEC));
    await env.slack.waitFor(() => env.slack.ephemeralTexts().find((t) => /already being published|already published/.test(t)));
    env.mcp.setLatency(0);
    expect(env.mcp.issues()).toHaveLength(1);
    expect(env.workflowLinks().filter((l) => l.path === SPEC)).toHaveLength(1);
  });

  it('concurrent publishes of different documents of one workflow all end up linked', async () => {
    env.mcp.setLatency(200);
    await Promise.all([PLAN, TASKS].map((p) => env.click('publish_to_jira', buttonValue(p))));
    await env.slack.waitFor(() => env.workflowLinks().length === 4);
    env.mcp.setLatency(0);
    expect(
      env
        .workflowLinks()
        .map((l) => l.path)
        .sort(),
    ).toEqual(['specs/000-old/spec.md', SPEC, PLAN, TASKS].sort());
    expect(env.mcp.issues()).toHaveLength(3);
  });
});

describe('exactly once across a crash (kill -9)', () => {
  let env: Environment;
  beforeAll(async () => {
    env = await startEnvironment();
  });
  afterAll(async () => {
    await env?.close();
  });
  afterEach(() => {
    env.kube.clearFaults();
    env.mcp.clearFaults();
    env.mcp.setLatency(0);
  });

  it('killed after Jira created the issue but before the link was written: the restart links it', async () => {
    // The first update records the publish in flight; the create is slowed so the link write can be hung.
    env.mcp.setLatency(500);
    await env.click('publish_to_jira', buttonValue(SPEC));
    await env.slack.waitFor(() => (inFlightRecords(env).length === 1 ? true : undefined));
    env.kube.failNext({ verb: 'update', resource: 'rfeworkflows' }, 'hang');
    await env.slack.waitFor(() =>
      env.kube.requests.filter((r) => r.verb === 'update' && r.resource === 'rfeworkflows').length === 2 ? true : undefined,
    );
    env.mcp.setLatency(0);
    expect(env.mcp.issues()).toHaveLength(1);
    await env.app.kill('SIGKILL');
    env.kube.clearFaults();
    expect(env.workflowLinks().find((l) => l.path === SPEC)).toBeUndefined();

    await env.startApp();
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === SPEC));
    await env.slack.waitFor(() => threadTexts(env).find((t) => t.includes('finished after a restart')));
    expect(env.mcp.issues()).toHaveLength(1);
    expect(env.workflowLinks().find((l) => l.path === SPEC)!.jiraKey).toBe(env.mcp.issues()[0]!.key);
  });

  it('killed after Jira created the issue but before its answer arrived: the restart finds it by label', async () => {
    env.mcp.failNextRequests(1, { status: 200, hang: true, afterEffect: true, match: { tool: 'createJiraIssue' } });
    await env.click('publish_to_jira', buttonValue(PLAN));
    await env.slack.waitFor(() => env.mcp.issues().find((i) => i.summary.endsWith('- plan')));
    await env.app.kill('SIGKILL');
    expect(env.workflowLinks().find((l) => l.path === PLAN)).toBeUndefined();

    await env.startApp();
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === PLAN), 20_000);
    const planIssues = env.mcp.issues().filter((i) => i.summary.endsWith('- plan'));
    expect(planIssues).toHaveLength(1);
    expect(env.workflowLinks().find((l) => l.path === PLAN)!.jiraKey).toBe(planIssues[0]!.key);
    expect(env.mcp.toolCalls('searchJiraIssuesUsingJql').length).toBeGreaterThan(0);
  });

  it('killed before the create reached Jira: the restart creates the issue once', async () => {
    env.mcp.setLatency(1000);
    env.mcp.resetCounters();
    await env.click('publish_to_jira', buttonValue(TASKS));
    await env.slack.waitFor(() => (env.mcp.counters.httpPosts > 0 && env.mcp.counters.toolCalls.length === 0 ? true : undefined));
    await env.app.kill('SIGKILL'); // the server drops the request when the client is gone
    env.mcp.setLatency(0);
    expect(env.mcp.issues().filter((i) => i.summary.endsWith('- tasks'))).toHaveLength(0);

    await env.startApp();
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === TASKS), 20_000);
    expect(env.mcp.issues().filter((i) => i.summary.endsWith('- tasks'))).toHaveLength(1);
  });
});

describe('exactly once, with two replicas sharing Redis', () => {
  let env: Environment;
  let redis: RedisHandle;
  let second: AppProcess;
  beforeAll(async () => {
    redis = await startRedis();
    env = await startEnvironment({ appEnv: { STORE_URL: redis.url } });
  });
  afterAll(async () => {
    await second?.kill('SIGKILL');
    await env?.close();
    await redis?.stop();
  });

  it('the same document clicked on both replicas at once makes one issue', async () => {
    second = await startApp({ ...env.appEnv(), PORT: String(await freePort()) });
    env.mcp.setLatency(300);
    const clicks = await Promise.all(
      [env.app, second, env.app, second].map((app) => env.click('publish_to_jira', buttonValue(TASKS), { app })),
    );
    expect(clicks.every((c) => c.status === 200)).toBe(true);
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === TASKS));
    await env.slack.waitFor(
      () => env.slack.ephemeralTexts().filter((t) => /already being published|already published/.test(t)).length === 3,
    );
    env.mcp.setLatency(0);
    expect(env.mcp.issues()).toHaveLength(1);
    expect(env.workflowLinks().filter((l) => l.path === TASKS)).toHaveLength(1);
  });
});
