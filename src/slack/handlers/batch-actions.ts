/**
 * Publish all (button and `/vteam publish <workflow> --all`) and Create issues from tasks (button and
 * `/vteam publish <workflow> <tasks-path> --tasks`). Creating many issues is confirmed first in a
 * modal showing how many, where, as what, and what they cost of the hour's budget. Every click and
 * submission is authorized again from its channel by the use case; the values are only claims.
 */
import type { App, BlockAction, ButtonAction, ViewSubmitAction } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import type { Logger } from 'pino';
import { logLevelOf, toVteamError } from '../../errors.ts';
import type { BatchService } from '../../publishing/batch-service.ts';
import type { SlackUserRef, WorkflowRef } from '../../publishing/model.ts';
import { ACTIONS, decodeDocumentValue, decodePublishAsMetadata, decodeWorkflowValue, type PublishAsMetadata } from '../action-values.ts';
import { TASK_ISSUES_CALLBACK_ID, taskIssuesConfirmView, taskIssuesLoadingView, taskIssuesMessageView } from '../blocks/batches.ts';
import { errorMessage } from '../blocks/replies.ts';
import { code, escapeMrkdwn } from '../blocks/text.ts';
import { replyToOf, type SlackReplyTo } from '../reply-target.ts';
import { openThenShow, readSubmission, slackUserOf } from './interactions.ts';

export interface BatchActionDeps {
  batches: BatchService;
  logger: Logger;
  track: (start: () => Promise<unknown>) => void;
  ephemeral: (replyTo: SlackReplyTo, message: { text: string }) => Promise<void>;
}

export function registerBatchActions(app: App, deps: BatchActionDeps): void {
  const { logger } = deps;

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: ACTIONS.publishAll }, async ({ ack, body, action }) => {
    await ack();
    const user = slackUserOf(body);
    const channelId = body.channel?.id;
    if (!user || !channelId) return;
    const replyTo = replyToOf(user, channelId, { responseUrl: body.response_url, sourceEphemeral: body.container?.is_ephemeral === true });
    const workflow = decodeWorkflowValue(action.value);
    if (!workflow) {
      logger.warn({ channelId, user: user.userId }, 'refused a Publish all button with a malformed value');
      deps.track(() => deps.ephemeral(replyTo, errorMessage(STALE_BUTTON)));
      return;
    }
    deps.track(() => publishAll(deps, { user, channelId, workflow, replyTo }));
  });

  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: ACTIONS.createTaskIssues },
    async ({ ack, body, action, client }) => {
      await ack();
      const user = slackUserOf(body);
      const channelId = body.channel?.id;
      if (!user || !channelId) return;
      const value = decodeDocumentValue(action.value);
      if (!value) logger.warn({ channelId, user: user.userId }, 'refused a Create issues button with a malformed value');
      const metadata = value && {
        ...value,
        channelId,
        responseUrl: body.response_url,
        sourceEphemeral: body.container?.is_ephemeral === true,
      };
      await openTaskIssuesModal(deps, client, body.trigger_id, user, metadata);
    },
  );

  app.view<ViewSubmitAction>({ callback_id: TASK_ISSUES_CALLBACK_ID, type: 'view_submission' }, async ({ ack, body, view }) => {
    const submission = await readSubmission(
      { ack, body, view },
      {
        decode: decodePublishAsMetadata,
        validate: () => ({ ok: true as const }),
        stale: { view: () => taskIssuesMessageView(STALE_FORM), log: 'refused a Create issues submission with malformed metadata' },
        logger,
      },
    );
    if (!submission) return;
    await ack();
    const { metadata, user } = submission;
    const replyTo = replyToOf(user, metadata.channelId, { responseUrl: metadata.responseUrl, sourceEphemeral: metadata.sourceEphemeral });
    const workflow = { namespace: metadata.namespace, name: metadata.name };
    deps.track(() =>
      deps.batches
        .createTaskIssues({ user, channelId: metadata.channelId, workflow, path: metadata.path, replyTo })
        .catch((error: unknown) => tell(deps, replyTo, error, 'creating issues from tasks failed')),
    );
  });
}

/** `/vteam publish <workflow> --all`, and the button. */
export async function publishAll(
  deps: BatchActionDeps,
  input: { user: SlackUserRef; channelId: string; workflow: WorkflowRef; replyTo: SlackReplyTo },
): Promise<void> {
  await deps.batches.publishAll(input).catch((error: unknown) => tell(deps, input.replyTo, error, 'publish all failed'));
}

/**
 * Opens the confirmation modal on the trigger_id (valid 3 s, so a loading view first), then shows the
 * plan, or the one sentence that stands in the way. `metadata` undefined: the click could not be read.
 */
export async function openTaskIssuesModal(
  deps: BatchActionDeps,
  client: App['client'],
  triggerId: string,
  user: SlackUserRef,
  metadata: PublishAsMetadata | undefined,
): Promise<void> {
  const first = metadata ? taskIssuesLoadingView(metadata) : taskIssuesMessageView(STALE_FORM);
  const next = metadata && (() => planView(deps, user, metadata));
  if (!(await openThenShow(client, triggerId, first, next, { logger: deps.logger, what: 'Create issues' })) && metadata) {
    const replyTo = replyToOf(user, metadata.channelId, { responseUrl: metadata.responseUrl });
    deps.track(() =>
      deps.ephemeral(replyTo, errorMessage('I could not open the confirmation form; please choose *Create issues from tasks* again.')),
    );
  }
}

async function planView(deps: BatchActionDeps, user: SlackUserRef, metadata: PublishAsMetadata): Promise<ModalView> {
  try {
    const plan = await deps.batches.planTasks({
      user,
      channelId: metadata.channelId,
      workflow: { namespace: metadata.namespace, name: metadata.name },
      path: metadata.path,
    });
    return taskIssuesConfirmView(plan, { ...metadata, path: plan.documentPath });
  } catch (error) {
    const failure = toVteamError(error);
    deps.logger[logLevelOf(failure)]({ err: failure.cause ?? error, code: failure.code }, 'Create issues from tasks cannot offer the form');
    return taskIssuesMessageView(`:warning: ${escapeMrkdwn(failure.userMessage)}`);
  }
}

async function tell(deps: BatchActionDeps, replyTo: SlackReplyTo, error: unknown, log: string): Promise<void> {
  const failure = toVteamError(error);
  deps.logger[logLevelOf(failure)]({ err: failure.cause ?? error, code: failure.code }, log);
  await deps
    .ephemeral(replyTo, errorMessage(failure.userMessage))
    .catch((e: unknown) => deps.logger.warn({ err: e }, 'could not tell the user'));
}

const STALE_BUTTON = 'This button is no longer valid; run `/vteam publish <workflow>` to get a fresh one.';
const STALE_FORM = `This form is no longer valid; run ${code('/vteam publish <workflow> <tasks-path> --tasks')} again.`;
