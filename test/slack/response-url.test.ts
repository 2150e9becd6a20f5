import { pino } from 'pino';
import type { WebClient } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { isSlackResponseUrl, replyToOf } from '../../src/slack/reply-target.ts';
import { createSlackNotifier, type WorkflowThreads } from '../../src/slack/slack-notifier.ts';

describe('response_url is only ever POSTed to Slack', () => {
  it.each([
    ['https://hooks.slack.com/actions/T1/123/abc', undefined, true],
    ['https://hooks.slack-gov.com/commands/T1/123/abc', undefined, true],
    ['http://hooks.slack.com/actions/T1/123/abc', undefined, false],
    ['https://hooks.slack.com:8443/actions/x', undefined, false],
    ['https://hooks.slack.com.evil.example/actions/x', undefined, false],
    ['https://user:pw@hooks.slack.com/actions/x', undefined, false],
    ['https://evil.example/actions/x', undefined, false],
    ['not a url', undefined, false],
    ['http://127.0.0.1:4000/response/1', 'http://127.0.0.1:4000/api/', true],
    ['http://127.0.0.1:4001/response/1', 'http://127.0.0.1:4000/api/', false],
  ])('%s (SLACK_API_URL %s) → %s', (url, apiUrl, allowed) => {
    expect(isSlackResponseUrl(url, apiUrl)).toBe(allowed);
  });

  it('answers through the Web API instead when a stored response_url names another host', async () => {
    const posted: string[] = [];
    const ephemerals: unknown[] = [];
    const client = {
      chat: {
        postEphemeral: async (args: unknown) => {
          ephemerals.push(args);
          return { ok: true };
        },
      },
    } as unknown as WebClient;
    const notifier = createSlackNotifier({
      client,
      threads: {} as WorkflowThreads,
      rowsOf: async () => [],
      logger: pino({ level: 'silent' }),
      fetch: (async (url: string | URL) => {
        posted.push(String(url));
        return new Response(null, { status: 200 });
      }) as typeof fetch,
    });
    await notifier.ephemeral(replyToOf({ teamId: 'T1', userId: 'U1' }, 'C1', { responseUrl: 'https://evil.example/collect' }), {
      text: 'hello',
    });
    expect(posted).toEqual([]);
    expect(ephemerals).toEqual([expect.objectContaining({ channel: 'C1', user: 'U1', text: 'hello' })]);
  });
});
