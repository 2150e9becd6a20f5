import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFakeSocketMode, type FakeSocketMode } from './fake-socket-mode.ts';

/**
 * A loopback Slack Web API: `POST /api/<method>` with form or JSON bodies and a bearer token, answering
 * in Slack's `{ok, …}` shape; plus `POST /response/<id>` standing in for interaction response_urls.
 * Records every call so tests can assert what users would see.
 */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  token: string | undefined;
}

/** A channel message as it stands now (chat.update applied). */
export interface SlackMessage {
  channel: string;
  ts: string;
  threadTs?: string | undefined;
  text: string;
  blocks: unknown;
  /** How many times chat.update edited it. */
  updates: number;
  /** Deleted by someone (deleteMessage): gone from the channel, chat.update answers message_not_found. */
  deleted?: boolean;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
}

export interface FakeSlack {
  url: string;
  apiUrl: string;
  calls: SlackCall[];
  responses: ResponseUrlPost[];
  responseUrl(id?: string): string;
  callsTo(method: string): SlackCall[];
  /** Next call(s) to `method` answer `{ok:false, error}`. */
  failNext(method: string, error: string, times?: number): void;
  /** Members answered by `usergroups.users.list` for that user group id. */
  setUserGroup(id: string, userIds: string[]): void;
  /** The next `times` calls to `method` answer HTTP 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext(method: string, retryAfterSeconds: number, times?: number): void;
  /** The next `times` calls to `method` answer this HTTP status (e.g. 503), as Slack's edge does in an incident. */
  httpErrorNext(method: string, status: number, times?: number): void;
  /**
   * The next `times` calls to `method` (those whose arguments satisfy `match`, when given) are recorded
   * and never answered, as a Slack call lost in flight; `close` ends them.
   */
  hangNext(method: string, options?: { times?: number; match?: (args: Record<string, unknown>) => boolean }): void;
  /** The calls held by hangNext so far. */
  hungCalls(): SlackCall[];
  /** The calls answered 429 by rateLimitNext so far. */
  rateLimitedCalls(): SlackCall[];
  /** Every chat.postMessage / chat.update in `channel` answers `{ok:false, error}` until cleared (undefined). */
  failChannel(channel: string, error: string | undefined): void;
  /** Messages as they stand, in posting order (threads included). */
  messages: SlackMessage[];
  /** Top-level messages of a channel (cards). */
  messagesIn(channel: string): SlackMessage[];
  /** Replies in the thread of `ts`. */
  repliesTo(channel: string, ts: string): SlackMessage[];
  /** Someone deleted a message: chat.update on it answers message_not_found. */
  deleteMessage(channel: string, ts: string): void;
  /** Everything the user saw ephemerally (response_url posts and chat.postEphemeral), as text. */
  ephemeralTexts(): string[];
  /**
   * users.info answers for this user with these profile fields instead of the default
   * `<id lowercased>@example.com` (`email: null` = no email visible, as without users:read.email).
   */
  setUser(userId: string, user: { email?: string | null; deleted?: boolean; is_bot?: boolean }): void;
  /**
   * Socket Mode on the same port: `apps.connections.open` with the app-level token (`socketMode.appToken`)
   * answers a `ws://` URL served here; push envelopes and break the connection through it.
   */
  socketMode: FakeSocketMode;
  /** Waits until `predicate` holds over the recorded state. */
  waitFor<T>(predicate: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startFakeSlack(options: { botToken?: string; teamId?: string; appToken?: string } = {}): Promise<FakeSlack> {
  const botToken = options.botToken ?? 'xoxb-test-token';
  let url = '';
  const socketMode = createFakeSocketMode({ baseUrl: () => url, ...(options.appToken ? { appToken: options.appToken } : {}) });
  const teamId = options.teamId ?? 'T0001';
  const calls: SlackCall[] = [];
  const responses: ResponseUrlPost[] = [];
  const failures = new Map<string, { error: string; times: number }>();
  const users = new Map<string, { email?: string | null; deleted?: boolean; is_bot?: boolean }>();
  const rateLimits = new Map<string, { retryAfter: number; times: number }>();
  const httpErrors = new Map<string, { status: number; times: number }>();
  const hangs: { method: string; times: number; match: ((args: Record<string, unknown>) => boolean) | undefined }[] = [];
  const hung: SlackCall[] = [];
  const rateLimited: SlackCall[] = [];
  const channelFailures = new Map<string, string>();
  const messages: SlackMessage[] = [];
  const userGroups = new Map<string, string[]>();
  let tsCounter = 0;
  let responseCounter = 0;
  const nextTs = () => `1760000000.${String(++tsCounter).padStart(6, '0')}`;

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };

    if (url.pathname.startsWith('/response/')) {
      responses.push({ id: url.pathname.slice('/response/'.length), body: parseBody(req, body) });
      send(200, { ok: true });
      return;
    }
    const match = /^\/api\/([a-zA-Z.]+)$/.exec(url.pathname);
    if (!match) return send(404, { ok: false, error: 'unknown_method' });
    const method = match[1]!;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const args = parseBody(req, body);
    const call: SlackCall = { method, args, token };
    calls.push(call);
    if (method === 'apps.connections.open') {
      // Only an app-level token opens Socket Mode connections; Slack names a bot token's mistake.
      if (token !== socketMode.appToken)
        return send(200, { ok: false, error: token === botToken ? 'not_allowed_token_type' : 'invalid_auth' });
      const failure = failures.get(method);
      if (failure && failure.times > 0) {
        failure.times--;
        return send(200, { ok: false, error: failure.error });
      }
      return send(200, socketMode.connectionsOpen());
    }
    if (token !== botToken) return send(200, { ok: false, error: 'invalid_auth' });
    const hang = hangs.find((h) => h.method === method && h.times > 0 && (h.match === undefined || h.match(args)));
    if (hang) {
      hang.times--;
      hung.push(call);
      return; // never answered
    }
    const limited = rateLimits.get(method);
    if (limited && limited.times > 0) {
      limited.times--;
      rateLimited.push(call);
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(limited.retryAfter) });
      res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return;
    }
    const httpError = httpErrors.get(method);
    if (httpError && httpError.times > 0) {
      httpError.times--;
      res.writeHead(httpError.status, { 'content-type': 'text/html' });
      res.end('<html><body>Service Unavailable</body></html>');
      return;
    }
    const failure = failures.get(method);
    if (failure && failure.times > 0) {
      failure.times--;
      return send(200, { ok: false, error: failure.error });
    }
    const channelFailure =
      typeof args.channel === 'string' && (method === 'chat.postMessage' || method === 'chat.update')
        ? channelFailures.get(args.channel)
        : undefined;
    if (channelFailure) return send(200, { ok: false, error: channelFailure });
    switch (method) {
      case 'auth.test':
        return send(200, {
          ok: true,
          url: 'https://acme.slack.com/',
          team: 'Acme',
          user: 'vteam',
          team_id: teamId,
          user_id: 'UBOT',
          bot_id: 'BBOT',
        });
      case 'chat.postMessage': {
        const ts = nextTs();
        messages.push({
          channel: String(args.channel),
          ts,
          threadTs: typeof args.thread_ts === 'string' ? args.thread_ts : undefined,
          text: String(args.text ?? ''),
          blocks: args.blocks,
          updates: 0,
        });
        return send(200, { ok: true, channel: args.channel, ts, message: { text: args.text, ts, thread_ts: args.thread_ts } });
      }
      case 'chat.update': {
        const message = messages.find((m) => m.channel === args.channel && m.ts === args.ts);
        if (message?.deleted) return send(200, { ok: false, error: 'message_not_found' });
        if (message) Object.assign(message, { text: String(args.text ?? ''), blocks: args.blocks, updates: message.updates + 1 });
        return send(200, { ok: true, channel: args.channel, ts: args.ts, text: args.text });
      }
      case 'chat.postEphemeral':
        return send(200, { ok: true, message_ts: nextTs() });
      case 'conversations.open':
        return send(200, { ok: true, channel: { id: `D${String(args.users ?? 'X').replace(/,/g, '')}` } });
      case 'users.info': {
        const custom = users.get(String(args.user));
        const email = custom?.email === undefined ? `${String(args.user).toLowerCase()}@example.com` : custom.email;
        const profile = { ...(email === null ? {} : { email }), real_name: String(args.user) };
        return send(200, {
          ok: true,
          user: {
            id: args.user,
            team_id: teamId,
            name: String(args.user).toLowerCase(),
            deleted: custom?.deleted ?? false,
            is_bot: custom?.is_bot ?? false,
            profile,
          },
        });
      }
      case 'usergroups.users.list': {
        const members = userGroups.get(String(args.usergroup ?? ''));
        return members === undefined ? send(200, { ok: false, error: 'no_such_subteam' }) : send(200, { ok: true, users: members });
      }
      case 'views.open':
      case 'views.publish':
      case 'views.update':
        return send(200, { ok: true, view: { id: `V${++tsCounter}` } });
      default:
        return send(200, { ok: false, error: 'unknown_method' });
    }
  });
  server.on('upgrade', (req, socket, head) => socketMode.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;

  const fake: FakeSlack = {
    url,
    apiUrl: `${url}/api/`,
    calls,
    responses,
    responseUrl: (id = `r${++responseCounter}`) => `${url}/response/${id}`,
    callsTo: (method) => calls.filter((c) => c.method === method),
    failNext(method, error, times = 1) {
      failures.set(method, { error, times });
    },
    setUser(userId, user) {
      users.set(userId, user);
    },
    rateLimitNext(method, retryAfterSeconds, times = 1) {
      rateLimits.set(method, { retryAfter: retryAfterSeconds, times });
    },
    httpErrorNext(method, status, times = 1) {
      httpErrors.set(method, { status, times });
    },
    hangNext(method, { times = 1, match } = {}) {
      hangs.push({ method, times, match });
    },
    hungCalls: () => [...hung],
    rateLimitedCalls: () => [...rateLimited],
    failChannel(channel, error) {
      if (error === undefined) channelFailures.delete(channel);
      else channelFailures.set(channel, error);
    },
    messages,
    socketMode,
    messagesIn: (channel) => messages.filter((m) => m.channel === channel && m.threadTs === undefined && !m.deleted),
    repliesTo: (channel, ts) => messages.filter((m) => m.channel === channel && m.threadTs === ts),
    deleteMessage(channel, ts) {
      const message = messages.find((m) => m.channel === channel && m.ts === ts);
      if (message) message.deleted = true;
    },
    setUserGroup(id, userIds) {
      userGroups.set(id, [...userIds]);
    },
    ephemeralTexts() {
      return [
        ...responses.filter((r) => r.body.replace_original !== true).map((r) => messageText(r.body)),
        ...calls.filter((c) => c.method === 'chat.postEphemeral').map((c) => messageText(c.args)),
      ];
    },
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = predicate();
        if (value !== undefined && value !== false) return value as never;
        if (Date.now() > deadline)
          throw new Error(
            `fake Slack: condition not met within ${timeoutMs} ms; calls: ${calls.map((c) => c.method).join(', ')}; responses: ${responses.length}`,
          );
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        socketMode.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

/** A message's text plus the text of its blocks, as a user would read it. */
export function messageText(message: Record<string, unknown>): string {
  const parts = [typeof message.text === 'string' ? message.text : ''];
  const blocks = typeof message.blocks === 'string' ? (JSON.parse(message.blocks) as unknown) : message.blocks;
  JSON.stringify(blocks ?? [], (key, value: unknown) => {
    if (key === 'text' && typeof value === 'string') parts.push(value);
    return value;
  });
  return parts.join('\n');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      data += chunk;
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function parseBody(req: IncomingMessage, body: string): Record<string, unknown> {
  if (body === '') return {};
  if ((req.headers['content-type'] ?? '').includes('application/json')) return JSON.parse(body) as Record<string, unknown>;
  const params = Object.fromEntries(new URLSearchParams(body));
  // The Web API client sends nested values (blocks) JSON-encoded inside form fields.
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, /^[[{]/.test(v) ? safeJson(v) : v]));
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
