/**
 * Hostile Slack requests against the app as users run it (fast-check generates them, correctly
 * signed): slash-command text, button and overflow values, modal submissions with forged
 * private_metadata, from a user who is not linked and a channel bound to nothing. For every one:
 * Slack gets its 200 at once, the process keeps serving, nothing happens in Jira or the cluster,
 * what the user sees carries no live mention or forged link from the input, and no secret reaches
 * a log line.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE_TOKEN, CHANNEL, startEnvironment, type Environment } from '../support/environment.ts';
import { buttonClickBody, overflowChoiceBody, postToSlackEvents, slashCommandBody, viewSubmissionBody } from '../support/slack-requests.ts';
import { hostile, hostileText } from '../properties/arbitraries.ts';
import '../properties/setup.ts';

let env: Environment;
beforeAll(async () => {
  env = await startEnvironment();
});
afterAll(async () => {
  await env?.close();
});

const STRANGER = 'U0666'; // never linked
const CHANNELS = [CHANNEL, 'C0999', 'D0666']; // bound, unbound, a DM
const ACTIONS = [
  'publish_to_jira',
  'update_jira_issue',
  'connect_atlassian',
  'disconnect_atlassian',
  'open_atlassian_sign_in',
  'vteam_jira_config_load_types',
  'a_retired_button',
];
const OVERFLOWS = ['publish_as'];
const CALLBACKS = ['vteam_publish_as', 'vteam_jira_config'];

const json = (value: unknown) => {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
};
const valueLike = fc.oneof(
  hostileText,
  hostile.map(json),
  fc.record({ v: fc.constant(1), ns: hostileText, wf: hostileText, p: hostileText }).map(json),
  fc.tuple(fc.constantFrom('d1|', 'n1|'), hostileText, hostileText, hostileText).map(([prefix, a, b, c]) => `${prefix}${a}|${b}|${c}`),
);

const request: fc.Arbitrary<HostileRequest> = fc.oneof(
  fc.record({ kind: fc.constant('command' as const), text: hostileText, channel: fc.constantFrom(...CHANNELS) }),
  fc.record({
    kind: fc.constant('button' as const),
    action: fc.constantFrom(...ACTIONS),
    value: valueLike,
    channel: fc.constantFrom(...CHANNELS),
  }),
  fc.record({
    kind: fc.constant('overflow' as const),
    action: fc.constantFrom(...OVERFLOWS),
    value: valueLike,
    channel: fc.constantFrom(...CHANNELS),
  }),
  fc.record({ kind: fc.constant('view' as const), callback: fc.constantFrom(...CALLBACKS), metadata: valueLike, typed: hostileText }),
);

type HostileRequest =
  | { kind: 'command'; text: string; channel: string }
  | { kind: 'button' | 'overflow'; action: string; value: string; channel: string }
  | { kind: 'view'; callback: string; metadata: string; typed: string };

function bodyOf(r: HostileRequest, responseUrl: string): string {
  switch (r.kind) {
    case 'command':
      return slashCommandBody({ text: r.text, userId: STRANGER, channelId: r.channel, responseUrl });
    case 'button':
      return buttonClickBody({ actionId: r.action, value: r.value, userId: STRANGER, channelId: r.channel, responseUrl });
    case 'overflow':
      return overflowChoiceBody({ actionId: r.action, value: r.value, userId: STRANGER, channelId: r.channel, responseUrl });
    case 'view':
      return viewSubmissionBody({
        callbackId: r.callback,
        privateMetadata: r.metadata,
        userId: STRANGER,
        values: { issue_type: { issue_type_text: { type: 'plain_text_input', value: r.typed } } },
      });
  }
}

let counter = 0;
async function send(r: HostileRequest) {
  const responseUrl = env.slack.responseUrl(`hostile${++counter}`);
  return postToSlackEvents(env.app.url, env.signingSecret, bodyOf(r, responseUrl));
}

/** A Slack control sequence an input could smuggle in: a live mention, broadcast or forged link. */
const LIVE = /<(?:!(?:channel|here|everyone|subteam)|@U0123|https?:\/\/evil\.example)/;

describe('hostile requests against the running app', () => {
  it('are acknowledged at once, do nothing outside their rights, leak nothing, and never stop the process', async () => {
    const issuesBefore = env.mcp.issues().length;
    const crBefore = JSON.stringify(env.workflowLinks());
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const answer = await send(r);
        expect(answer.status).toBe(200);
        expect(answer.ms).toBeLessThan(3_000);
        if (answer.body !== '') expect(answer.body).not.toMatch(LIVE);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 60) },
    );

    // Let the background work of the last requests finish, then look at everything the user saw.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await fetch(`${env.app.url}/healthz`)).status).toBe(200);
    expect(env.mcp.issues()).toHaveLength(issuesBefore);
    expect(JSON.stringify(env.workflowLinks())).toBe(crBefore);
    const seen = [
      ...env.slack.responses.map((r) => json(r.body)),
      ...env.slack.calls.filter((c) => c.method.startsWith('chat.') || c.method.startsWith('views.')).map((c) => json(c.args)),
    ];
    for (const payload of seen) expect(payload).not.toMatch(LIVE);
    const logs = env.app.output.join('\n');
    for (const secret of [ALICE_TOKEN, 'xoxb-test-token', 'test-signing-secret', 'ghp-team-a', 'legacy-shared-token-never-used'])
      expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/"level":(?:50|60).*unhandled/i);
  });
});
