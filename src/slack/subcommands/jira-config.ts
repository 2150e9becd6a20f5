/**
 * `/vteam jira-config <project>`: a modal for the project's Jira settings. The modal opens at once on
 * the trigger_id (Slack allows 3 s) with a loading view, then shows the form; issue types are chosen
 * from the Jira project's own types when the user's Atlassian link can list them. Only a user the
 * cluster lets change the project sees its current settings; anyone else gets one sentence. Invalid
 * values are reported inside the modal (`response_action: errors`); a valid submission is authorized
 * again against the cluster (the project in private_metadata is only a hint) before the annotations
 * are written.
 */
import type { App, BlockAction, ViewSubmitAction } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import type { Logger } from 'pino';
import { logLevelOf, toVteamError } from '../../errors.ts';
import type { IdentityMapper } from '../../identity/identity-mapper.ts';
import type { SlackUserRef } from '../../publishing/model.ts';
import type { AccountLinks, JiraGateway, ProjectDirectory } from '../../publishing/ports.ts';
import { ANNOTATIONS } from '../../vteam/resources.ts';
import { parseIssueTypes, resolveJiraSettings } from '../../vteam/jira-settings.ts';
import { annotateCommand, isProjectName, jiraSettingsChange, type ProjectAdmin } from '../../vteam/project-admin.ts';
import {
  formView,
  jiraSavedText,
  loadingView,
  messageView,
  projectProblemText,
  refusalReason,
  refusalText,
  usageText,
  type FormViewInput,
  type Refusal,
} from '../blocks/settings.ts';
import { code, escapeMrkdwn } from '../blocks/text.ts';
import { modalUserOf, readSubmission } from '../handlers/interactions.ts';
import type { Subcommand } from '../handlers/vteam-command.ts';
import {
  JIRA_CONFIG_CALLBACK_ID,
  LOAD_ISSUE_TYPES_ACTION,
  decodeMetadata,
  readJiraConfigForm,
  validProjectKey,
  validSiteUrl,
  validateJiraConfig,
  type JiraConfigMetadata,
  type JiraConfigValues,
} from './jira-config-form.ts';
import { checkProjectAccess } from './project-access.ts';

export interface JiraConfigDeps {
  admin: ProjectAdmin;
  /** For settings still coming from the legacy runner Secret (prefilled in the form). */
  projects: Pick<ProjectDirectory, 'jiraSettings'>;
  identities: IdentityMapper;
  /** Lists the Jira project's issue types as the user, when the gateway offers it. */
  jira?: Pick<JiraGateway, 'listIssueTypes'> | undefined;
  /** Whether the user has a usable Atlassian link; without it, types are typed in. */
  links?: AccountLinks | undefined;
  logger?: Logger | undefined;
  /** How long a submission may work before Slack must be answered (Slack allows 3 s). Default 2 500 ms. */
  submitDeadlineMs?: number;
  /** Longest wait for Jira's issue types before falling back to free text. Default 8 s. */
  issueTypesTimeoutMs?: number;
}

type Client = App['client'];

export function createJiraConfigSubcommand(deps: JiraConfigDeps): Subcommand {
  return {
    name: 'jira-config',
    help: "`/vteam jira-config <project>` · the project's Jira site, project key and issue types (project admins)",
    async run(context) {
      const [typed, ...extra] = context.args;
      const project = typed?.trim().toLowerCase();
      const ephemeral = (text: string) => context.respond({ response_type: 'ephemeral', text });
      if (!project || extra.length > 0) return void (await ephemeral(usageText('jira-config')));
      if (!isProjectName(project)) return void (await ephemeral(projectProblemText(project, { kind: 'missing' })));

      const metadata: JiraConfigMetadata = { project, channelId: context.channelId };
      // Nothing slow before this call: the trigger_id expires 3 s after the command.
      let opened: { view?: { id?: string; hash?: string } };
      try {
        opened = await context.client.views.open({ trigger_id: context.triggerId, view: loadingView(metadata) });
      } catch (error) {
        deps.logger?.warn({ err: error, project }, 'could not open the jira-config modal');
        return void (await ephemeral('I could not open the Jira settings form; please run the command again.'));
      }
      const viewId = opened.view?.id;
      if (!viewId) return;
      let view: ModalView;
      try {
        view = await initialForm(deps, context.user, metadata);
      } catch (error) {
        const failure = toVteamError(error);
        deps.logger?.[logLevelOf(failure, { otherwise: 'warn' })](
          { err: failure.cause ?? error, project },
          'could not prepare the jira-config form',
        );
        view = messageView(metadata, `:warning: ${escapeMrkdwn(failure.userMessage)}`);
      }
      await context.client.views.update({ view_id: viewId, ...(opened.view?.hash ? { hash: opened.view.hash } : {}), view });
    },
  };
}

/** The form with the current settings, the caller's standing and, if possible, Jira's issue types. */
async function initialForm(deps: JiraConfigDeps, user: SlackUserRef, metadata: JiraConfigMetadata): Promise<ModalView> {
  const { project } = metadata;
  const state = await deps.admin.inspect(project);
  if (state.kind !== 'ready') return messageView(metadata, projectProblemText(project, state));

  // Settings are another project's business until the cluster says otherwise: a refused user sees
  // none of them (site, key, types), and nothing is asked of Jira on their behalf.
  const access = await checkProjectAccess(deps, user, project);
  if (!access.allowed) return messageView(metadata, refusedText(project, access.refusal));
  const current = await currentSettings(deps, project, state.annotations);
  const notices: string[] = [];
  const siteUrl = validSiteUrl(current.siteUrl);
  const projectKey = validProjectKey(current.projectKey);
  const lister = await issueTypeLister(deps, user);
  let choices: string[] | undefined;
  if (lister.notice) notices.push(lister.notice);
  if (lister.list && siteUrl && projectKey) {
    const loaded = await loadChoices(deps, lister.list, siteUrl, projectKey);
    choices = loaded.choices;
    if (loaded.notice) notices.push(loaded.notice);
  }
  return formView({
    metadata,
    current,
    source: current.source,
    secretName: current.secretName,
    choices,
    canLoadTypes: lister.list !== undefined,
    notices,
  });
}

function refusedText(project: string, refusal: Refusal): string {
  return `:lock: ${refusalReason(project, refusal)}, and its Jira settings are shown only to its project admins; ask one of them to run ${code(`/vteam jira-config ${project}`)}.`;
}

/** Fresh annotations first (raw values too, so a broken setting is shown to be fixed), else the Secret. */
async function currentSettings(
  deps: JiraConfigDeps,
  project: string,
  annotations: Record<string, string>,
): Promise<FormViewInput['current'] & Pick<FormViewInput, 'source' | 'secretName'>> {
  const fromAnnotations = resolveJiraSettings({ annotations, secret: undefined, secretName: '' }).settings;
  const issueTypes = parseIssueTypes(annotations[ANNOTATIONS.jiraIssueTypes]).types;
  if (fromAnnotations)
    return { siteUrl: fromAnnotations.siteUrl, projectKey: fromAnnotations.projectKey, issueTypes, source: 'annotations' };
  const legacy = await deps.projects.jiraSettings(project).catch((error: unknown) => {
    deps.logger?.warn({ err: error, project }, 'could not read the legacy Jira settings');
    return undefined;
  });
  const settings = legacy?.settings;
  return {
    siteUrl: settings?.siteUrl ?? annotations[ANNOTATIONS.jiraSite],
    projectKey: settings?.projectKey ?? annotations[ANNOTATIONS.jiraProject],
    issueTypes,
    source: settings?.source,
    secretName: legacy?.secretName,
  };
}

type ListIssueTypes = (siteUrl: string, projectKey: string) => Promise<string[]>;

/** Whether issue types can be listed for this user, and if not, what to tell them. */
async function issueTypeLister(deps: JiraConfigDeps, user: SlackUserRef): Promise<{ list?: ListIssueTypes; notice?: string }> {
  const gateway = deps.jira;
  if (!gateway?.listIssueTypes) return {};
  const state = deps.links ? await deps.links.state(user).catch(() => 'missing' as const) : 'linked';
  if (state !== 'linked') {
    return {
      notice: `Connect your Atlassian account with ${code('/vteam connect')} to choose from the Jira project's own issue types; until then, type them in.`,
    };
  }
  return { list: (siteUrl, projectKey) => gateway.listIssueTypes!(user, { siteUrl, projectKey }) };
}

async function loadChoices(
  deps: JiraConfigDeps,
  list: ListIssueTypes,
  siteUrl: string,
  projectKey: string,
): Promise<{ choices?: string[]; notice?: string }> {
  try {
    const types = await withTimeout(list(siteUrl, projectKey), deps.issueTypesTimeoutMs ?? 8_000);
    if (types === undefined)
      return { notice: `Jira did not list the issue types of ${code(projectKey)} in time; type them in, or load them again.` };
    if (types.length === 0) return { notice: `Jira lists no issue types you may create in ${code(projectKey)}; type them in.` };
    return { choices: types };
  } catch (error) {
    const failure = toVteamError(error);
    deps.logger?.info({ err: failure.cause ?? error, code: failure.code, projectKey }, 'could not list Jira issue types');
    return { notice: `Could not read the issue types of ${code(projectKey)} from Jira: ${escapeMrkdwn(failure.userMessage)}` };
  }
}

type Outcome = { kind: 'saved'; values: JiraConfigValues } | { kind: 'message'; text: string };

/** Everything the modal needs from Bolt: the submission and the "load issue types" button. */
export function registerJiraConfigModal(app: App, deps: JiraConfigDeps): void {
  const logger = deps.logger;

  app.view<ViewSubmitAction>({ callback_id: JIRA_CONFIG_CALLBACK_ID, type: 'view_submission' }, async ({ ack, body, view, client }) => {
    const submission = await readSubmission(
      { ack, body, view },
      {
        decode: decodeMetadata,
        validate: (values) => validateJiraConfig(readJiraConfigForm(values)),
        stale: {
          view: () => messageView(undefined, `This form is no longer valid; run ${code('/vteam jira-config <project>')} again.`),
          log: 'refused a jira-config submission with malformed metadata',
        },
        logger,
      },
    );
    if (!submission) return;
    const { metadata, form: validation, user } = submission;
    const work = save(deps, user, metadata.project, validation.values);

    // Answer inside the modal when the cluster is quick (the usual case); otherwise keep Slack's
    // 3 s promise with a "saving" view and replace it when the write has finished.
    const early = await withTimeout(work, deps.submitDeadlineMs ?? 2_500);
    if (early?.kind === 'saved') {
      await ack();
      await confirm(client, user, metadata, jiraSavedText(metadata.project, early.values), logger);
      return;
    }
    if (early) {
      await ack({ response_action: 'update', view: messageView(metadata, early.text) });
      return;
    }
    await ack({
      response_action: 'update',
      view: messageView(metadata, `:hourglass_flowing_sand: Saving the Jira settings of project ${code(metadata.project)}…`),
    });
    const outcome = await work;
    const text = outcome.kind === 'saved' ? jiraSavedText(metadata.project, outcome.values) : outcome.text;
    await client.views
      .update({ view_id: view.id, view: messageView(metadata, text) })
      .catch((error: unknown) => logger?.warn({ err: error }, 'could not update the jira-config modal'));
    if (outcome.kind === 'saved') await confirm(client, user, metadata, text, logger);
  });

  app.action<BlockAction>({ type: 'block_actions', action_id: LOAD_ISSUE_TYPES_ACTION }, async ({ ack, body, client }) => {
    await ack();
    const view = body.view;
    const metadata = decodeMetadata(view?.private_metadata);
    if (!view || !metadata) return;
    const user = modalUserOf(body, view);
    const input = readJiraConfigForm(view.state.values);
    const siteUrl = validSiteUrl(input.site);
    const projectKey = validProjectKey(input.project);
    const notices: string[] = [];
    let choices: string[] | undefined;
    const lister = await issueTypeLister(deps, user);
    if (lister.notice) notices.push(lister.notice);
    else if (!siteUrl || !projectKey) notices.push('Enter a valid https Jira site and project key first, then load the issue types.');
    else if (lister.list) {
      const loaded = await loadChoices(deps, lister.list, siteUrl, projectKey);
      choices = loaded.choices;
      if (loaded.notice) notices.push(loaded.notice);
    }
    const current = { siteUrl: input.site, projectKey: input.project, issueTypes: input.types };
    await client.views
      .update({
        view_id: view.id,
        hash: view.hash,
        view: formView({ metadata, current, choices, canLoadTypes: lister.list !== undefined, notices }),
      })
      .catch((error: unknown) => logger?.info({ err: error }, 'could not refresh the jira-config modal (it changed or closed meanwhile)'));
  });
}

/** Authorized afresh against the cluster: the project named by the view is never taken on trust. */
async function save(deps: JiraConfigDeps, user: SlackUserRef, project: string, values: JiraConfigValues): Promise<Outcome> {
  try {
    const access = await checkProjectAccess(deps, user, project);
    if (!access.allowed) {
      deps.logger?.warn({ user: user.userId, project, reason: access.refusal.reason }, 'jira-config submission refused by the cluster');
      return {
        kind: 'message',
        text: `Nothing was saved. ${refusalText(project, access.refusal, annotateCommand(project, jiraSettingsChange(values)), 'apply these settings')}`,
      };
    }
    const result = await deps.admin.updateAnnotations(project, () => ({ change: jiraSettingsChange(values), value: undefined }));
    if (!result.ok) return { kind: 'message', text: projectProblemText(project, result.state) };
    deps.logger?.info(
      { user: user.userId, clusterUser: access.identity.user, project, site: values.siteUrl, projectKey: values.projectKey },
      'project Jira settings saved',
    );
    return { kind: 'saved', values };
  } catch (error) {
    const failure = toVteamError(error);
    deps.logger?.[logLevelOf(failure, { otherwise: 'warn' })]({ err: failure.cause ?? error, project }, 'could not save the Jira settings');
    return { kind: 'message', text: `:warning: ${escapeMrkdwn(failure.userMessage)}` };
  }
}

/** Ephemeral in the channel the command came from; a DM (App Home messages) when that is not possible. */
async function confirm(
  client: Client,
  user: SlackUserRef,
  metadata: JiraConfigMetadata,
  text: string,
  logger: Logger | undefined,
): Promise<void> {
  if (metadata.channelId) {
    try {
      await client.chat.postEphemeral({ channel: metadata.channelId, user: user.userId, text });
      return;
    } catch (error) {
      logger?.debug({ err: error }, 'ephemeral confirmation failed; sending a DM');
    }
  }
  await client.chat
    .postMessage({ channel: user.userId, text })
    .catch((error: unknown) => logger?.warn({ err: error }, 'could not confirm the saved Jira settings'));
}

/** The promise's value, or undefined when it takes longer than `ms` (the work itself continues). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
