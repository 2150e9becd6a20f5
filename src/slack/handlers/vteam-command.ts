import type { App, RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';
import { logLevelOf, toVteamError } from '../../errors.ts';
import type { PublishService } from '../../publishing/publish-service.ts';
import type { SlackUserRef } from '../../publishing/model.ts';
import { connectPrompt } from '../blocks/account.ts';
import { documentPicker } from '../blocks/documents.ts';
import { helpMessage } from '../blocks/help.ts';
import { errorMessage } from '../blocks/replies.ts';
import { clip, code } from '../blocks/text.ts';
import { parseVteamCommand } from '../command-text.ts';
import { replyToOf } from '../reply-target.ts';
import { openTaskIssuesModal, publishAll, type BatchActionDeps } from './batch-actions.ts';

/** A `/vteam <name> …` sub-command living in its own module (subscribe, jira-status, …). */
export interface Subcommand {
  name: string;
  /** One line for /vteam help. */
  help: string;
  /** Runs after the command was acknowledged; answer with `respond` (ephemeral) or the Web API. */
  run(context: SubcommandContext): Promise<void>;
}

export interface SubcommandContext {
  user: SlackUserRef;
  channelId: string;
  args: string[];
  triggerId: string;
  respond: RespondFn;
  client: App['client'];
}

export interface CommandDeps {
  service: PublishService;
  logger: Logger;
  vteamUrl?: string | undefined;
  /** Keeps work started after ack() visible to graceful shutdown. */
  track: (start: () => Promise<unknown>) => void;
  disconnect: (user: SlackUserRef) => Promise<{ removed: boolean; revoked: boolean }>;
  /** Behind MCP Context Forge the link is MCF's: `/vteam disconnect` explains instead of disconnecting. */
  disconnectElsewhere?: { text: string } | undefined;
  subcommands?: Subcommand[];
  /** Publish all and Create issues from tasks (`--all`, `--tasks`). */
  batches?: BatchActionDeps | undefined;
}

/** `/vteam …`: acknowledge at once (Slack allows 3 s), then do the work. */
export function registerVteamCommand(app: App, deps: CommandDeps): void {
  const { service, logger, track } = deps;

  app.command('/vteam', async ({ command, ack, respond, client }) => {
    let parsed;
    try {
      parsed = parseVteamCommand(command.text ?? '');
    } catch (error) {
      await ack({ response_type: 'ephemeral', ...errorMessage(toVteamError(error).userMessage) });
      return;
    }
    const extraHelp = (deps.subcommands ?? []).map((c) => c.help);
    if (parsed.kind === 'help') {
      await ack({ response_type: 'ephemeral', ...helpMessage(undefined, extraHelp) });
      return;
    }
    const user: SlackUserRef = { teamId: command.team_id, enterpriseId: command.enterprise_id, userId: command.user_id };
    if (parsed.kind === 'other') {
      const subcommand = deps.subcommands?.find((c) => c.name === parsed.name);
      if (!subcommand) {
        await ack({ response_type: 'ephemeral', ...helpMessage(`I don't know the command ${code(clip(parsed.name, 100))}.`, extraHelp) });
        return;
      }
      await ack();
      const context: SubcommandContext = {
        user,
        channelId: command.channel_id,
        args: parsed.args,
        triggerId: command.trigger_id,
        respond,
        client,
      };
      track(() =>
        subcommand.run(context).catch(async (error: unknown) => {
          const failure = toVteamError(error);
          logger[logLevelOf(failure)](
            { err: failure.cause ?? error, code: failure.code, subcommand: subcommand.name },
            '/vteam sub-command failed',
          );
          await respond({ response_type: 'ephemeral', ...errorMessage(failure.userMessage) }).catch(() => undefined);
        }),
      );
      return;
    }
    if (parsed.kind === 'connect') {
      await ack({ response_type: 'ephemeral', ...connectPrompt('asked') });
      return;
    }
    if (parsed.kind === 'disconnect' && deps.disconnectElsewhere !== undefined) {
      await ack({ response_type: 'ephemeral', ...deps.disconnectElsewhere });
      return;
    }
    await ack();
    if (parsed.kind === 'disconnect') {
      track(() =>
        deps.disconnect(user).then(
          ({ removed }) =>
            respond({
              response_type: 'ephemeral',
              text: removed
                ? 'Your Atlassian account is disconnected. Issues and links you published stay as they are; `/vteam connect` links it again.'
                : 'No Atlassian account was connected.',
            }),
          (error: unknown) => {
            logger.error({ err: error }, '/vteam disconnect failed');
            return respond({
              response_type: 'ephemeral',
              ...errorMessage('Could not disconnect your Atlassian account; please try again in a minute.'),
            });
          },
        ),
      );
      return;
    }

    const replyTo = replyToOf(user, command.channel_id, { responseUrl: command.response_url });
    async function respondWithError(error: unknown): Promise<void> {
      const failure = toVteamError(error);
      logger[logLevelOf(failure)]({ err: failure.cause ?? error, code: failure.code }, '/vteam publish failed');
      await respond({ response_type: 'ephemeral', ...errorMessage(failure.userMessage) }).catch((e: unknown) =>
        logger.warn({ err: e }, 'could not answer the command'),
      );
    }
    if (parsed.kind === 'task-issues' || parsed.kind === 'publish-all') {
      const batches = deps.batches;
      if (!batches) {
        await respond({ response_type: 'ephemeral', ...errorMessage('Publishing many issues at once is not available here.') });
        return;
      }
      const asked = parsed;
      track(async () => {
        try {
          // One cluster read before the modal opens: well within the trigger_id's 3 s.
          const workflow = await service.resolve(command.channel_id, asked.workflow);
          const ref = { namespace: workflow.namespace, name: workflow.name };
          if (asked.kind === 'task-issues') {
            const metadata = { ...ref, path: asked.path, channelId: command.channel_id, responseUrl: command.response_url };
            await openTaskIssuesModal(batches, client, command.trigger_id, user, metadata);
          } else await publishAll(batches, { user, channelId: command.channel_id, workflow: ref, replyTo });
        } catch (error) {
          await respondWithError(error);
        }
      });
      return;
    }
    const { workflow: workflowArg, path, issueType } = parsed;
    track(async () => {
      try {
        if (path === undefined) {
          const { workflow, rows } = await service.documentsOf(command.channel_id, workflowArg);
          await respond({ response_type: 'ephemeral', ...documentPicker(workflow, rows, deps.vteamUrl) });
          return;
        }
        const workflow = await service.resolve(command.channel_id, workflowArg);
        const ref = { namespace: workflow.namespace, name: workflow.name };
        await service.publish({ user, channelId: command.channel_id, workflow: ref, path, issueType, replyTo }, workflow);
      } catch (error) {
        await respondWithError(error);
      }
    });
  });
}
