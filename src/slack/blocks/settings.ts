/**
 * Pure Block Kit and text for project administration: channel binding replies, /vteam list, and the
 * jira-config modal (loading, form and outcome views).
 */
import type { KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import type { JiraSettings } from '../../publishing/model.ts';
import type { UnavailableProject } from '../../vteam/project-admin.ts';
import {
  BLOCKS,
  ELEMENTS,
  JIRA_CONFIG_CALLBACK_ID,
  LOAD_ISSUE_TYPES_ACTION,
  TYPE_FIELDS,
  encodeMetadata,
  type JiraConfigMetadata,
  type JiraConfigValues,
  type TypeField,
} from '../subcommands/jira-config-form.ts';
import { clip, clipMrkdwn, code, codeBlock, cut, escapeMrkdwn, LIMITS, mention, mrkdwnSection, mrkdwnText } from './text.ts';

// ── Sentences ──

/** A project name as typed or stored; real ones are at most 63 characters. */
const projectCode = (project: string) => code(clip(project, 100));

export function usageText(command: string): string {
  return `Usage: ${code(`/vteam ${command} <project>`)}, where ${code('<project>')} is the vTeam project's namespace, such as ${code('team-a')}.`;
}

export function projectProblemText(project: string, state: UnavailableProject): string {
  switch (state.kind) {
    case 'missing':
      return `There is no vTeam project named ${projectCode(project)}; use the project's namespace name as vTeam shows it.`;
    case 'unmanaged':
      return `Namespace ${projectCode(project)} is not a vTeam project (it lacks the label ${code('ambient-code.io/managed=true')}).`;
    case 'no-settings':
      return `Project ${projectCode(project)} has no ${code('projectsettings')} object yet; vTeam creates it with the project, so ask a cluster admin to check the project.`;
  }
}

export const directMessageText = `Run this command in the channel you want to bind; a direct message cannot be bound to a project.`;

export const alreadyBoundText = (project: string) => `This channel is already bound to project ${projectCode(project)}.`;
export const notBoundText = (project: string) =>
  `This channel is not bound to project ${projectCode(project)}, so there is nothing to unsubscribe.`;

export const subscribedText = (project: string, userId: string) =>
  `${mention(userId)} bound this channel to vTeam project ${projectCode(project)}: its RFE workflows show up here, with their documents ready to publish to Jira.`;
export const unsubscribedText = (project: string, userId: string) =>
  `${mention(userId)} unbound this channel from vTeam project ${projectCode(project)}; its workflows are no longer posted or published from here.`;

export type Refusal = { reason: 'no-email' } | { reason: 'unmappable'; email: string } | { reason: 'denied'; clusterUser: string };

/** Why the caller may not change the project, as one clause. */
export function refusalReason(project: string, refusal: Refusal): string {
  return refusal.reason === 'no-email'
    ? `I could not read an email address on your Slack profile, so I cannot check your access to project ${projectCode(project)} in the cluster`
    : refusal.reason === 'unmappable'
      ? `Your Slack email ${code(clip(refusal.email, 254))} does not map to a cluster user, so I cannot check your access to project ${projectCode(project)}`
      : `Your cluster identity ${code(clip(refusal.clusterUser, 253))} may not change the ${code('projectsettings')} of project ${projectCode(project)}`;
}

/** Why the caller may not change the project, then the exact command a project admin can run instead. */
export function refusalText(project: string, refusal: Refusal, command: string, what = 'make this change'): string {
  // Cut only past Slack's limit (values are validated long before): a cut command is better than no answer.
  return clipMrkdwn(`${refusalReason(project, refusal)}; a project admin can ${what} with:\n${codeBlock(command)}`, LIMITS.sectionText);
}

export interface BoundProject {
  project: string;
  jira: JiraSettings | undefined | 'unreadable';
}

export function bindingListMessage(bound: BoundProject[]): { text: string; blocks: KnownBlock[] } {
  if (bound.length === 0) {
    const text = `This channel is not bound to any vTeam project; bind one with ${code('/vteam subscribe <project>')}.`;
    return { text, blocks: [mrkdwnSection(text)] };
  }
  const lines = bound.map(({ project, jira }) => {
    const status =
      jira === 'unreadable'
        ? 'Jira settings could not be read'
        : jira
          ? `Jira ${code(clip(jira.projectKey, 100))} on ${escapeMrkdwn(hostOf(jira.siteUrl))}${jira.source === 'runner-secret' ? ` (from Secret ${code(clip(jira.secretName, 253))})` : ''}`
          : `Jira not configured: run ${code(`/vteam jira-config ${project}`)}`;
    return `• ${projectCode(project)} · ${status}`;
  });
  const heading =
    bound.length === 1 ? 'This channel is bound to one vTeam project:' : `This channel is bound to ${bound.length} vTeam projects:`;
  const text = `${heading}\n${lines.join('\n')}`;
  return { text: clipMrkdwn(text, LIMITS.messageText), blocks: [mrkdwnSection(text)] };
}

export function jiraSavedText(project: string, values: JiraConfigValues): string {
  const types = TYPE_FIELDS.filter((f) => values.issueTypes[f])
    .map((f) => `${f} ${code(clip(values.issueTypes[f]!, 255))}`)
    .join(', ');
  return `:white_check_mark: Saved the Jira settings of project ${projectCode(project)}: project ${code(clip(values.projectKey, 100))} on ${escapeMrkdwn(clip(values.siteUrl, 255))}, issue types ${types}.`;
}

// ── The jira-config modal ──

const TITLE = { type: 'plain_text', text: 'Jira settings' } as const;

function modal(metadata: JiraConfigMetadata, blocks: KnownBlock[], extra: Partial<ModalView> = {}): ModalView {
  return {
    type: 'modal',
    callback_id: JIRA_CONFIG_CALLBACK_ID,
    title: TITLE,
    close: { type: 'plain_text', text: 'Close' },
    private_metadata: encodeMetadata(metadata),
    blocks,
    ...extra,
  };
}

/** Opened at once with the trigger_id (valid 3 s); replaced by the form when the cluster has answered. */
export function loadingView(metadata: JiraConfigMetadata): ModalView {
  return modal(
    metadata,
    [mrkdwnSection(`:hourglass_flowing_sand: Reading the Jira settings of project ${projectCode(metadata.project)}…`)],
    { close: { type: 'plain_text', text: 'Cancel' } },
  );
}

/** A view with a message and no form: a problem, a refusal, or the outcome of a slow save. `text` is mrkdwn (outside values escaped by the caller). */
export function messageView(metadata: JiraConfigMetadata | undefined, text: string): ModalView {
  return modal(metadata ?? { project: '' }, [mrkdwnSection(text)]);
}

export interface FormViewInput {
  metadata: JiraConfigMetadata;
  /** Prefilled values (current settings, or what the user already typed). */
  current: { siteUrl?: string | undefined; projectKey?: string | undefined; issueTypes?: Partial<Record<string, string>> | undefined };
  /** Where the current settings come from, shown as context. */
  source?: JiraSettings['source'] | undefined;
  secretName?: string | undefined;
  /** The Jira project's issue types; absent → free-text inputs. */
  choices?: string[] | undefined;
  /** Offer the "Load issue types" button (the Jira port can list them and the user is linked). */
  canLoadTypes: boolean;
  /** Shown above the form: why the types are free text, or that the user may not save (mrkdwn, outside values escaped by the caller). */
  notices?: string[];
}

export function formView(input: FormViewInput): ModalView {
  const { metadata, current } = input;
  const choices = usableChoices(input.choices);
  const sourceNote =
    input.source === 'runner-secret'
      ? ` Now taken from the Secret ${code(clip(input.secretName ?? 'ambient-runner-secrets', 253))}; saving stores them as annotations on the project's ${code('projectsettings')}, which take precedence.`
      : ` Stored as annotations on the project's ${code('projectsettings')}.`;
  const blocks: KnownBlock[] = [
    mrkdwnSection(`Jira settings of vTeam project ${projectCode(metadata.project)}.${sourceNote}`),
    ...(input.notices ?? []).map((notice): KnownBlock => ({ type: 'context', elements: [mrkdwnText(notice)] })),
    textInput(BLOCKS.site, 'Jira site', current.siteUrl, {
      placeholder: 'https://acme.atlassian.net',
      hint: 'The https address of your Jira Cloud or Data Center site.',
    }),
    textInput(BLOCKS.project, 'Project key', current.projectKey, {
      placeholder: 'PROJ',
      hint: 'The key in front of issue numbers, such as PROJ in PROJ-123.',
    }),
  ];
  if (input.canLoadTypes) {
    blocks.push({
      type: 'actions',
      block_id: 'jira_load_types',
      elements: [
        {
          type: 'button',
          action_id: LOAD_ISSUE_TYPES_ACTION,
          text: { type: 'plain_text', text: choices ? 'Reload issue types from Jira' : 'Load issue types from Jira' },
        },
      ],
    });
  }
  for (const field of TYPE_FIELDS) {
    const { label, hint, placeholder } = typeFieldText(field);
    const value = current.issueTypes?.[field] ?? (field === 'default' ? 'Task' : undefined);
    blocks.push(
      choices
        ? selectInput(BLOCKS.type(field), label, choices, value, { optional: field !== 'default', hint })
        : textInput(BLOCKS.type(field), label, value, { optional: field !== 'default', hint, placeholder }),
    );
  }
  return modal(metadata, blocks, { submit: { type: 'plain_text', text: 'Save' }, close: { type: 'plain_text', text: 'Cancel' } });
}

function typeFieldText(field: TypeField): { label: string; hint: string; placeholder: string } {
  if (field === 'default') return { label: 'Default issue type', hint: 'Used for every phase without its own type.', placeholder: 'Task' };
  if (field === 'epic')
    return {
      label: 'Parent issue type (Publish all)',
      hint: "The spec's issue when every document is published at once; the other documents become its children. Empty: Epic.",
      placeholder: 'Epic',
    };
  if (field === 'task-item')
    return {
      label: 'Issue type for tasks (Create issues from tasks)',
      hint: "One issue per open task, under the spec's issue; a sub-task type puts them under the tasks document's issue instead. Empty: Task.",
      placeholder: 'Task',
    };
  return { label: `Issue type for ${field}`, hint: 'Leave empty to use the default type.', placeholder: 'Same as the default' };
}

/** Slack allows 100 options of at most 75 characters each. */
function usableChoices(choices: string[] | undefined): string[] | undefined {
  if (!choices) return undefined;
  const usable = [...new Set(choices.map((c) => c.trim()).filter((c) => c !== '' && c.length <= 75))].slice(0, 100);
  return usable.length > 0 ? usable : undefined;
}

function textInput(
  block: string,
  label: string,
  value: string | undefined,
  opts: { optional?: boolean; placeholder?: string; hint?: string },
): KnownBlock {
  return {
    type: 'input',
    block_id: block,
    optional: opts.optional ?? false,
    label: { type: 'plain_text', text: label },
    ...(opts.hint ? { hint: { type: 'plain_text', text: opts.hint } } : {}),
    element: {
      type: 'plain_text_input',
      action_id: ELEMENTS.text(block),
      max_length: 255,
      ...(value ? { initial_value: cut(value, 255) } : {}),
      ...(opts.placeholder ? { placeholder: { type: 'plain_text', text: opts.placeholder } } : {}),
    },
  };
}

function selectInput(
  block: string,
  label: string,
  choices: string[],
  value: string | undefined,
  opts: { optional: boolean; hint: string },
): KnownBlock {
  const option = (text: string): PlainTextOption => ({ text: { type: 'plain_text', text }, value: text });
  const initial = value !== undefined && choices.includes(value) ? option(value) : undefined;
  return {
    type: 'input',
    block_id: block,
    optional: opts.optional,
    label: { type: 'plain_text', text: label },
    hint: {
      type: 'plain_text',
      text:
        value !== undefined && !initial ? `${opts.hint} Currently "${cut(value, 60)}", which this Jira project does not offer.` : opts.hint,
    },
    element: {
      type: 'static_select',
      action_id: ELEMENTS.select(block),
      placeholder: { type: 'plain_text', text: 'Choose an issue type' },
      options: choices.map(option),
      ...(initial ? { initial_option: initial } : {}),
    },
  };
}

/** A settings URL's host for display; an unparsable one (a hand-edited annotation) as a short text. */
function hostOf(url: string): string {
  return URL.canParse(url) ? new URL(url).host : clip(url, 60);
}
