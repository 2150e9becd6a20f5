/**
 * What /metrics tells beyond the counters the other tests check: the build, Node's standard process
 * metrics under their usual names, the publish duration by outcome, Slack acknowledgement latency
 * (a signed HTTP request through Bolt) and Slack Web API latency by method and outcome.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pino } from 'pino';
import type { Histogram } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCardsSlackClient } from '../../src/cards/slack-writer.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createBoltApp } from '../../src/slack/bolt-app.ts';
import { createSlackWebClient } from '../../src/slack/web-client.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { eventBody, postToSlackEvents, slashCommandBody } from '../support/slack-requests.ts';
import { createWorld, request } from '../publishing/world.ts';

const SIGNING_SECRET = 'test-signing-secret';
const silent = pino({ level: 'silent' });

let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack({ botToken: 'xoxb-test-token' });
});
afterAll(async () => {
  await slack.close();
});

const config = () =>
  loadConfig({ SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slack.apiUrl, PORT: '0' });

/** A histogram's observation count per label set, e.g. `{ "kind=command": 1 }`. */
async function counts(histogram: Histogram<string>): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const value of (await histogram.get()).values) {
    if (!value.metricName?.endsWith('_count')) continue;
    const key = Object.entries(value.labels)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
    result[key] = value.value;
  }
  return result;
}

describe('the metrics registry', () => {
  it('tells the version of the bot (from package.json) and of Node.js', async () => {
    const { registry } = createMetrics();
    const info = (await registry.getSingleMetric('vteam_slack_build_info')!.get()).values;
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(info).toEqual([{ labels: { version, node: process.version }, value: 1 }]);
  });

  it("exports Node's default process metrics under their standard names, the bot's own under vteam_slack_", async () => {
    const names = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    for (const standard of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_gc_duration_seconds',
    ])
      expect(names).toContain(standard);
    expect(names.filter((n) => /^vteam_slack_(process|nodejs)_/.test(n))).toEqual([]);
    expect(names.filter((n) => !/^(process|nodejs)_/.test(n)).every((n) => n.startsWith('vteam_slack_'))).toBe(true);
  });

  it('times publishes by outcome', async () => {
    const world = await createWorld();
    try {
      const metrics = createMetrics();
      const service = world.replica('a', { metrics });
      await service.publish(request());
      await service.publish(request()); // the document is linked now
      world.jira.createFaults = ['rejected'];
      await service.publish(request('specs/001-x/plan.md'));
      expect(await counts(metrics.publishDuration)).toEqual({
        'outcome=created': 1,
        'outcome=already_linked': 1,
        'outcome=jira_rejected': 1,
      });
    } finally {
      await world.close();
    }
  });
});

describe('Slack acknowledgements', () => {
  it('are timed from a signed request reaching Bolt to its ack, by kind (events too, which Bolt acks itself)', async () => {
    const metrics = createMetrics();
    const { app } = createBoltApp(config(), silent, () => [], metrics);
    app.command('/vteam', async ({ ack }) => {
      await ack();
    });
    const server = (await app.start(0)) as Server;
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const command = await postToSlackEvents(
        url,
        SIGNING_SECRET,
        slashCommandBody({ text: 'help', responseUrl: `${slack.url}/response` }),
      );
      expect(command.status).toBe(200);
      const event = await postToSlackEvents(url, SIGNING_SECRET, eventBody({ type: 'app_home_opened', user: 'U0001', tab: 'home' }), {
        json: true,
      });
      expect(event.status).toBe(200);
      await vi.waitFor(async () => expect(await counts(metrics.ackDuration)).toEqual({ 'kind=command': 1, 'kind=event': 1 }));
      // Bolt's own client goes through the instrumented fetch too (it checks the token once).
      expect((await counts(metrics.slackApiDuration))['method=auth.test,outcome=ok']).toBeGreaterThanOrEqual(1);
    } finally {
      await app.stop();
    }
  });
});

describe('Slack Web API calls', () => {
  it('are timed by method and outcome: ok, the Slack error, an HTTP status per attempt, ratelimited', async () => {
    const metrics = createMetrics();
    const client = createSlackWebClient(config(), silent, metrics);
    await client.chat.postMessage({ channel: 'C1', text: 'hello' });
    slack.failNext('chat.postMessage', 'channel_not_found');
    await expect(client.chat.postMessage({ channel: 'C1', text: 'hello' })).rejects.toThrow(/channel_not_found/);
    slack.httpErrorNext('chat.postMessage', 503, 1); // retried, then answered
    await client.chat.postMessage({ channel: 'C1', text: 'hello' });

    const cards = createCardsSlackClient({ token: 'xoxb-test-token', slackApiUrl: slack.apiUrl, metrics });
    slack.rateLimitNext('chat.update', 1);
    await expect(cards.chat.update({ channel: 'C1', ts: '1.2', text: 'card' })).rejects.toThrow();

    expect(await counts(metrics.slackApiDuration)).toEqual({
      'method=chat.postMessage,outcome=ok': 2,
      'method=chat.postMessage,outcome=channel_not_found': 1,
      'method=chat.postMessage,outcome=http_503': 1,
      'method=chat.update,outcome=ratelimited': 1,
    });
  });
});
