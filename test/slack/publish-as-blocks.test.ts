import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { decodePublishAsMetadata } from '../../src/slack/action-values.ts';
import { documentPicker, documentRowBlocks, workflowCard } from '../../src/slack/blocks/documents.ts';
import {
  ISSUE_TYPE_BLOCK,
  ISSUE_TYPE_ERROR,
  PUBLISH_AS_CALLBACK_ID,
  publishAsFormView,
  publishAsLoadingView,
  publishAsMessageView,
  readIssueType,
  validateIssueType,
} from '../../src/slack/blocks/publish-as.ts';
import { renderCard } from '../../src/cards/render.ts';
import type { Workflow } from '../../src/publishing/model.ts';
import { messageText } from '../support/fake-slack.ts';

const workflow: Workflow = {
  namespace: 'team-a',
  name: 'rfe-1',
  title: 'Dark *mode*',
  description: 'x',
  jiraLinks: [],
  resourceVersion: '1',
  branchName: 'ambient-dark',
  umbrellaRepo: { url: 'https://github.com/org/specs', branch: 'main' },
};
const metadata = {
  namespace: 'team-a',
  name: 'rfe-1',
  path: 'specs/plan.md',
  channelId: 'C0001',
  responseUrl: 'https://hooks.slack.com/x',
  sourceEphemeral: true,
};

const elements = (blocks: KnownBlock[]): unknown[] =>
  blocks.flatMap((b): unknown[] => (b.type === 'actions' ? b.elements : b.type === 'section' && b.accessory ? [b.accessory] : []));

describe('document rows', () => {
  it('keep the one-click Publish button and add a "Publish as…" overflow beside it', () => {
    const blocks = documentRowBlocks(workflow, { path: 'specs/plan.md', phase: 'plan' });
    expect(blocks.map((b) => b.type)).toEqual(['section', 'actions']);
    const [button, overflow] = elements(blocks);
    expect(button).toMatchObject({ type: 'button', action_id: 'publish_to_jira', style: 'primary' });
    // Slack wants at least two options in an overflow: the second is the default publish.
    expect(overflow).toMatchObject({
      type: 'overflow',
      action_id: 'publish_as',
      options: [
        { text: { text: 'Publish as…' }, value: 'd1|team-a|rfe-1|specs/plan.md' },
        { text: { text: 'Publish to Jira' }, value: 'n1|team-a|rfe-1|specs/plan.md' },
      ],
    });
  });

  it('offer only the button when the path cannot fit in an overflow value', () => {
    const path = `specs/${'long-feature-name-'.repeat(8)}/spec.md`;
    const blocks = documentRowBlocks(workflow, { path, phase: 'specify' });
    expect(blocks).toHaveLength(1);
    expect(elements(blocks)).toMatchObject([{ type: 'button', action_id: 'publish_to_jira' }]);
    expect(JSON.stringify(blocks)).toContain(path); // the full path is shown, never cut
  });

  it('show a published document as its link, without buttons', () => {
    const blocks = documentRowBlocks(workflow, {
      path: 'specs/spec.md',
      phase: 'specify',
      jiraKey: 'PROJ-1',
      url: 'https://acme.atlassian.net/browse/PROJ-1',
    });
    expect(blocks).toHaveLength(1);
    expect(elements(blocks)).toEqual([]);
  });

  it.each([0, 1, 23, 24, 47, 120])('keep pickers and cards of %i unpublished documents within 50 blocks, counting the rest', (count) => {
    const rows = Array.from({ length: count }, (_, i) => ({ path: `specs/${i}/plan.md`, phase: 'plan' }));
    for (const message of [documentPicker(workflow, rows), workflowCard(workflow, rows), renderCard(workflow, rows, undefined)]) {
      expect(message.blocks.length).toBeLessThanOrEqual(50);
      const shown = (JSON.stringify(message.blocks).match(/"action_id":"publish_to_jira"/g) ?? []).length;
      expect((JSON.stringify(message.blocks).match(/"action_id":"publish_as"/g) ?? []).length).toBe(shown);
      if (shown < count) expect(messageText({ blocks: message.blocks })).toContain(`…and ${count - shown} more`);
      else expect(messageText({ blocks: message.blocks })).not.toContain('more; publish them by path');
    }
  });

  it('fit more rows when documents are published (one block each)', () => {
    const rows = Array.from({ length: 60 }, (_, i) => ({
      path: `specs/${i}/spec.md`,
      phase: 'specify',
      jiraKey: `PROJ-${i + 1}`,
      url: `https://acme.atlassian.net/browse/PROJ-${i + 1}`,
    }));
    const picker = documentPicker(workflow, rows);
    expect(picker.blocks).toHaveLength(50);
    expect(messageText({ blocks: picker.blocks })).toContain('…and 13 more');
  });
});

describe('the "Publish as…" modal', () => {
  it('opens with a loading view carrying the metadata', () => {
    const view = publishAsLoadingView(metadata);
    expect(view.callback_id).toBe(PUBLISH_AS_CALLBACK_ID);
    expect(decodePublishAsMetadata(view.private_metadata)).toEqual(metadata);
    expect(view.submit).toBeUndefined();
    expect(view.title.text.length).toBeLessThanOrEqual(24);
  });

  it("offers the Jira project's types with the configured one preselected", () => {
    const view = publishAsFormView({
      metadata,
      workflowTitle: 'Dark *mode*',
      projectKey: 'PROJ',
      choices: ['Epic', 'Story', 'Task', 'Bug'],
      preselected: 'Task',
    });
    const input = view.blocks.find((b) => b.type === 'input');
    expect(input).toMatchObject({
      block_id: ISSUE_TYPE_BLOCK,
      element: {
        type: 'static_select',
        options: [{ value: 'Epic' }, { value: 'Story' }, { value: 'Task' }, { value: 'Bug' }],
        initial_option: { value: 'Task' },
      },
    });
    expect(view.submit).toMatchObject({ text: 'Publish' });
    expect(decodePublishAsMetadata(view.private_metadata)).toEqual(metadata);
    expect(messageText({ blocks: view.blocks })).toMatch(
      /Publish `specs\/plan\.md` of \*Dark .*mode.*\* `team-a\/rfe-1` to Jira project `PROJ`/,
    );
  });

  it('says so when the configured type is not one the Jira project offers', () => {
    const view = publishAsFormView({
      metadata,
      workflowTitle: 'x',
      projectKey: 'PROJ',
      choices: ['Epic', 'Story'],
      preselected: 'Feature',
    });
    const input = view.blocks.find((b) => b.type === 'input');
    expect(input).not.toHaveProperty('element.initial_option');
    expect(messageText({ blocks: [input] })).toContain('"Feature", which this Jira project does not offer');
  });

  it('falls back to free text, with the note, when there are no usable choices', () => {
    for (const choices of [undefined, [], ['x'.repeat(80)]]) {
      const view = publishAsFormView({
        metadata,
        workflowTitle: 'x',
        projectKey: 'PROJ',
        choices,
        preselected: 'Task',
        notices: ['Could not read the issue types.'],
      });
      expect(view.blocks.find((b) => b.type === 'input')).toMatchObject({
        element: { type: 'plain_text_input', initial_value: 'Task', max_length: 100 },
      });
      expect(messageText({ blocks: view.blocks })).toContain('Could not read the issue types.');
    }
  });

  it("caps the select at Slack's 100 options", () => {
    const choices = Array.from({ length: 130 }, (_, i) => `Type ${i}`);
    const view = publishAsFormView({ metadata, workflowTitle: 'x', projectKey: 'PROJ', choices, preselected: 'Type 0' });
    expect(JSON.stringify(view.blocks).match(/"value":"Type \d+"/g)!.length).toBeLessThanOrEqual(101);
  });

  it('shows a problem as one sentence without a submit button', () => {
    const view = publishAsMessageView(':warning: This channel is not bound to project `team-z`.');
    expect(view.submit).toBeUndefined();
    expect(view.private_metadata).toBeUndefined();
    expect(messageText({ blocks: view.blocks })).toContain('not bound');
  });
});

describe('reading and validating the chosen issue type', () => {
  it('reads a selected option or typed text', () => {
    expect(readIssueType({ issue_type: { issue_type_select: { selected_option: { value: 'Story' } } } })).toBe('Story');
    expect(readIssueType({ issue_type: { issue_type_text: { value: 'Bug' } } })).toBe('Bug');
    expect(readIssueType({ issue_type: { issue_type_select: { selected_option: null } } })).toBeUndefined();
    expect(readIssueType({})).toBeUndefined();
  });

  it('accepts a non-empty type of at most 100 characters, trimmed', () => {
    expect(validateIssueType('  Story ')).toEqual({ ok: true, issueType: 'Story' });
    expect(validateIssueType('x'.repeat(100))).toEqual({ ok: true, issueType: 'x'.repeat(100) });
  });

  it.each([undefined, '', '   ', 'x'.repeat(101), 'Sto\u0000ry'])('refuses %j with an error on the input block', (raw) => {
    expect(validateIssueType(raw)).toEqual({ ok: false, errors: { [ISSUE_TYPE_BLOCK]: ISSUE_TYPE_ERROR } });
  });
});
