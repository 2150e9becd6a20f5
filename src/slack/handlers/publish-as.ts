/**
 * "Publish as…", the overflow choice beside each Publish button: a modal to pick the issue type from
 * the Jira project's own types, then the ordinary publish (exactly-once, thread reply, card update).
 * The modal opens at once on the trigger_id (Slack allows 3 s) with a loading view; the click is
 * authorized like a publish (the channel it came from must bind the project) before anything is read.
 */
import type { App, BlockAction, OverflowAction, ViewSubmitAction } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import type { Logger } from 'pino';
import { errors, logLevelOf, toVteamError } from '../../errors.ts';
import { chooseIssueType } from '../../publishing/issue-content.ts';
import type { SlackUserRef, Workflow } from '../../publishing/model.ts';
import type { AccountLinks, JiraGateway, ProjectDirectory } from '../../publishing/ports.ts';
import type { PublishService } from '../../publishing/publish-service.ts';
import { phaseOf, validateDocumentPath } from '../../publishing/paths.ts';
import { ACTIONS, decodeOverflowChoice, decodePublishAsMetadata, type PublishAsMetadata } from '../action-values.ts';
import {
  PUBLISH_AS_CALLBACK_ID,
  publishAsFormView,
  publishAsLoadingView,
  publishAsMessageView,
  readIssueType,
  validateIssueType,
} from '../blocks/publish-as.ts';
import { errorMessage } from '../blocks/replies.ts';
import { code, escapeMrkdwn, link } from '../blocks/text.ts';
import { replyToOf } from '../reply-target.ts';
import { openThenShow, readSubmission, slackUserOf } from './interactions.ts';

export interface PublishAsDeps {
  service: Pick<PublishService, 'authorize' | 'publish'>;
  projects: Pick<ProjectDirectory, 'jiraSettings'>;
  jira: Pick<JiraGateway, 'listIssueTypes' | 'browseUrl'>;
  links: AccountLinks;
  logger: Logger;
  track: (start: () => Promise<unknown>) => void;
  /** Answers the clicking user when no modal can be opened (expired trigger_id). */
  ephemeral: (replyTo: ReturnType<typeof replyToOf>, message: { text: string }) => Promise<void>;
  /** Longest wait for Jira's issue types before falling back to free text. Default 8 s. */
  issueTypesTimeoutMs?: number;
}

export function registerPublishAs(app: App, deps: PublishAsDeps): void {
  const { logger } = deps;

  app.action<BlockAction<OverflowAction>>(
    { type: 'block_actions', action_id: ACTIONS.publishAs },
    async ({ ack, body, action, client }) => {
      await ack();
      const user = slackUserOf(body);
      const channelId = body.channel?.id;
      if (!user || !channelId) {
        logger.warn({ actionId: ACTIONS.publishAs }, 'overflow choice without team or channel ignored');
        return;
      }
      const responseUrl = body.response_url;
      const sourceEphemeral = body.container?.is_ephemeral === true;
      const chosen = decodeOverflowChoice(action.selected_option?.value);
      if (chosen?.choice === 'publish-now') {
        // Same as the Publish to Jira button: the project's default type, no modal.
        const replyTo = replyToOf(user, channelId, { responseUrl, sourceEphemeral });
        deps.track(() =>
          deps.service.publish({
            user,
            channelId,
            workflow: { namespace: chosen.value.namespace, name: chosen.value.name },
            path: chosen.value.path,
            replyTo,
          }),
        );
        return;
      }
      const value = chosen?.value;
      const metadata: PublishAsMetadata | undefined = value && { ...value, channelId, responseUrl, sourceEphemeral };
      if (!value) logger.warn({ channelId, user: user.userId }, 'refused a Publish as… choice with a malformed value');

      // Nothing slow before this call: the trigger_id expires 3 s after the click.
      const first = metadata
        ? publishAsLoadingView(metadata)
        : publishAsMessageView(`This menu is no longer valid; run ${code('/vteam publish <workflow>')} to get a fresh one.`);
      const next = metadata && (() => initialView(deps, user, metadata));
      if (!(await openThenShow(client, body.trigger_id, first, next, { logger, what: 'Publish as…' }))) {
        const replyTo = replyToOf(user, channelId, { responseUrl, sourceEphemeral });
        deps.track(() => deps.ephemeral(replyTo, errorMessage('I could not open the issue type form; please choose *Publish as…* again.')));
      }
    },
  );

  app.view<ViewSubmitAction>({ callback_id: PUBLISH_AS_CALLBACK_ID, type: 'view_submission' }, async ({ ack, body, view }) => {
    const submission = await readSubmission(
      { ack, body, view },
      {
        decode: decodePublishAsMetadata,
        validate: (values) => validateIssueType(readIssueType(values)),
        stale: {
          view: () =>
            publishAsMessageView(
              `This form is no longer valid; choose *Publish as…* again, or run ${code('/vteam publish <workflow> <path> --type <IssueType>')}.`,
            ),
          log: 'refused a Publish as… submission with malformed metadata',
        },
        logger,
      },
    );
    if (!submission) return;
    await ack();
    const { metadata, form: validation, user } = submission;
    const replyTo = replyToOf(user, metadata.channelId, { responseUrl: metadata.responseUrl, sourceEphemeral: metadata.sourceEphemeral });
    // The ordinary publish: it authorizes the channel again and answers in the thread or ephemerally.
    deps.track(() =>
      deps.service.publish({
        user,
        channelId: metadata.channelId,
        workflow: { namespace: metadata.namespace, name: metadata.name },
        path: metadata.path,
        issueType: validation.issueType,
        replyTo,
      }),
    );
  });
}

/** The form, or one sentence saying what stands in the way (not bound, not configured, not linked…). */
async function initialView(deps: PublishAsDeps, user: SlackUserRef, metadata: PublishAsMetadata): Promise<ModalView> {
  try {
    const path = validateDocumentPath(metadata.path);
    const workflow = await deps.service.authorize(metadata.channelId, { namespace: metadata.namespace, name: metadata.name });
    const { settings, secretName } = await deps.projects.jiraSettings(workflow.namespace);
    if (!settings) throw errors.notConfigured(workflow.namespace, secretName);
    const existing = workflow.jiraLinks.find((l) => l.path === path);
    if (existing) {
      return publishAsMessageView(
        `${code(path)} is already published as ${link(deps.jira.browseUrl(settings.siteUrl, existing.jiraKey), existing.jiraKey)}; it is never published twice.`,
      );
    }
    const state = await deps.links.state(user);
    if (state !== 'linked') throw state === 'broken' ? errors.authExpired() : errors.notLinked();

    const loaded = await loadIssueTypes(deps, user, settings.siteUrl, settings.projectKey);
    return publishAsFormView({
      metadata: { ...metadata, path },
      workflowTitle: title(workflow),
      projectKey: settings.projectKey,
      choices: loaded.choices,
      preselected: chooseIssueType(settings, phaseOf(path)),
      notices: loaded.notice ? [loaded.notice] : [],
    });
  } catch (error) {
    const failure = toVteamError(error);
    deps.logger[logLevelOf(failure)](
      { err: failure.cause ?? error, code: failure.code, workflow: `${metadata.namespace}/${metadata.name}` },
      'Publish as… cannot offer the form',
    );
    return publishAsMessageView(`:warning: ${escapeMrkdwn(failure.userMessage)}`);
  }
}

async function loadIssueTypes(
  deps: PublishAsDeps,
  user: SlackUserRef,
  siteUrl: string,
  projectKey: string,
): Promise<{ choices?: string[]; notice?: string }> {
  const list = deps.jira.listIssueTypes;
  if (!list) return { notice: `Type the name of an issue type of Jira project ${code(projectKey)}.` };
  try {
    const types = await withTimeout(list.call(deps.jira, user, { siteUrl, projectKey }), deps.issueTypesTimeoutMs ?? 8_000);
    if (types === undefined) return { notice: `Jira did not list the issue types of ${code(projectKey)} in time; type the one you want.` };
    if (types.length === 0) return { notice: `Jira lists no issue types you may create in ${code(projectKey)}; type the one you want.` };
    return { choices: types };
  } catch (error) {
    const failure = toVteamError(error);
    deps.logger.info({ err: failure.cause ?? error, code: failure.code, projectKey }, 'could not list Jira issue types');
    return {
      notice: `Could not read the issue types of ${code(projectKey)} from Jira (${escapeMrkdwn(failure.userMessage)}); type the one you want.`,
    };
  }
}

function title(workflow: Workflow): string {
  return workflow.title || workflow.name;
}

/** The promise's value, or undefined when it takes longer than `ms` (the call itself continues). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
