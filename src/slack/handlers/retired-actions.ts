import type { App, BlockAction } from '@slack/bolt';
import type { Logger } from 'pino';
import { ACTIONS } from '../action-values.ts';
import { OPEN_SIGN_IN } from '../blocks/account.ts';
import { errorMessage } from '../blocks/replies.ts';
import { LOAD_ISSUE_TYPES_ACTION } from '../subcommands/jira-config-form.ts';

/** Every action id a message or modal of this version carries; each has its own listener. */
const CURRENT_ACTIONS = new Set<string>([...Object.values(ACTIONS), OPEN_SIGN_IN, LOAD_ISSUE_TYPES_ACTION]);

/**
 * Buttons of an older version stay in channels for ever. Without a listener Slack waits 3 s, then
 * shows the user a generic error; instead, acknowledge at once and say what to do.
 */
export function registerRetiredActions(
  app: App,
  deps: { logger: Logger; ephemeral: (channelId: string, userId: string, text: string) => Promise<void> },
): void {
  app.action<BlockAction>({ type: 'block_actions', action_id: /^/ }, async ({ ack, body, action }) => {
    const actionId = 'action_id' in action ? action.action_id : '';
    if (CURRENT_ACTIONS.has(actionId)) return; // its own listener acknowledges it
    await ack();
    deps.logger.info({ actionId: actionId.slice(0, 100) }, 'a button of an older version was clicked');
    const channelId = body.channel?.id;
    if (channelId === undefined) return;
    const { text } = errorMessage(
      'This button is from an older version of the bot and does nothing now; run `/vteam publish <workflow>` for fresh ones.',
    );
    await deps
      .ephemeral(channelId, body.user.id, text)
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'could not answer a retired button'));
  });
}
