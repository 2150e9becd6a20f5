import type { CustomRoute } from '@slack/bolt';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/** One of our HTTP routes (health, metrics, OAuth callback); unlike Bolt's CustomRoute, its handler may be async. */
export interface AppRoute extends Omit<CustomRoute, 'handler'> {
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

/**
 * Both Bolt receivers call a custom route's handler and drop what it returns: a failing async handler
 * would be an unhandled rejection and leave its request hanging. These handlers log the failure and
 * answer 500 instead (or cut a response already under way).
 */
export function toBoltRoutes(routes: AppRoute[], logger: Logger): CustomRoute[] {
  return routes.map((route) => ({
    ...route,
    handler: (req, res) => {
      // The executor runs the handler at once; a synchronous throw becomes a rejection too.
      new Promise<void>((resolve) => {
        resolve(route.handler(req, res));
      }).catch((error: unknown) => {
        logger.error({ err: error, path: route.path }, 'HTTP route failed');
        if (res.writableEnded) return;
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Internal error\n');
      });
    },
  }));
}
