import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createBoltApp } from '../../src/slack/bolt-app.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';

/** The bot's own Web API client gives up in bounded time: a reply in flight must not outlive the shutdown drain. */
let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack({ botToken: 'xoxb-test-token' });
});
afterAll(async () => {
  await slack.close();
});

describe("the bot's Slack Web API client", () => {
  it('retries a failing Slack twice, then gives up instead of retrying for half an hour', async () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_SIGNING_SECRET: 's', SLACK_API_URL: slack.apiUrl, PORT: '0' });
    const { app } = createBoltApp(config, pino({ level: 'silent' }), () => []);
    slack.httpErrorNext('chat.postMessage', 503, 100);
    const started = Date.now();
    await expect(app.client.chat.postMessage({ channel: 'C1', text: 'hello' })).rejects.toThrow();
    expect(slack.callsTo('chat.postMessage')).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
