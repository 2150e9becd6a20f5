import { App, LogLevel, SocketModeReceiver, type CustomRoute, type Logger as BoltLogger } from '@slack/bolt';
import { trackSocketModeConnection } from '../status/slack-connection.ts';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';

/**
 * Bolt in one of its two shapes: HTTP (signed requests at /slack/events) or Socket Mode when an app
 * token is configured. Either way one HTTP server also serves our own routes (health, OAuth callback).
 */
export function createBoltApp(config: Config, logger: Logger, customRoutes: CustomRoute[]): { app: App; slackConnected?: () => boolean } {
  const boltLog = boltLogger(logger);
  const common = {
    token: config.slack.botToken,
    logger: boltLog,
    customRoutes,
    clientOptions: {
      ...(config.slack.apiUrl ? { slackApiUrl: withTrailingSlash(config.slack.apiUrl) } : {}),
    },
    // Keep the 200 immediate: listeners ack() first and continue after the response is sent.
    processBeforeResponse: false,
  };
  if (config.slack.mode === 'socket') {
    // Built explicitly so readiness can follow the WebSocket's connection state.
    const receiver = new SocketModeReceiver({
      appToken: config.slack.appToken ?? '', customRoutes, installerOptions: { port: config.http.port }, logger: boltLog,
    });
    const slackConnected = trackSocketModeConnection(receiver.client);
    return { app: new App({ ...common, receiver }), slackConnected };
  }
  return { app: new App({ ...common, signingSecret: config.slack.signingSecret ?? '' }) };
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * The Web API client logs whole request and response bodies at debug level; they carry message
 * content such as sign-in links with their OAuth state, so they never reach our log.
 */
const BODY_DUMP = /^http request (body|result):/;

/** Bolt's logger interface over pino, so everything lands in one structured log. */
function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  let level = LogLevel.INFO;
  const fmt = (msgs: unknown[]) => msgs.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...msgs: unknown[]) => {
      const text = fmt(msgs);
      if (!BODY_DUMP.test(text)) child.debug(text);
    },
    info: (...msgs: unknown[]) => child.info(fmt(msgs)),
    warn: (...msgs: unknown[]) => child.warn(fmt(msgs)),
    error: (...msgs: unknown[]) => child.error(fmt(msgs)),
    setLevel: (l: LogLevel) => { level = l; },
    getLevel: () => level,
    setName: () => undefined,
  };
}
