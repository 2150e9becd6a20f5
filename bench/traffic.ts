/** Signed Slack requests the way users produce them, timed at the HTTP round trip (the ack). */
import type { Environment } from '../test/support/environment.ts';
import { PROJECT, buttonValue } from '../test/support/environment.ts';
import { buttonClickBody, slashCommandBody } from '../test/support/slack-requests.ts';
import { runLoad, type LoadPlan } from './load-generator.ts';
import type { BenchDocument, BenchUser } from './world.ts';

export type RequestKind = 'help' | 'picker' | 'command-publish' | 'click-publish';

/** What users send, out of every 10 requests: 1 help, 1 picker, 4 slash-command publishes, 4 button clicks. */
export const REQUEST_MIX: readonly RequestKind[] = [
  'command-publish',
  'click-publish',
  'help',
  'command-publish',
  'click-publish',
  'picker',
  'command-publish',
  'click-publish',
  'command-publish',
  'click-publish',
];

export interface SentRequest {
  kind: RequestKind;
  userId: string;
  document?: BenchDocument;
  status: number;
  /** HTTP round trip to /slack/events, ms. */
  ackMs: number;
  /** performance.now() when the request was sent. */
  sentAt: number;
  responseId: string;
}

export async function send(env: Environment, user: BenchUser, kind: RequestKind, document?: BenchDocument): Promise<SentRequest> {
  const userId = user.ref.userId;
  const sentAt = performance.now();
  let result: { status: number; ms: number; responseId: string };
  switch (kind) {
    case 'help':
      result = await env.command('help', { userId });
      break;
    case 'picker':
      result = await env.command(`publish ${requireDocument(kind, document).workflow.name}`, { userId });
      break;
    case 'command-publish': {
      const doc = requireDocument(kind, document);
      result = await env.command(`publish ${doc.workflow.name} ${doc.path}`, { userId });
      break;
    }
    case 'click-publish': {
      const doc = requireDocument(kind, document);
      result = await env.click('publish_to_jira', buttonValue(doc.path, PROJECT, doc.workflow.name), { userId });
      break;
    }
  }
  return {
    kind,
    userId,
    ...(document ? { document } : {}),
    status: result.status,
    ackMs: result.ms,
    sentAt,
    responseId: result.responseId,
  };
}

function requireDocument(kind: RequestKind, document: BenchDocument | undefined): BenchDocument {
  if (!document) throw new Error(`${kind} needs a document`);
  return document;
}

let planned = 0;

export interface PlannedSend {
  user: BenchUser;
  /** For `scheduled` mode: ms after the start. */
  atMs?: number;
  kind: RequestKind;
  document?: BenchDocument;
}

/**
 * Sends many requests from a worker thread (see load-generator.ts) and returns them timed, each with
 * the response_url id its ephemeral answers arrive on.
 */
export async function sendMany(env: Environment, sends: readonly PlannedSend[], mode: LoadPlan['mode']): Promise<SentRequest[]> {
  const built = sends.map((s, i) => {
    const responseId = `bench${++planned}`;
    const responseUrl = env.slack.responseUrl(responseId);
    const userId = s.user.ref.userId;
    let body: string;
    if (s.kind === 'click-publish') {
      const doc = requireDocument(s.kind, s.document);
      body = buttonClickBody({
        actionId: 'publish_to_jira',
        value: buttonValue(doc.path, PROJECT, doc.workflow.name),
        userId,
        responseUrl,
      });
    } else {
      const text =
        s.kind === 'help'
          ? 'help'
          : s.kind === 'picker'
            ? `publish ${requireDocument(s.kind, s.document).workflow.name}`
            : `publish ${requireDocument(s.kind, s.document).workflow.name} ${requireDocument(s.kind, s.document).path}`;
      body = slashCommandBody({ text, userId, responseUrl });
    }
    return { user: userIndex(sends, i), body, responseId, atMs: s.atMs };
  });
  const results = await runLoad({
    appUrl: env.app.url,
    signingSecret: env.signingSecret,
    mode,
    requests: built.map(({ user, body, atMs }) => ({ user, body, ...(atMs === undefined ? {} : { atMs }) })),
  });
  return results.map((r) => {
    const s = sends[r.index]!;
    return {
      kind: s.kind,
      userId: s.user.ref.userId,
      ...(s.document ? { document: s.document } : {}),
      status: r.status,
      ackMs: r.ms,
      sentAt: r.sentAt - performance.timeOrigin,
      responseId: built[r.index]!.responseId,
    };
  });
}

function userIndex(sends: readonly PlannedSend[], i: number): number {
  return Number(sends[i]!.user.ref.userId.replace(/\D/g, ''));
}
