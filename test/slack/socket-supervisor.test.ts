import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isRefusedAppToken,
  refusedAppTokenMessage,
  superviseSocketMode,
  type SocketSupervisor,
} from '../../src/slack/socket-supervisor.ts';

/** Slack's Web API platform error shape (WebAPIPlatformError): `data.error` carries Slack's code. */
const platformError = (code: string) =>
  Object.assign(new Error(`An API error occurred: ${code}`), { code: 'slack_webapi_platform_error', data: { ok: false, error: code } });

/**
 * Stands in for the SocketModeClient: start() succeeds or fails as scripted, and a failed WebSocket
 * emits 'disconnected' before start() rejects, as the real client does.
 */
class ScriptedConnector extends EventEmitter {
  attempts: number[] = [];
  private readonly outcomes: (Error | 'ok' | 'socket-fails')[];
  constructor(outcomes: (Error | 'ok' | 'socket-fails')[]) {
    super();
    this.outcomes = outcomes;
  }
  async start(): Promise<unknown> {
    this.attempts.push(Date.now());
    const outcome = this.outcomes.shift() ?? 'ok';
    if (outcome === 'ok') return {};
    if (outcome === 'socket-fails') {
      this.emit('disconnected');
      throw undefined; // the real client rejects with nothing when the socket closes before hello
    }
    throw outcome;
  }
  drop() {
    this.emit('disconnected');
  }
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _e, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    }),
  );
  return { logger, lines };
}

const until = async (condition: () => boolean, timeoutMs = 3_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
};

let supervisor: SocketSupervisor | undefined;
afterEach(() => supervisor?.stop());

describe('Socket Mode supervisor', () => {
  it('reconnects at once after a clean disconnect', async () => {
    const client = new ScriptedConnector([]);
    supervisor = superviseSocketMode(client, {
      logger: capture().logger,
      onFatal: () => undefined,
      backoff: { initialMs: 1_000, maxMs: 1_000 },
    });
    const dropped = Date.now();
    client.drop();
    await until(() => client.attempts.length === 1);
    expect(client.attempts[0]! - dropped).toBeLessThan(500);
  });

  it('keeps trying with growing waits while Slack is unreachable, then settles once connected', async () => {
    const client = new ScriptedConnector(['socket-fails', platformError('internal_error'), 'socket-fails', 'ok']);
    const { logger, lines } = capture();
    const fatal: Error[] = [];
    supervisor = superviseSocketMode(client, { logger, onFatal: (e) => fatal.push(e), backoff: { initialMs: 40, maxMs: 80 } });
    client.drop();
    await until(() => client.attempts.length === 4);
    const gaps = client.attempts.slice(1).map((t, i) => t - client.attempts[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(18); // 40 ms, jittered down to half at most
    expect(gaps[2]).toBeGreaterThanOrEqual(38); // capped at 80 ms, jittered
    expect(fatal).toEqual([]);
    expect(lines.some((l) => l.msg === 'Socket Mode: reconnected to Slack')).toBe(true);

    // Connected again: nothing more happens until the next disconnect, which is retried at once.
    await new Promise((r) => setTimeout(r, 200));
    expect(client.attempts).toHaveLength(4);
    client.drop();
    await until(() => client.attempts.length === 5);
  });

  it('stops and reports once when Slack refuses the app token, without the token in the log', async () => {
    const client = new ScriptedConnector([platformError('token_revoked'), 'ok']);
    const { logger, lines } = capture();
    const fatal: Error[] = [];
    supervisor = superviseSocketMode(client, { logger, onFatal: (e) => fatal.push(e), backoff: { initialMs: 10, maxMs: 10 } });
    client.drop();
    await until(() => fatal.length === 1);
    client.drop();
    await new Promise((r) => setTimeout(r, 100));
    expect(client.attempts).toHaveLength(1);
    expect(fatal).toHaveLength(1);
    const line = lines.find((l) => l.level === 60);
    expect(line?.msg).toContain('SLACK_APP_TOKEN (token_revoked)');
    expect(line?.msg).toContain('connections:write');
  });

  it('does nothing after stop()', async () => {
    const client = new ScriptedConnector([]);
    supervisor = superviseSocketMode(client, { logger: capture().logger, onFatal: () => undefined });
    supervisor.stop();
    client.drop();
    await new Promise((r) => setTimeout(r, 50));
    expect(client.attempts).toEqual([]);
  });

  it('tells a refused token from an outage', () => {
    for (const code of ['invalid_auth', 'not_authed', 'token_revoked', 'account_inactive', 'not_allowed_token_type']) {
      expect(isRefusedAppToken(platformError(code))).toBe(true);
    }
    for (const error of [platformError('internal_error'), platformError('ratelimited'), new Error('fetch failed'), undefined]) {
      expect(isRefusedAppToken(error)).toBe(false);
    }
    expect(refusedAppTokenMessage(platformError('invalid_auth'))).toMatch(/^Slack refused SLACK_APP_TOKEN \(invalid_auth\): .+ restart\.$/);
  });
});
