import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { describeLinkFailure, isLinkError } from '../oauth/errors.ts';
import type { CompletedLink, LinkFlow } from '../oauth/link-flow.ts';
import type { SignInCookie } from '../oauth/sign-in-cookie.ts';
import type { AppRoute } from './routes.ts';

export const OAUTH_CALLBACK_PATH = '/oauth/callback';

/**
 * Where Atlassian sends the browser back. It finishes the link (state checked, the browser checked
 * against the cookie `/oauth/start` set, code exchanged, the account checked against the Slack
 * user's email, tokens stored) and shows a plain page;
 * everything a failure needs is in the page's one sentence. The cookie is cleared either way.
 */
export function oauthCallbackRoute(deps: {
  linkFlow: LinkFlow;
  cookie: SignInCookie;
  onLinked: (result: CompletedLink) => Promise<void>;
  logger: Logger;
}): AppRoute {
  return {
    path: OAUTH_CALLBACK_PATH,
    method: ['GET'],
    handler: async (req, res) => {
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
      res.setHeader('set-cookie', deps.cookie.clear());
      try {
        const result = await deps.linkFlow.completeLink(query, deps.cookie.read(req.headers.cookie));
        deps.logger.info({ user: result.user.userId, sites: result.link.sites?.length ?? 0 }, 'Atlassian account linked');
        sendPage(res, 200, 'Connected', 'Your Atlassian account is connected. You can close this tab and return to Slack.');
        await deps.onLinked(result).catch((error: unknown) => deps.logger.error({ err: error }, 'post-link steps failed'));
      } catch (error) {
        if (isLinkError(error)) {
          deps.logger.info({ kind: error.kind }, 'Atlassian link not completed');
          sendPage(res, 400, 'Not connected', describeLinkFailure(error.kind, { signedInAs: error.signedInAs, format: 'plain' }));
          return;
        }
        deps.logger.error({ err: error }, 'OAuth callback failed');
        sendPage(
          res,
          500,
          'Not connected',
          'Something went wrong while connecting your account. Go back to Slack and run /vteam connect to try again.',
        );
      }
    },
  };
}

/** A plain page for the browser: a title and one sentence, nothing loaded from anywhere. */
export function sendPage(res: ServerResponse, status: number, title: string, sentence: string): void {
  const body =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>vTeam for Slack: ${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style></head>` +
    `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(sentence)}</p></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
