import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startApp, type AppProcess } from '../support/app-process.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';
import { ALICE_TOKEN, PROJECT, SITE, buttonValue, startEnvironment, type Environment } from '../support/environment.ts';

/**
 * Two bot processes sharing a real Redis stay inside one per-site concurrency cap and one hourly
 * budget, against an MCP server that answers 429 above 10 concurrent calls.
 */
let env: Environment;
let redis: RedisHandle;
let second: AppProcess;
const WORKFLOWS = Array.from({ length: 12 }, (_, i) => `rfe-17600010${String(i).padStart(2, '0')}`);

beforeAll(async () => {
  redis = await startRedis();
  env = await startEnvironment({
    appEnv: { STORE_URL: redis.url, RATE_LIMIT_CONCURRENCY: '2', RATE_LIMIT_HOURLY_BUDGET: '10', RATE_LIMIT_MAX_WAIT_SECONDS: '2' },
  });
  for (const name of WORKFLOWS) {
    env.kube.addRfeWorkflow(PROJECT, name, {
      title: `Feature ${name}`,
      description: 'x',
      branchName: `b-${name}`,
      umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
    });
    env.github.setFiles('org', 'spec-repo', `b-${name}`, { 'specs/spec.md': `# ${name}` });
  }
  for (let u = 2; u <= 6; u++) {
    const token = `${ALICE_TOKEN}-u${u}`;
    env.mcp.addToken({ token, sites: [SITE] });
    await env.link({ teamId: 'T0001', userId: `U000${u}` }, token);
  }
  env.mcp.setRateLimit({ maxConcurrent: 10, retryAfterSeconds: 1 });
  second = await startApp({ ...env.appEnv(), PORT: String(await freePort()) });
});
afterAll(async () => {
  await second?.kill('SIGKILL');
  await env?.close();
  await redis?.stop();
});

describe('rate limits across two replicas', () => {
  it('never exceeds the shared concurrency cap, never the hourly budget, and tells the rest when to come back', async () => {
    // Long enough that the last rounds wait past the app's notice delay (QUEUE_NOTICE_AFTER_MS): 5 rounds of 2.
    env.mcp.setLatency(700);
    env.mcp.resetCounters();
    const clicks = WORKFLOWS.map((name, i) =>
      env.click('publish_to_jira', buttonValue('specs/spec.md', PROJECT, name), {
        userId: `U000${(i % 5) + 2}`,
        app: i % 2 === 0 ? env.app : second,
      }),
    );
    await Promise.all(clicks);
    await env.slack.waitFor(() => {
      const linked = WORKFLOWS.filter((name) => env.workflowLinks(name).length > 0).length;
      const refused = env.slack.ephemeralTexts().filter((t) => /hour's Jira request budget/.test(t)).length;
      return linked + refused === WORKFLOWS.length ? true : undefined;
    }, 30_000);
    env.mcp.setLatency(0);

    const creates = env.mcp.issues().length;
    expect(creates).toBeLessThanOrEqual(10); // the hourly budget, shared
    expect(creates).toBeGreaterThanOrEqual(8); // budget counts operations; a replica may hold back a slot
    expect(WORKFLOWS.filter((name) => env.workflowLinks(name).length > 0)).toHaveLength(creates);
    expect(env.mcp.counters.rateLimited).toBe(0); // the cap kept us far from the server's limit
    // Requests in flight at the MCP server at once, over both replicas: never more than the cap.
    expect(env.mcp.counters.peakInFlight).toBeLessThanOrEqual(2);
    // Those still waiting after the notice delay are told their place (test/publishing/rate-limit-waits.test.ts: only they).
    expect(env.slack.ephemeralTexts().some((t) => /is queued; you are number \d+ in the queue/.test(t))).toBe(true);
  });
});
