/**
 * The "Publish as…" modal as pure functions: its loading, message and form views, how the chosen
 * issue type is read out of `view.state.values`, and how it is validated (errors keyed by block id,
 * for `response_action: errors`).
 */
import type { KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import { encodePublishAsMetadata, type PublishAsMetadata } from '../action-values.ts';
import { clip, code, escapeMrkdwn, mrkdwnSection, mrkdwnText } from './text.ts';

export const PUBLISH_AS_CALLBACK_ID = 'vteam_publish_as';
export const ISSUE_TYPE_BLOCK = 'issue_type';
/** Action ids differ by element kind so Slack does not carry a typed value into a select (or back). */
export const ISSUE_TYPE_ELEMENTS = { select: 'issue_type_select', text: 'issue_type_text' } as const;
export const ISSUE_TYPE_MAX = 100;
export const ISSUE_TYPE_ERROR = `Choose or type an issue type of at most ${ISSUE_TYPE_MAX} characters, such as Story.`;

const TITLE = { type: 'plain_text', text: 'Publish to Jira' } as const;

function modal(metadata: PublishAsMetadata | undefined, blocks: KnownBlock[], extra: Partial<ModalView> = {}): ModalView {
  return {
    type: 'modal',
    callback_id: PUBLISH_AS_CALLBACK_ID,
    title: TITLE,
    close: { type: 'plain_text', text: 'Close' },
    ...(metadata ? { private_metadata: encodePublishAsMetadata(metadata) } : {}),
    blocks,
    ...extra,
  };
}

/** Opened at once with the trigger_id (valid 3 s); replaced once the cluster and Jira have answered. */
export function publishAsLoadingView(metadata: PublishAsMetadata): ModalView {
  return modal(metadata, [mrkdwnSection(`:hourglass_flowing_sand: Reading the Jira issue types for ${code(clip(metadata.path, 500))}…`)], {
    close: { type: 'plain_text', text: 'Cancel' },
  });
}

/** A view with one sentence and no form: a refusal or a problem to fix first. `text` is mrkdwn (outside values escaped by the caller). */
export function publishAsMessageView(text: string): ModalView {
  return modal(undefined, [mrkdwnSection(text)]);
}

export interface PublishAsFormInput {
  metadata: PublishAsMetadata;
  workflowTitle: string;
  projectKey: string;
  /** The Jira project's issue types; absent or empty → a free-text input. */
  choices?: string[] | undefined;
  /** The type a one-click publish would use (the phase's configured type), preselected. */
  preselected: string;
  /** Shown above the input: why the type is typed in (mrkdwn, outside values escaped by the caller). */
  notices?: string[] | undefined;
}

export function publishAsFormView(input: PublishAsFormInput): ModalView {
  const { metadata } = input;
  const choices = usableChoices(input.choices);
  const intro = `Publish ${code(clip(metadata.path, 500))} of *${escapeMrkdwn(clip(input.workflowTitle, 150))}* ${code(`${metadata.namespace}/${metadata.name}`)} to Jira project ${code(clip(input.projectKey, 100))}.`;
  const blocks: KnownBlock[] = [
    mrkdwnSection(intro),
    ...(input.notices ?? []).map((notice): KnownBlock => ({ type: 'context', elements: [mrkdwnText(notice)] })),
    choices ? typeSelect(choices, input.preselected) : typeText(input.preselected),
  ];
  return modal(metadata, blocks, { submit: { type: 'plain_text', text: 'Publish' }, close: { type: 'plain_text', text: 'Cancel' } });
}

function typeSelect(choices: string[], preselected: string): KnownBlock {
  const option = (text: string): PlainTextOption => ({ text: { type: 'plain_text', text }, value: text });
  const initial = choices.includes(preselected) ? option(preselected) : undefined;
  const hint = initial
    ? 'Preselected: the type this document gets with one click.'
    : `The project's settings name "${clip(preselected, 60)}", which this Jira project does not offer; choose another.`;
  return {
    type: 'input',
    block_id: ISSUE_TYPE_BLOCK,
    label: { type: 'plain_text', text: 'Issue type' },
    hint: { type: 'plain_text', text: hint },
    element: {
      type: 'static_select',
      action_id: ISSUE_TYPE_ELEMENTS.select,
      placeholder: { type: 'plain_text', text: 'Choose an issue type' },
      options: choices.map(option),
      ...(initial ? { initial_option: initial } : {}),
    },
  };
}

function typeText(preselected: string): KnownBlock {
  return {
    type: 'input',
    block_id: ISSUE_TYPE_BLOCK,
    label: { type: 'plain_text', text: 'Issue type' },
    hint: { type: 'plain_text', text: 'The name of an issue type of the Jira project, such as Story or Bug.' },
    element: {
      type: 'plain_text_input',
      action_id: ISSUE_TYPE_ELEMENTS.text,
      max_length: ISSUE_TYPE_MAX,
      placeholder: { type: 'plain_text', text: 'Story' },
      ...(preselected && preselected.length <= ISSUE_TYPE_MAX ? { initial_value: preselected } : {}),
    },
  };
}

/** Slack allows 100 options of at most 75 characters each; longer names can only be typed. */
function usableChoices(choices: string[] | undefined): string[] | undefined {
  if (!choices) return undefined;
  const usable = [...new Set(choices.map((c) => c.trim()).filter((c) => c !== '' && c.length <= 75))].slice(0, 100);
  return usable.length > 0 ? usable : undefined;
}

interface StateValue {
  value?: string | null | undefined;
  selected_option?: { value: string } | null | undefined;
}

/** The chosen or typed issue type, before validation; undefined when left empty. */
export function readIssueType(values: Record<string, Record<string, StateValue>> | undefined): string | undefined {
  const actions = values?.[ISSUE_TYPE_BLOCK] ?? {};
  for (const id of [ISSUE_TYPE_ELEMENTS.select, ISSUE_TYPE_ELEMENTS.text]) {
    const state = actions[id];
    const value = state?.selected_option?.value ?? state?.value;
    if (typeof value === 'string') return value;
  }
  return undefined;
}

export type IssueTypeValidation = { ok: true; issueType: string } | { ok: false; errors: Record<string, string> };

/** Non-empty, at most 100 characters, no control characters. */
export function validateIssueType(raw: string | undefined): IssueTypeValidation {
  const type = raw?.trim() ?? '';
  const printable = [...type].every((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f);
  if (type === '' || type.length > ISSUE_TYPE_MAX || !printable) return { ok: false, errors: { [ISSUE_TYPE_BLOCK]: ISSUE_TYPE_ERROR } };
  return { ok: true, issueType: type };
}
