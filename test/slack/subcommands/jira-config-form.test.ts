import { describe, expect, it } from 'vitest';
import { formView, loadingView } from '../../../src/slack/blocks/settings.ts';
import {
  BLOCKS,
  DEFAULT_TYPE_ERROR,
  PROJECT_ERROR,
  SITE_ERROR,
  TYPE_ERROR,
  decodeMetadata,
  encodeMetadata,
  readJiraConfigForm,
  validateJiraConfig,
} from '../../../src/slack/subcommands/jira-config-form.ts';

const valid = {
  site: 'https://acme.atlassian.net/',
  project: 'PROJ',
  types: { default: 'Task', specify: 'Feature Request', plan: undefined, tasks: '' },
};

describe('jira-config validation (pure)', () => {
  it('accepts a valid form, normalising the site and leaving empty phases to the default', () => {
    expect(validateJiraConfig(valid)).toEqual({
      ok: true,
      values: { siteUrl: 'https://acme.atlassian.net', projectKey: 'PROJ', issueTypes: { default: 'Task', specify: 'Feature Request' } },
    });
    expect(validateJiraConfig({ ...valid, project: ' proj_2 ' })).toMatchObject({ ok: true, values: { projectKey: 'PROJ_2' } });
  });

  it('names every invalid field by its block, for response_action: errors', () => {
    expect(validateJiraConfig({ site: 'http://acme.atlassian.net', project: '1ABC', types: { default: '  ', plan: '   ' } })).toEqual({
      ok: false,
      errors: {
        [BLOCKS.site]: SITE_ERROR,
        [BLOCKS.project]: PROJECT_ERROR,
        [BLOCKS.type('default')]: DEFAULT_TYPE_ERROR,
        [BLOCKS.type('plan')]: TYPE_ERROR,
      },
    });
    for (const site of [
      undefined,
      '',
      'acme.atlassian.net',
      'https://user:pw@acme.atlassian.net',
      'https://acme.atlassian.net/?q=1',
      'ftp://acme',
    ]) {
      expect(validateJiraConfig({ ...valid, site }), String(site)).toMatchObject({ ok: false, errors: { [BLOCKS.site]: SITE_ERROR } });
    }
    for (const project of [undefined, '', 'P', 'PR-J', 'PRO J', '_PROJ']) {
      expect(validateJiraConfig({ ...valid, project }), String(project)).toMatchObject({
        ok: false,
        errors: { [BLOCKS.project]: PROJECT_ERROR },
      });
    }
    expect(validateJiraConfig({ ...valid, types: { default: undefined } })).toMatchObject({
      ok: false,
      errors: { [BLOCKS.type('default')]: DEFAULT_TYPE_ERROR },
    });
    expect(validateJiraConfig({ ...valid, types: { default: 'x'.repeat(256) } })).toMatchObject({ ok: false });
  });

  it('reads text inputs and selects alike out of view state', () => {
    expect(
      readJiraConfigForm({
        [BLOCKS.site]: { [`${BLOCKS.site}_text`]: { value: 'https://a.example.com' } },
        [BLOCKS.project]: { [`${BLOCKS.project}_text`]: { value: 'PROJ' } },
        [BLOCKS.type('default')]: { [`${BLOCKS.type('default')}_select`]: { selected_option: { value: 'Story' } } },
        [BLOCKS.type('plan')]: { [`${BLOCKS.type('plan')}_select`]: { selected_option: null } },
        [BLOCKS.type('tasks')]: { [`${BLOCKS.type('tasks')}_text`]: { value: null } },
      }),
    ).toEqual({
      site: 'https://a.example.com',
      project: 'PROJ',
      types: { default: 'Story', specify: undefined, plan: undefined, tasks: undefined },
    });
  });

  it('carries only a valid project and channel in private_metadata', () => {
    expect(decodeMetadata(encodeMetadata({ project: 'team-a', channelId: 'C0001' }))).toEqual({ project: 'team-a', channelId: 'C0001' });
    for (const bad of [undefined, '', 'x', '{"project":"../x"}', '{"project":"team-a","channelId":"<@U1>"}', '[]']) {
      expect(decodeMetadata(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('jira-config views (pure)', () => {
  const metadata = { project: 'team-a', channelId: 'C0001' };

  it('opens with a loading view that cannot be submitted', () => {
    const view = loadingView(metadata);
    expect(view).toMatchObject({ type: 'modal', callback_id: 'vteam_jira_config', private_metadata: encodeMetadata(metadata) });
    expect(view.submit).toBeUndefined();
  });

  it('offers free-text inputs prefilled with the current settings when Jira cannot list types', () => {
    const view = formView({
      metadata,
      current: { siteUrl: 'https://acme.atlassian.net', projectKey: 'PROJ', issueTypes: { default: 'Story' } },
      canLoadTypes: false,
    });
    const inputs = view.blocks.filter((b) => b.type === 'input') as {
      block_id: string;
      optional: boolean;
      element: { type: string; initial_value?: string };
    }[];
    expect(inputs.map((b) => [b.block_id, b.element.type, b.element.initial_value, b.optional])).toEqual([
      ['jira_site', 'plain_text_input', 'https://acme.atlassian.net', false],
      ['jira_project', 'plain_text_input', 'PROJ', false],
      ['jira_type_default', 'plain_text_input', 'Story', false],
      ['jira_type_specify', 'plain_text_input', undefined, true],
      ['jira_type_plan', 'plain_text_input', undefined, true],
      ['jira_type_tasks', 'plain_text_input', undefined, true],
      ['jira_type_epic', 'plain_text_input', undefined, true],
      ['jira_type_task-item', 'plain_text_input', undefined, true],
    ]);
    expect(view.submit).toEqual({ type: 'plain_text', text: 'Save' });
    expect(JSON.stringify(view.blocks)).not.toContain('vteam_jira_config_load_types');
  });

  it("offers the Jira project's own types as selects, with the current ones chosen", () => {
    const view = formView({
      metadata,
      current: { issueTypes: { default: 'Task', plan: 'Gone' } },
      choices: ['Task', 'Story', 'Task', ''],
      canLoadTypes: true,
    });
    const selects = view.blocks.filter(
      (b) => b.type === 'input' && (b as { element: { type: string } }).element.type === 'static_select',
    ) as { block_id: string; hint: { text: string }; element: { options: { value: string }[]; initial_option?: { value: string } } }[];
    expect(selects.map((s) => s.block_id)).toEqual([
      'jira_type_default',
      'jira_type_specify',
      'jira_type_plan',
      'jira_type_tasks',
      'jira_type_epic',
      'jira_type_task-item',
    ]);
    expect(selects[0]!.element.options.map((o) => o.value)).toEqual(['Task', 'Story']);
    expect(selects[0]!.element.initial_option?.value).toBe('Task');
    expect(selects[2]!.element.initial_option).toBeUndefined();
    expect(selects[2]!.hint.text).toContain('Currently "Gone", which this Jira project does not offer.');
    expect(JSON.stringify(view.blocks)).toContain('vteam_jira_config_load_types');
  });
});
