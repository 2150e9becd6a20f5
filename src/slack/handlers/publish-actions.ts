import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Logger } from 'pino';
import type { PublishService } from '../../publishing/publish-service.ts';
import { ACTIONS, decodeDocumentValue } from '../action-values.ts';
import { errorMessage } from '../blocks/replies.ts';
import { replyToOf } from '../reply-target.ts';
import { slackUserOf } from './interactions.ts';

export interface ActionDeps {
  service: PublishService;
  logger: Logger;
  ephemeral: (replyTo: ReturnType<typeof replyToOf>, message: { text: string }) => Promise<void>;
  track: (start: () => Promise<unknown>) => void;
}

/** The Publish to Jira and Update issue buttons, on cards and pickers. */
export function registerPublishActions(app: App, deps: ActionDeps): void {
  const { service, logger, track } = deps;

  for (const actionId of [ACTIONS.publish, ACTIONS.update]) {
    app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: actionId }, async ({ ack, body, action }) => {
      await ack();
      const user = slackUserOf(body);
      const channelId = body.channel?.id;
      if (!user || !channelId) {
        logger.warn({ actionId }, 'button click without team or channel ignored');
        return;
      }
      const replyTo = replyToOf(user, channelId, {
        responseUrl: body.response_url,
        sourceEphemeral: body.container?.is_ephemeral === true,
      });
      const value = decodeDocumentValue(action.value);
      if (!value) {
        logger.warn({ actionId, channelId, user: user.userId }, 'refused a button with a malformed value');
        track(() =>
          deps.ephemeral(replyTo, errorMessage('This button is no longer valid; run `/vteam publish <workflow>` to get a fresh one.')),
        );
        return;
      }
      const request = { user, channelId, workflow: { namespace: value.namespace, name: value.name }, path: value.path, replyTo };
      track(() => (actionId === ACTIONS.update ? service.update(request) : service.publish(request)));
    });
  }
}
