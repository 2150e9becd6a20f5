import type { Logger } from 'pino';
import { describeLinkFailure, isLinkError } from '../oauth/errors.ts';
import type { LinkFlow } from '../oauth/link-flow.ts';
import type { SignInCookie } from '../oauth/sign-in-cookie.ts';
import { sendPage } from './oauth-callback-route.ts';
import type { AppRoute } from './routes.ts';

export const OAUTH_START_PATH = '/oauth/start';

/**
 * What the Slack sign-in button opens. It spends the single-use link, gives this browser the cookie
 * the callback will require, and sends it on to Atlassian; a link opened a second time, expired or
 * unknown gets a page saying to start again from Slack.
 */
export function oauthStartRoute(deps: { linkFlow: LinkFlow; cookie: SignInCookie; logger: Logger }): AppRoute {
  return {
    path: OAUTH_START_PATH,
    method: ['GET'],
    handler: async (req, res) => {
      const flowId = new URL(req.url ?? '/', 'http://localhost').searchParams.get('flow');
      try {
        const opened = await deps.linkFlow.openSignIn(flowId);
        res.writeHead(302, {
          location: opened.authorizationUrl,
          'set-cookie': deps.cookie.set(opened.browserSecret, opened.validForMs),
          'cache-control': 'no-store',
          // Atlassian need not learn the (spent) link id.
          'referrer-policy': 'no-referrer',
        });
        res.end();
      } catch (error) {
        if (!isLinkError(error)) throw error;
        deps.logger.info({ kind: error.kind }, 'Atlassian sign-in not started');
        const page = describeLinkFailure(error.kind, { advice: error.advice, format: 'plain' });
        if (error.kind === 'already_linked') sendPage(res, 200, 'Already connected', page);
        else sendPage(res, error.kind === 'unavailable' ? 503 : 400, 'Not connected', page);
      }
    },
  };
}
