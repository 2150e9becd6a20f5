/**
 * Slack misbehaving: 429 with Retry-After on the thread reply and on the card edit, and one request
 * delivered twice (Slack's retry, X-Slack-Retry-Num). One issue, one link, and the user hears it.
 */
import { describe, expect } from 'vitest';
import { CHANNEL, PLAN, SPEC, buttonValue } from '../support/environment.ts';
import { messageText } from '../support/fake-slack.ts';
import { buttonClickBody, signSlackBody } from '../support/slack-requests.ts';
import { scenario } from './harness.ts';

describe('Slack fails or repeats itself', () => {
  scenario('Slack 429 (Retry-After 1 s) on chat.postMessage and chat.update', {}, async (w) => {
    const { env } = w;
    // The cards are up (posted at start-up), so the next postMessage is the publish's thread reply.
    await env.slack.waitFor(() => env.slack.messagesIn(CHANNEL).length > 0 && env.slack.messagesIn('C0002').length > 0);
    env.slack.rateLimitNext('chat.postMessage', 1, 1);
    env.slack.rateLimitNext('chat.update', 1, 2);
    await w.click(PLAN);
    const key = await env.slack.waitFor(() => w.issuesFor(PLAN)[0]?.key);
    // The card edit got through after its 429s too.
    await env.slack.waitFor(
      () => env.slack.messagesIn(CHANNEL).some((m) => messageText({ text: m.text, blocks: m.blocks }).includes(key)),
      15_000,
    );
    // Both kinds of call really were refused first.
    expect(
      env.slack
        .rateLimitedCalls()
        .map((c) => c.method)
        .sort(),
    ).toEqual(['chat.postMessage', 'chat.update', 'chat.update']);
  });

  scenario('the same Slack request delivered twice (second with X-Slack-Retry-Num: 1)', {}, async (w) => {
    const { env } = w;
    env.mcp.setLatency(300);
    const responseId = 'redelivered';
    const body = buttonClickBody({ actionId: 'publish_to_jira', value: buttonValue(SPEC), responseUrl: env.slack.responseUrl(responseId) });
    const headers = { 'content-type': 'application/x-www-form-urlencoded', ...signSlackBody(env.signingSecret, body) };
    const deliver = (extra: Record<string, string> = {}) =>
      fetch(`${env.app.url}/slack/events`, {
        method: 'POST',
        headers: { ...headers, ...extra },
        body,
        signal: AbortSignal.timeout(10_000),
      });
    const at = Date.now();
    const first = await deliver();
    w.recordClick({ path: SPEC, responseId, app: env.app, at, runsPublish: true });
    const again = await deliver({ 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' });
    w.recordClick({ path: SPEC, responseId, app: env.app, at: Date.now(), runsPublish: false });
    expect([first.status, again.status]).toEqual([200, 200]);
  });
});
