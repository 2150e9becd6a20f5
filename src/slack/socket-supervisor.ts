/**
 * Keeps the Socket Mode connection up after start. The Slack client's own reconnect leaves a failed
 * attempt as an unhandled rejection (which ends the process with no log line) when Slack refuses the
 * app token, and otherwise waits 5 s × failures between tries; so the client runs with its automatic
 * reconnect off and this supervisor owns reconnection: at once after a clean disconnect, then with
 * capped, jittered backoff. A refused token will not heal by retrying: it is reported as fatal so the
 * process can shut down gracefully and say what to fix.
 */
import type { Logger } from 'pino';

/** The part of the SocketModeClient used: start() opens a new connection; 'disconnected' means it is gone. */
export interface SocketModeConnector {
  start(): Promise<unknown>;
  on(event: 'disconnected', listener: () => void): unknown;
}

export interface SocketSupervisorOptions {
  logger: Logger;
  /** Called once when Slack refuses the app token; reconnection stops. */
  onFatal(error: Error): void;
  backoff?: { initialMs: number; maxMs: number };
}

export interface SocketSupervisor {
  /** No more reconnects (call before disconnecting on shutdown). */
  stop(): void;
}

/** Slack's answers to apps.connections.open that mean the app token itself is refused. */
const REFUSED_TOKEN = new Set([
  'not_authed',
  'invalid_auth',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'not_allowed_token_type',
  'missing_scope',
  'no_permission',
  'user_removed_from_team',
  'team_disabled',
]);

/** The Slack error code of a Web API platform error (`{ data: { error } }`), if that is what it is. */
function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | null)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

export function isRefusedAppToken(error: unknown): boolean {
  const code = slackErrorCode(error);
  return code !== undefined && REFUSED_TOKEN.has(code);
}

/** One sentence with the fix, for a refused app token; nothing secret in it (only Slack's error code). */
export function refusedAppTokenMessage(error: unknown): string {
  return `Slack refused SLACK_APP_TOKEN (${slackErrorCode(error) ?? 'unknown error'}): create an app-level token with the connections:write scope under Basic Information → App-Level Tokens, put it in SLACK_APP_TOKEN and restart.`;
}

export function superviseSocketMode(client: SocketModeConnector, options: SocketSupervisorOptions): SocketSupervisor {
  const { logger } = options;
  const backoff = options.backoff ?? { initialMs: 1_000, maxMs: 30_000 };
  let stopped = false;
  let connecting = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;

  const delayMs = () => (failures === 0 ? 0 : Math.min(backoff.maxMs, backoff.initialMs * 2 ** (failures - 1)) * (0.5 + Math.random() / 2));

  const schedule = () => {
    if (stopped || connecting || timer !== undefined) return;
    const wait = delayMs();
    if (failures > 0)
      logger.warn({ attempt: failures + 1, retryInMs: Math.round(wait) }, 'Socket Mode: reconnecting to Slack after a failure');
    timer = setTimeout(() => {
      timer = undefined;
      // connect() handles Slack's failures itself; this catches a throwing onFatal or logger.
      connect().catch((error: unknown) => logger.error({ err: error }, 'Socket Mode: a reconnect attempt failed unexpectedly'));
    }, wait);
  };

  const connect = async () => {
    if (stopped) return;
    connecting = true;
    try {
      await client.start();
      if (failures > 0) logger.info({ attempts: failures + 1 }, 'Socket Mode: reconnected to Slack');
      failures = 0;
    } catch (error) {
      if (stopped) return;
      if (isRefusedAppToken(error)) {
        stopped = true;
        logger.fatal({ err: error }, refusedAppTokenMessage(error));
        options.onFatal(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      failures += 1;
      logger.warn({ err: error }, 'Socket Mode: could not reconnect to Slack');
    } finally {
      connecting = false;
    }
    // A failed attempt may end without a 'disconnected' event (e.g. apps.connections.open refused).
    if (failures > 0) schedule();
  };

  // While an attempt runs its own failure emits 'disconnected' too; connect() schedules the retry then.
  client.on('disconnected', () => {
    if (stopped || connecting) return;
    logger.info('Socket Mode: connection to Slack closed; reconnecting');
    schedule();
  });

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
