import { LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from 'pino';

/**
 * The Slack SDKs' logger interface over pino, so everything lands in one structured log. The Web API
 * client dumps whole request and response bodies at debug level; they carry message content such as
 * sign-in links with their OAuth state, so they never reach our log.
 */
export function slackLogger(logger: Logger, component: string): SlackLogger {
  const child = logger.child({ component });
  let level = LogLevel.INFO;
  const text = (msgs: unknown[]) => msgs.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...msgs: unknown[]) => {
      const t = text(msgs);
      if (!/^http (request|response) (body|result)/.test(t)) child.debug(t);
    },
    info: (...msgs: unknown[]) => child.info(text(msgs)),
    warn: (...msgs: unknown[]) => child.warn(text(msgs)),
    error: (...msgs: unknown[]) => child.error(text(msgs)),
    setLevel: (next: LogLevel) => { level = next; },
    getLevel: () => level,
    setName: () => undefined,
  };
}
