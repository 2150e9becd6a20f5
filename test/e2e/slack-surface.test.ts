import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnApp } from '../support/app-process.ts';
import { messageText } from '../support/fake-slack.ts';
import { postToSlackEvents, slashCommandBody } from '../support/slack-requests.ts';
import { ALICE_TOKEN, PLAN, SPEC, WORKFLOW, startEnvironment, type Environment } from '../support/environment.ts';

let env: Environment;
beforeAll(async () => {
  env = await startEnvironment();
});
afterAll(async () => {
  await env?.close();
});

describe('Slack requests', () => {
  it('refuses a bad signature and a stale timestamp with 401, doing nothing', async () => {
    const mcpRequests = env.mcp.counters.httpRequests;
    const responses = env.slack.responses.length;
    const body = slashCommandBody({ text: `publish ${WORKFLOW} ${SPEC}`, responseUrl: env.slack.responseUrl() });
    const forged = await postToSlackEvents(env.app.url, env.signingSecret, body, { signature: `v0=${'0'.repeat(64)}` });
    expect(forged.status).toBe(401);
    const stale = await postToSlackEvents(env.app.url, env.signingSecret, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    const wrongSecret = await postToSlackEvents(env.app.url, 'not-the-secret', body);
    expect(wrongSecret.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(env.mcp.counters.httpRequests).toBe(mcpRequests);
    expect(env.slack.responses).toHaveLength(responses);
  });

  it('answers /vteam help and unknown sub-commands with usage, in the acknowledgement', async () => {
    const help = await env.command('help');
    expect(JSON.parse(help.body)).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringContaining('/vteam publish <workflow> <path>'),
    });
    const unknown = await env.command('frobnicate');
    expect(JSON.parse(unknown.body).text).toMatch(/I don't know the command `frobnicate`\.[\s\S]*\/vteam publish/);
  });

  it('acknowledges a publish before doing any of its work', async () => {
    const issues = env.mcp.issues().length;
    env.mcp.setLatency(1500);
    try {
      const answer = await env.command(`publish ${WORKFLOW} ${SPEC}`);
      expect(answer.status).toBe(200);
      // The 200 came back while the Jira call was still under way.
      expect(env.mcp.issues()).toHaveLength(issues);
      await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === SPEC));
    } finally {
      env.mcp.setLatency(0);
    }
  });

  it('keeps every secret out of its logs, even at debug level', async () => {
    // A publish of its own, logged at debug level throughout: Jira, the cluster, and the thread reply.
    await env.command(`publish ${WORKFLOW} ${PLAN}`);
    const published = await env.app.waitForLog((r) => r.msg === 'published' && r.path === PLAN);
    await env.slack.waitFor(() =>
      env.slack
        .callsTo('chat.postMessage')
        .find((c) => c.args.thread_ts !== undefined && messageText(c.args).includes(String(published.jiraKey))),
    );
    const output = env.app.output.join('\n');
    for (const secret of [
      ALICE_TOKEN,
      env.signingSecret,
      'xoxb-test-token',
      'ghp-team-a',
      'legacy-shared-token-never-used',
      env.appEnv().TOKEN_ENCRYPTION_KEY!,
    ]) {
      expect(output).not.toContain(secret);
    }
  });
});

describe('start-up', () => {
  it('names every bad setting in one message and exits non-zero', async () => {
    const app = spawnApp({ PORT: '0', SLACK_BOT_TOKEN: 'oops-secret-value', STORE_URL: 'mysql://db', NODE_ENV: 'production' });
    const code = await app.exited;
    expect(code).toBe(78);
    const output = app.output.join('\n');
    expect(output).toMatch(/configuration is invalid/);
    expect(output).toMatch(/SLACK_BOT_TOKEN must be a Slack bot token/);
    expect(output).toMatch(/STORE_URL must start with sqlite:/);
    expect(output).not.toContain('oops-secret-value');
  });
});
