import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageText } from '../support/fake-slack.ts';
import { DEFAULT_APP_TOKEN } from '../support/fake-socket-mode.ts';
import { buttonClickBody, slashCommandBody } from '../support/slack-requests.ts';
import {
  ALICE_TOKEN,
  CHANNEL,
  PLAN,
  SITE,
  SPEC,
  WORKFLOW,
  buttonValue,
  startEnvironment,
  type Environment,
} from '../support/environment.ts';

let env: Environment;
// The signing secret stays set, as in a deployment switching modes: the app token decides.
beforeAll(async () => {
  env = await startEnvironment({ appEnv: { SLACK_APP_TOKEN: DEFAULT_APP_TOKEN } });
});
afterAll(async () => {
  await env?.close();
});

let responseCounter = 0;
/** `/vteam <text>` as Slack delivers it in Socket Mode: the slash command's fields as the envelope payload. */
function command(text: string) {
  const responseId = `sm-cmd${++responseCounter}`;
  const payload = Object.fromEntries(new URLSearchParams(slashCommandBody({ text, responseUrl: env.slack.responseUrl(responseId) })));
  return { responseId, ack: env.slack.socketMode.slashCommand(payload) };
}

function click(actionId: string, value: string) {
  const responseId = `sm-click${++responseCounter}`;
  const form = new URLSearchParams(buttonClickBody({ actionId, value, responseUrl: env.slack.responseUrl(responseId) }));
  return { responseId, ack: env.slack.socketMode.interactive(JSON.parse(form.get('payload')!) as Record<string, unknown>) };
}

const threadReplies = () => env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts !== undefined);

async function readiness(): Promise<{ status: number; body: { checks: Record<string, string> } }> {
  const response = await fetch(`${env.app.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
}

async function waitForReadiness(status: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await readiness();
    if (current.status === status) return current;
    if (Date.now() > deadline) throw new Error(`/readyz stayed ${current.status} (${JSON.stringify(current.body)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Socket Mode', () => {
  it('connects with the app-level token through the configured Slack API, and is ready once connected', async () => {
    const connection = await env.slack.socketMode.waitForConnection();
    expect(connection.open).toBe(true);
    const opens = env.slack.callsTo('apps.connections.open');
    expect(opens.length).toBeGreaterThanOrEqual(1);
    expect(opens.every((c) => c.token === DEFAULT_APP_TOKEN)).toBe(true);
    expect(await readiness()).toEqual({ status: 200, body: expect.objectContaining({ checks: expect.objectContaining({ slack: 'ok' }) }) });
  });

  it('answers /vteam help in the acknowledgement', async () => {
    const { ack } = command('help');
    expect((await ack).payload).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringContaining('/vteam publish <workflow> <path>'),
    });
  });

  it('publishes a document from a slash command envelope, exactly as over HTTP', async () => {
    const { ack } = command(`publish ${WORKFLOW} ${SPEC}`);
    expect((await ack).payload).toEqual({});

    const reply = await env.slack.waitFor(() => threadReplies().find((c) => messageText(c.args).includes('PROJ-1')));
    expect(env.mcp.issues({ projectKey: 'PROJ' })).toEqual([
      expect.objectContaining({ key: 'PROJ-1', summary: '[RFE] Dark mode - specify' }),
    ]);
    expect(env.mcp.toolCalls('createJiraIssue').map((c) => c.token)).toEqual([ALICE_TOKEN]);
    expect(env.workflowLinks()).toContainEqual({ path: SPEC, jiraKey: 'PROJ-1' });
    expect(reply.args.channel).toBe(CHANNEL);
    expect(messageText(reply.args)).toContain(`<${SITE}/browse/PROJ-1|PROJ-1>`);
  });

  it('publishes from a Publish to Jira button (interactive envelope)', async () => {
    const before = threadReplies().length;
    const { ack } = click('publish_to_jira', buttonValue(PLAN));
    expect((await ack).envelopeId).toBeTruthy();
    const reply = await env.slack.waitFor(() =>
      threadReplies()
        .slice(before)
        .find((c) => messageText(c.args).includes('PROJ-2')),
    );
    expect(messageText(reply.args)).toContain(PLAN);
    expect(env.workflowLinks()).toContainEqual({ path: PLAN, jiraKey: 'PROJ-2' });
    expect(env.mcp.issues()).toHaveLength(2);
  });

  it('serves health, readiness, metrics and the OAuth callback on PORT, but no /slack/events', async () => {
    expect((await fetch(`${env.app.url}/healthz`)).status).toBe(200);
    const metrics = await fetch(`${env.app.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# HELP /m);
    const callback = await fetch(`${env.app.url}/oauth/callback?state=unknown&code=nope`);
    expect(callback.status).toBe(400);
    expect(callback.headers.get('content-type')).toMatch(/text\/html/);
    // Commands arrive over the WebSocket only; a forged HTTP delivery finds nothing to talk to.
    const events = await fetch(`${env.app.url}/slack/events`, { method: 'POST', body: 'command=/vteam&text=help' });
    expect(events.status).toBe(404);
  });

  it('is not ready while the WebSocket is down and Slack refuses it, and ready again once it reconnects', async () => {
    const socket = env.slack.socketMode;
    const connectionsBefore = socket.connections.length;
    socket.setAccepting(false);
    socket.drop();
    expect(await waitForReadiness(503)).toMatchObject({ body: { checks: { slack: 'unavailable', store: 'ok', accepting: 'ok' } } });

    // It keeps trying; each refused attempt leaves it unready.
    await env.slack.waitFor(() => socket.refusedUpgrades() >= 1, 20_000);
    expect((await readiness()).status).toBe(503);

    socket.setAccepting(true);
    await socket.waitForConnection(connectionsBefore + 1);
    await waitForReadiness(200);
    const { ack } = command('help');
    expect((await ack).payload.text).toContain('/vteam publish');
  });

  it('reconnects when Slack asks it to refresh the connection', async () => {
    const socket = env.slack.socketMode;
    const connectionsBefore = socket.connections.length;
    const previous = socket.connections.at(-1)!;
    socket.requestRefresh();
    const next = await socket.waitForConnection(connectionsBefore + 1);
    expect(next.id).not.toBe(previous.id);
    // The client closed the old connection with a close frame (not a drop).
    expect(previous).toMatchObject({ open: false, closeCode: 1000 });
    await waitForReadiness(200);
    const { ack } = command('help');
    expect((await ack).payload.text).toContain('/vteam publish');
  });

  it('keeps the app token and envelopes out of its logs, even at debug level', async () => {
    const output = env.app.output.join('\n');
    expect(output).not.toContain(DEFAULT_APP_TOKEN);
    expect(output).not.toContain('xoxb-test-token');
    expect(output).not.toContain(ALICE_TOKEN);
    // Envelopes carry response_urls, which let anyone answer the user for 30 minutes.
    expect(output).not.toContain(env.slack.responseUrl('sm-cmd1'));
  });
});
