import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Logger } from 'pino';
import type { LinkFlow } from '../../oauth/link-flow.ts';
import type { SlackUserRef } from '../../publishing/model.ts';
import type { PublishHistory } from '../../publishing/user-records.ts';
import type { TokenStore } from '../../storage/tokens.ts';
import { ACTIONS } from '../action-values.ts';
import { OPEN_SIGN_IN, homeView, signInLink } from '../blocks/account.ts';
import { errorMessage } from '../blocks/replies.ts';
import { slackUserOf } from './interactions.ts';

export interface AccountDeps {
  linkFlow: LinkFlow;
  disconnect: (user: SlackUserRef) => Promise<{ removed: boolean; revoked: boolean }>;
  tokens: TokenStore;
  history: PublishHistory;
  logger: Logger;
  /** Where the sign-in link leads: our own OAuth client, or MCP Context Forge (default bot). */
  signInVia?: 'bot' | 'contextforge';
}

/** Connect/Disconnect buttons (DMs, ephemeral prompts, App Home) and the App Home tab itself. */
export function registerAccountHandlers(app: App, deps: AccountDeps): void {
  const { linkFlow, logger } = deps;

  const publishHome = async (client: App['client'], user: SlackUserRef) => {
    const [link, recent] = await Promise.all([deps.tokens.get(user), deps.history.recent(user)]);
    await client.views.publish({ user_id: user.userId, view: homeView(link, recent) });
  };

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: ACTIONS.connect }, async ({ ack, body, client, respond }) => {
    await ack();
    const user = slackUserOf(body);
    if (!user) return;
    try {
      // A fresh, single-use state on every click: no stale link lives in any message.
      const started = await linkFlow.startLink(user);
      const message = signInLink(started.signInUrl, started.expiresAt, deps.signInVia);
      if (body.container?.is_ephemeral === true) {
        await respond({ replace_original: true, ...message });
      } else if (body.channel?.id && body.message?.ts) {
        await client.chat.update({ channel: body.channel.id, ts: body.message.ts, ...message });
      } else {
        // App Home: the link goes to the DM, where the user can click it.
        const dm = await client.conversations.open({ users: user.userId });
        if (dm.channel?.id) await client.chat.postMessage({ channel: dm.channel.id, ...message });
      }
    } catch (error) {
      logger.error({ err: error }, 'could not start the Atlassian sign-in');
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        ...errorMessage('Could not start the Atlassian sign-in; please try again in a minute.'),
      }).catch(() => undefined);
    }
  });

  // The sign-in button opens a URL in the browser; Slack still sends its click, which needs an ack.
  app.action({ type: 'block_actions', action_id: OPEN_SIGN_IN }, async ({ ack }) => {
    await ack();
  });

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: ACTIONS.disconnect }, async ({ ack, body, client }) => {
    await ack();
    const user = slackUserOf(body);
    if (!user) return;
    await deps.disconnect(user);
    await publishHome(client, user).catch((error: unknown) => logger.warn({ err: error }, 'could not refresh App Home'));
  });

  app.event('app_home_opened', async ({ event, body, client }) => {
    if (event.tab !== 'home') return;
    const teamId = (body as { team_id?: string }).team_id;
    if (!teamId) return;
    const enterpriseId = (body as { enterprise_id?: string }).enterprise_id;
    await publishHome(client, { teamId, enterpriseId, userId: event.user });
  });
}
