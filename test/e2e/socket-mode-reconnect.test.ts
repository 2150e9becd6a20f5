/**
 * Socket Mode when Slack stops cooperating after start: an outage is ridden out with backoff, and an
 * app token Slack no longer accepts (revoked, rotated) ends the process in order with a log line that
 * says what to fix, instead of an unhandled rejection or a loop that never heals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnApp } from '../support/app-process.ts';
import { DEFAULT_APP_TOKEN } from '../support/fake-socket-mode.ts';
import { startEnvironment, type Environment } from '../support/environment.ts';

let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ appEnv: { SLACK_APP_TOKEN: DEFAULT_APP_TOKEN } });
});
afterAll(async () => {
  await env?.close();
});

async function waitForReady(timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(`${env.app.url}/readyz`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('not ready again');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Socket Mode after start', () => {
  it('rides out Slack refusing new connections for a while, then serves commands again', async () => {
    const socket = env.slack.socketMode;
    const before = socket.connections.length;
    env.slack.failNext('apps.connections.open', 'internal_error', 2);
    socket.drop();

    await socket.waitForConnection(before + 1, 30_000);
    await waitForReady();
    expect(env.app.child.exitCode).toBeNull();
    const warnings = env.app.logs().filter((l) => l.msg === 'Socket Mode: could not reconnect to Slack');
    expect(warnings).toHaveLength(2);
    const { payload } = await socket.slashCommand({ command: '/vteam', text: 'help', user_id: 'U1', team_id: 'T1', channel_id: 'C1' });
    expect(String(payload.text)).toContain('/vteam publish');
  });

  it('shuts down in order and exits 1 with the fix when Slack has revoked the app token', async () => {
    env.slack.failNext('apps.connections.open', 'token_revoked', 1_000);
    env.slack.socketMode.drop();

    const code = await Promise.race([env.app.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code).toBe(1);
    const fatal = env.app.logs().find((l) => l.level === 60);
    expect(fatal?.msg).toBe(
      'Slack refused SLACK_APP_TOKEN (token_revoked): create an app-level token with the connections:write scope under Basic Information → App-Level Tokens, put it in SLACK_APP_TOKEN and restart.',
    );
    expect(env.app.logs().some((l) => l.msg === 'shutting down: finishing in-flight work' && l.reason === 'fatal')).toBe(true);
    const output = env.app.output.join('\n');
    expect(output).not.toContain(DEFAULT_APP_TOKEN);
    expect(output).not.toMatch(/unhandled|UnhandledPromiseRejection/i);
  });

  it('refuses to start with a token Slack does not accept, saying what to fix', async () => {
    const port = await freePort();
    const app = spawnApp({
      ...env.appEnv(),
      SLACK_APP_TOKEN: 'xapp-1-A0001-1-not-the-right-one',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
    });
    expect(await app.exited).toBe(1);
    const output = app.output.join('\n');
    expect(output).toContain('vteam-slack failed to start: Slack refused SLACK_APP_TOKEN (invalid_auth): create an app-level token');
    expect(output).not.toContain('not-the-right-one');
  });
});
