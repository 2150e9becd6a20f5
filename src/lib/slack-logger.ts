import { LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from 'pino';

/** Socket Mode debug lines that end in a whole envelope or acknowledgement body. */
const SOCKET_MODE_BODIES =
  /^(Received a message on the WebSocket|Sending a WebSocket message|ack\(\) call begins|ack\(\) response sent|Calling ack\(\)|Unable to parse an incoming WebSocket message)/;

/**
 * The Slack SDKs' logger interface over pino, so everything lands in one structured log. The Web API
 * client dumps whole request and response bodies at debug level; they carry message content such as
 * sign-in links with their OAuth state, so they never reach our log. In Socket Mode the client and
 * Bolt do the same with every envelope (response_url included) and acknowledgement: only the part
 * before the body is kept.
 */
export function slackLogger(logger: Logger, component: string): SlackLogger {
  const child = logger.child({ component });
  let level = LogLevel.INFO;
  const text = (msgs: unknown[]) =>
    msgs.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...msgs: unknown[]) => {
      const t = text(msgs);
      if (/^http (request|response) (body|result)/.test(t)) return;
      const socketMode = SOCKET_MODE_BODIES.exec(t);
      child.debug(socketMode ? `${socketMode[1]} (body not logged)` : t);
    },
    info: (...msgs: unknown[]) => child.info(text(msgs)),
    warn: (...msgs: unknown[]) => child.warn(text(msgs)),
    error: (...msgs: unknown[]) => child.error(text(msgs)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
