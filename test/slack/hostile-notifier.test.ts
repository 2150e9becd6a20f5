/**
 * Issue 10, point 2, at the notifier: every message it sends for a publishing outcome (thread
 * replies, ephemerals, DMs, response_url payloads, the thread-failure fallback), driven with hostile
 * values in every field of the outcome, carries no mention or link the input wrote and stays within
 * Block Kit's limits. A new notifier method without a scenario here fails the coverage test.
 */
import type { WebClient } from '@slack/web-api';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { errors } from '../../src/errors.ts';
import type { JiraIssue, Workflow } from '../../src/publishing/model.ts';
import type { PublishNotifier } from '../../src/publishing/ports.ts';
import { createSlackNotifier, type WorkflowThreads } from '../../src/slack/slack-notifier.ts';
import { replyToOf } from '../../src/slack/reply-target.ts';
import { messageViolations } from './hostile/block-kit-limits.ts';
import { ECHO, HOSTILE, injectionViolations, mrkdwnStrings, TRUSTED, urlOf } from './hostile/mrkdwn-safety.ts';

const USER = { teamId: 'T0TEAM', userId: TRUSTED.userId };

interface Sent {
  via: string;
  payload: Record<string, unknown>;
}

/** A notifier whose Slack calls are recorded; `threadFails` makes the thread reply fail (not_in_channel). */
function recordingNotifier(h: string, threadFails: boolean) {
  const sent: Sent[] = [];
  const record = (via: string) => async (payload: Record<string, unknown>) => {
    if (via === 'thread' && threadFails) throw new Error('not_in_channel');
    sent.push({ via, payload });
    return { ok: true, ts: '1.2', channel: { id: 'D0DM' } };
  };
  const client = {
    chat: {
      postMessage: (payload: Record<string, unknown>) => record(payload.thread_ts ? 'thread' : 'chat.postMessage')(payload),
      postEphemeral: record('chat.postEphemeral'),
    },
    conversations: { open: async () => ({ ok: true, channel: { id: 'D0DM' } }) },
  } as unknown as WebClient;
  const threads: WorkflowThreads = { ensure: async () => ({ ts: '1.1', created: false }) };
  const fetch = async (_url: string | URL | Request, init?: RequestInit) => {
    sent.push({ via: 'response_url', payload: JSON.parse(String(init?.body)) as Record<string, unknown> });
    return new Response(null, { status: 200 });
  };
  const notifier = createSlackNotifier({
    client,
    threads,
    logger: pino({ level: 'silent' }),
    fetch: fetch as typeof globalThis.fetch,
    vteamUrl: 'https://vteam.example',
    rowsOf: async () => [
      { path: h, phase: h },
      { path: h, phase: h, jiraKey: h, url: urlOf(h) },
    ],
  });
  return { notifier, sent };
}

const workflowOf = (h: string): Workflow => ({
  namespace: 'team-a',
  name: 'rfe-1',
  title: h,
  description: h,
  branchName: h,
  umbrellaRepo: { url: urlOf(h), branch: h },
  jiraLinks: [{ path: h, jiraKey: h }],
  resourceVersion: '1',
});
const issueOf = (h: string): JiraIssue => ({ key: h, url: urlOf(h), summary: h, issueType: h });
const replyTo = replyToOf(USER, TRUSTED.channelId, { responseUrl: 'https://hooks.slack.com/actions/x', sourceEphemeral: true });

type Scenario = (
  notifier: PublishNotifier & {
    ephemeral: (r: typeof replyTo, m: { text: string }) => Promise<void>;
    direct: (u: string, m: { text: string }) => Promise<void>;
    inThread: (r: typeof replyTo, w: Workflow, m: { text: string }) => Promise<void>;
    refreshPicker: (r: typeof replyTo, w: Workflow) => Promise<void>;
  },
  h: string,
) => Promise<unknown>;

/** One or more calls per notifier method, with the hostile value in every field of the outcome. */
const SCENARIOS: Record<string, Scenario> = {
  queued: (n, h) => n.queued(replyTo, { workflow: workflowOf(h), path: h, retryAfterMs: 2000, position: 4 }),
  published: (n, h) =>
    n.published(replyTo, { workflow: workflowOf(h), path: h, issue: issueOf(h), user: USER, created: true, recovered: true }),
  alreadyLinked: (n, h) => n.alreadyLinked(replyTo, { workflow: workflowOf(h), path: h, issue: issueOf(h) }),
  updated: (n, h) => n.updated(replyTo, { workflow: workflowOf(h), path: h, issue: issueOf(h), user: USER }),
  failed: async (n, h) => {
    for (const error of [
      errors.jiraRejected(h),
      errors.jiraPermission(h, h),
      errors.documentNotFound(h, h),
      errors.siteNotGranted(h),
      errors.workflowAmbiguous(h, [h, h]),
    ]) {
      await n.failed(replyTo, error);
    }
  },
  needsLink: async (n, h) => {
    await n.needsLink(replyTo, { user: USER, path: h, reason: 'missing' });
    await n.needsLink(replyTo, { user: USER, path: h, reason: 'broken' });
  },
  pendingDropped: (n, h) => n.pendingDropped(replyTo, { path: h, maxAgeMs: 3_600_000 }),
  // Plain passthroughs: the message is a builder's, tested in hostile-mrkdwn.test.ts.
  ephemeral: (n) => n.ephemeral(replyTo, { text: 'ok' }),
  direct: (n) => n.direct(TRUSTED.userId, { text: 'ok' }),
  inThread: (n, h) => n.inThread(replyTo, workflowOf(h), { text: 'ok' }),
  refreshPicker: (n, h) => n.refreshPicker(replyTo, workflowOf(h)),
};

describe('the Slack notifier', () => {
  it('has a hostile scenario for every method', () => {
    const { notifier } = recordingNotifier('x', false);
    expect(Object.keys(SCENARIOS).sort()).toEqual(Object.keys(notifier).sort());
  });

  describe.each(Object.entries(SCENARIOS))('%s', (_method, scenario) => {
    it.each(HOSTILE.flatMap((hostile) => [false, true].map((threadFails) => ({ ...hostile, threadFails }))))(
      'sends nothing the input controls, within limits: $name (thread fails: $threadFails)',
      async ({ threadFails, ...hostile }) => {
        const { notifier, sent } = recordingNotifier(hostile.value, threadFails);
        await scenario(notifier, hostile.value);
        expect(sent.length).toBeGreaterThan(0);
        const problems = sent.flatMap(({ via, payload }) => [
          ...mrkdwnStrings(payload, true).flatMap((t) => injectionViolations(t, hostile).map((p) => `${via}: ${p}`)),
          ...messageViolations(payload).map((p) => `${via}: ${p}`),
        ]);
        expect(problems).toEqual([]);
      },
    );
  });

  it('shows outside values escaped rather than dropping them', async () => {
    const { notifier, sent } = recordingNotifier(ECHO.value, true);
    await SCENARIOS.published!(notifier, ECHO.value);
    await SCENARIOS.failed!(notifier, ECHO.value);
    const texts = sent.flatMap(({ payload }) => mrkdwnStrings(payload, true));
    expect(texts.filter((t) => t.includes(ECHO.escaped)).length).toBeGreaterThan(3);
  });
});
