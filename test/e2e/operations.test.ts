import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageText } from '../support/fake-slack.ts';
import { SPEC, PLAN, WORKFLOW, buttonValue, startEnvironment, type Environment } from '../support/environment.ts';

/** What operators see: /vteam jira-status, /metrics, /readyz, and a graceful SIGTERM. */
let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ appEnv: { ADMIN_SLACK_USERS: 'U0001' } });
});
afterAll(async () => {
  await env?.close();
});

async function status(userId = 'U0001'): Promise<string> {
  const sent = await env.command('jira-status', { userId });
  const response = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === sent.responseId));
  return messageText(response.body);
}

/** Prometheus text exposition: every sample line is `name{labels} value`. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|NaN|\+Inf|-Inf))$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

/** A metric's value summed over its label sets (e.g. every outcome of a histogram's _count). */
function total(samples: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [key, value] of samples) if (key === name || key.startsWith(`${name}{`)) sum += value;
  return sum;
}

describe('operations', () => {
  it('refuses a 20 MB request body at once, without reading it whole', async () => {
    const body = `payload=${'x'.repeat(20 * 1024 * 1024)}`;
    const started = performance.now();
    const response = await fetch(`${env.app.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    }).catch((error: unknown) => error);
    // Either a 413, or the connection cut before the upload ended: never a 200, never a hang.
    if (response instanceof Response) expect(response.status).toBe(413);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await fetch(`${env.app.url}/healthz`)).status).toBe(200);
  });

  it("/vteam jira-status reports every dependency and the caller's link", async () => {
    const text = await status();
    expect(text).toMatch(/Atlassian MCP server/);
    expect(text).toMatch(/can create issues/);
    expect(text).toMatch(/Your Atlassian account/);
    expect(text).toMatch(/Alice Example · acme \(`acme\.atlassian\.net`\)/);
    expect(text).toMatch(/requests used this hour \(\d[\d,]* left\)/);
    expect(text).toMatch(/Kubernetes\* {2}API reachable · \d+ ms · RFEWorkflows served · may watch and update RFEWorkflows/);
    expect(text).toMatch(/Store\* {2}reachable/);
    expect(text).not.toContain('atl-access-alice');
  });

  it('shows what the bot may not do in the cluster', async () => {
    env.kube.setAccessRules([]);
    try {
      expect(await status()).toMatch(/may not watch RFEWorkflows/);
    } finally {
      env.kube.setAccessRules([{ user: 'system:serviceaccount:ambient-code:vteam-slack', resource: 'rfeworkflows', allowed: true }]);
    }
  });

  it('shows the MCP server down, then recovered', async () => {
    await env.mcp.stop();
    try {
      expect(await status()).toMatch(/Atlassian MCP server[^\n]*(unreachable|not reachable|refused|timed out)/i);
    } finally {
      await env.mcp.start();
    }
  });

  it('/metrics is Prometheus text and its counters move with a publish', async () => {
    const before = parsePrometheus(await (await fetch(`${env.app.url}/metrics`)).text());
    await env.command(`publish ${WORKFLOW} ${SPEC}`);
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === SPEC));
    await env.app.waitForLog((r) => r.msg === 'published');
    const count = 'vteam_slack_publish_duration_seconds_count';
    let after = new Map<string, number>();
    for (let i = 0; i < 100 && total(after, count) <= total(before, count); i++) {
      after = parsePrometheus(await (await fetch(`${env.app.url}/metrics`)).text());
      await new Promise((r) => setTimeout(r, 50));
    }
    const created = 'vteam_slack_publishes_total{outcome="created"}';
    expect((after.get(created) ?? 0) - (before.get(created) ?? 0)).toBe(1);
    expect(after.get('vteam_slack_mcp_calls_total{tool="createJiraIssue",status="ok"}')).toBeGreaterThanOrEqual(1);
    const buckets = [...after.keys()].filter((k) => k.startsWith('vteam_slack_publish_duration_seconds_bucket'));
    expect(buckets.some((k) => k.includes('outcome="created"'))).toBe(true);
    expect(after.get('vteam_slack_cards_queued')).toBeGreaterThanOrEqual(0); // the Slack write backlog of the cards
  });

  it('/readyz is about this replica: it stays ready while the Kubernetes API refuses the bot or is away', async () => {
    expect((await fetch(`${env.app.url}/readyz`)).status).toBe(200);
    const token = env.kube.token;
    env.kube.setToken('rotated-elsewhere'); // the bot's credentials stop working
    try {
      const refused = await fetch(`${env.app.url}/readyz`);
      expect(refused.status).toBe(200);
      expect(await refused.json()).toEqual({ status: 'ready', checks: { store: 'ok', accepting: 'ok' } });
      await env.kube.setReachable(false);
      expect((await fetch(`${env.app.url}/readyz`)).status).toBe(200);
    } finally {
      await env.kube.setReachable(true);
      env.kube.setToken(token);
    }
  });

  it('SIGTERM during a publish finishes it before exiting', async () => {
    env.mcp.setLatency(1500);
    env.mcp.resetCounters();
    await env.click('publish_to_jira', buttonValue(PLAN));
    await env.slack.waitFor(() => (env.mcp.counters.httpPosts > 0 ? true : undefined));
    const exit = env.app.kill('SIGTERM');
    const code = await exit;
    expect(code).toBe(0);
    env.mcp.setLatency(0);
    expect(env.workflowLinks().find((l) => l.path === PLAN)).toBeDefined();
  });
});
