import { App, SocketModeReceiver } from '@slack/bolt';
import { toBoltRoutes, type AppRoute } from '../http/routes.ts';
import type { SocketModeConnector } from './socket-supervisor.ts';
import { slackLogger } from '../lib/slack-logger.ts';
import { webClientOptions, withTrailingSlash } from './web-client.ts';
import { socketModeConnection } from './slack-connection.ts';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { Metrics } from '../observability/metrics.ts';
import { slackApiFetch } from '../observability/slack-api.ts';
import { timeAcks } from './ack-metrics.ts';

/**
 * Bolt in one of its two shapes: HTTP (signed requests at /slack/events) or Socket Mode when an app
 * token is configured. Either way one HTTP server also serves our own routes (health, OAuth callback).
 */
export interface BoltApp {
  app: App;
  /** Socket Mode only: whether the WebSocket is up, and the client to keep it up (see socket-supervisor.ts). */
  slackConnected?: () => boolean;
  socketClient?: SocketModeConnector;
}

/**
 * `routes` receives what only the receiver knows (Socket Mode: whether the WebSocket is up), so the
 * composition root builds its routes, readiness included, without reading Bolt's result back.
 * With `metrics`, acknowledgements and Web API requests are timed.
 */
export function createBoltApp(
  config: Config,
  logger: Logger,
  routes: (slack: { connected?: () => boolean }) => AppRoute[],
  metrics?: Pick<Metrics, 'ackDuration' | 'slackApiDuration'>,
): BoltApp {
  const boltLog = slackLogger(logger, 'bolt');
  const connection = config.slack.mode === 'socket' ? socketModeConnection() : undefined;
  const customRoutes = toBoltRoutes(routes({ connected: connection?.connected }), logger.child({ component: 'http' }));
  const apiUrl = config.slack.apiUrl ? { slackApiUrl: withTrailingSlash(config.slack.apiUrl) } : {};
  const common = {
    token: config.slack.botToken,
    logger: boltLog,
    customRoutes,
    clientOptions: webClientOptions(config, metrics),
    // Keep the 200 immediate: listeners ack() first and continue after the response is sent.
    processBeforeResponse: false,
    // No listener reads context.conversation: skip Bolt's per-request conversation-store lookup.
    convoStore: false as const,
  };
  if (config.slack.mode === 'socket') {
    // Built explicitly so readiness can follow the WebSocket's connection state. The Socket Mode client
    // opens its connections (apps.connections.open) through its own Web API client, configured only by
    // installerOptions.clientOptions. Its automatic reconnect is off: the supervisor reconnects, so
    // each apps.connections.open call retries briefly and the supervisor's backoff takes over after.
    const receiver = new SocketModeReceiver({
      appToken: config.slack.appToken ?? '',
      customRoutes,
      logger: boltLog,
      autoReconnectEnabled: false,
      installerOptions: {
        port: config.http.port,
        clientOptions: {
          ...apiUrl,
          retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 4_000 },
          ...(metrics ? { fetch: slackApiFetch(metrics) } : {}),
        },
      },
    });
    connection?.follow(receiver.client);
    return { app: timed(new App({ ...common, receiver })), slackConnected: connection?.connected, socketClient: receiver.client };
  }
  return { app: timed(new App({ ...common, signingSecret: config.slack.signingSecret ?? '' })) };

  function timed(app: App): App {
    if (metrics) timeAcks(app, metrics);
    return app;
  }
}
