import { App, LogLevel } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackUserRef } from '../../../src/publishing/model.ts';
import { createJiraConfigSubcommand, registerJiraConfigModal, type JiraConfigDeps } from '../../../src/slack/subcommands/jira-config.ts';
import {
  BLOCKS,
  JIRA_CONFIG_CALLBACK_ID,
  LOAD_ISSUE_TYPES_ACTION,
  encodeMetadata,
} from '../../../src/slack/subcommands/jira-config-form.ts';
import { messageText } from '../../support/fake-slack.ts';
import { CHANNELS, startAdminFixture, type AdminFixture } from './fixture.ts';

const SITE = 'vteam.ambient-code/jira-site';
const PROJECT = 'vteam.ambient-code/jira-project';
const TYPES = 'vteam.ambient-code/jira-issue-types';

/** The Jira port as the Atlassian adapter offers it, answering from a table (the MCP side is tested there). */
function jiraPort(types: Record<string, string[]>) {
  const calls: { user: SlackUserRef; siteUrl: string; projectKey: string }[] = [];
  return {
    calls,
    async listIssueTypes(user: SlackUserRef, request: { siteUrl: string; projectKey: string }) {
      calls.push({ user, ...request });
      const found = types[`${request.siteUrl} ${request.projectKey}`];
      if (!found) throw new Error('no such project');
      return found;
    },
  };
}

type Values = Record<string, Record<string, { type: string; value?: string | null; selected_option?: { value: string } | null }>>;

function textValues(input: Record<string, string | undefined>): Values {
  return Object.fromEntries(
    Object.entries(input).map(([block, value]) => [block, { [`${block}_text`]: { type: 'plain_text_input', value: value ?? null } }]),
  );
}

function viewPayload(values: Values, privateMetadata: string) {
  return {
    id: 'VMODAL',
    team_id: 'T0001',
    type: 'modal',
    callback_id: JIRA_CONFIG_CALLBACK_ID,
    private_metadata: privateMetadata,
    state: { values },
    hash: '1760000000.abc',
    title: { type: 'plain_text', text: 'Jira settings' },
    blocks: [],
    close: null,
    submit: null,
    app_id: 'A0001',
    bot_id: 'BBOT',
    root_view_id: 'VMODAL',
    previous_view_id: null,
    clear_on_close: false,
    notify_on_close: false,
    external_id: '',
  };
}

describe('/vteam jira-config', () => {
  let fx: AdminFixture;
  let app: App;
  let jira: ReturnType<typeof jiraPort>;
  let deps: JiraConfigDeps;
  beforeEach(async () => {
    fx = await startAdminFixture();
    fx.kube.addProject('team-a');
    fx.kube.addProjectSettings('team-a', { annotations: { [CHANNELS]: 'C0001', 'example.com/owner': 'platform' } });
    fx.kube.addProject('team-b');
    fx.kube.addProjectSettings('team-b');
    fx.kube.addSecret('team-a', 'ambient-runner-secrets', { JIRA_URL: 'https://acme.atlassian.net/', JIRA_PROJECT: 'OLD' });
    fx.allowAlice('team-a');
    jira = jiraPort({
      'https://acme.atlassian.net OLD': ['Task', 'Story', 'Feature Request'],
      'https://acme.atlassian.net PROJ': ['Task', 'Epic'],
    });
    deps = { admin: fx.admin, projects: fx.projects, identities: fx.identities, jira, links: { state: async () => 'linked' } };
    app = new App({
      token: 'xoxb-test-token',
      signingSecret: 'test-secret',
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fx.slack.apiUrl },
    });
    registerJiraConfigModal(app, deps);
  });
  afterEach(() => fx.close());

  const annotations = (ns = 'team-a') => fx.kube.get('projectsettings', ns, 'projectsettings')?.metadata.annotations;
  const viewArg = (call: { args: Record<string, unknown> } | undefined) =>
    call?.args.view as { blocks: unknown[]; private_metadata: string; submit?: unknown };

  async function submit(values: Values, privateMetadata: string, userId = 'UALICE', onAck: () => void = () => undefined) {
    const acks: unknown[] = [];
    await app.processEvent({
      body: {
        type: 'view_submission',
        team: { id: 'T0001', domain: 'acme' },
        user: { id: userId, username: 'alice', name: 'alice', team_id: 'T0001' },
        api_app_id: 'A0001',
        token: 'legacy-unused',
        trigger_id: 'trig.submit',
        is_enterprise_install: false,
        enterprise: null,
        view: viewPayload(values, privateMetadata),
        response_urls: [],
      },
      ack: async (response?: unknown) => {
        acks.push(response);
        onAck();
      },
    });
    return acks;
  }

  const validValues = (overrides: Record<string, string | undefined> = {}) =>
    textValues({
      [BLOCKS.site]: 'https://acme.atlassian.net',
      [BLOCKS.project]: 'PROJ',
      [BLOCKS.type('default')]: 'Task',
      [BLOCKS.type('specify')]: 'Feature Request',
      [BLOCKS.type('plan')]: undefined,
      [BLOCKS.type('tasks')]: undefined,
      ...overrides,
    });

  it("opens a loading modal first, then the form with the current settings and the Jira project's own types", async () => {
    await createJiraConfigSubcommand(deps).run(fx.context({ args: ['team-a'], triggerId: 'trig.cmd' }));
    const [open] = fx.slack.callsTo('views.open');
    expect(fx.slack.calls.filter((c) => c.method !== 'auth.test')[0]?.method).toBe('views.open'); // before users.info or anything slow
    expect(open?.args.trigger_id).toBe('trig.cmd');
    expect(viewArg(open).submit).toBeUndefined();
    const [update] = fx.slack.callsTo('views.update');
    expect(update?.args.view_id).toMatch(/^V/);
    const form = JSON.stringify(viewArg(update).blocks);
    expect(form).toContain('"initial_value":"https://acme.atlassian.net"');
    expect(form).toContain('"initial_value":"OLD"');
    expect(form).toContain('Secret `ambient-runner-secrets`');
    expect(form).toContain('"static_select"');
    expect(form).toContain('"value":"Feature Request"');
    expect(jira.calls).toEqual([{ user: { teamId: 'T0001', userId: 'UALICE' }, siteUrl: 'https://acme.atlassian.net', projectKey: 'OLD' }]);
  });

  it('falls back to free text, saying why, when the user has no Atlassian link', async () => {
    deps.links = { state: async () => 'missing' };
    await createJiraConfigSubcommand(deps).run(fx.context({ args: ['team-a'] }));
    const form = JSON.stringify(viewArg(fx.slack.callsTo('views.update')[0]).blocks);
    expect(form).not.toContain('static_select');
    expect(form).toContain('/vteam connect');
    expect(jira.calls).toHaveLength(0);
  });

  it("shows a user the cluster refuses none of the project's settings, only why and whom to ask", async () => {
    await createJiraConfigSubcommand(deps).run(fx.context({ args: ['team-a'], userId: 'UBOB' }));
    const view = viewArg(fx.slack.callsTo('views.update')[0]);
    const text = messageText({ blocks: view.blocks });
    expect(text).toContain('Your cluster identity `ubob@example.com` may not change the `projectsettings` of project `team-a`');
    expect(text).toContain('ask one of them to run `/vteam jira-config team-a`');
    const shown = JSON.stringify(view);
    expect(shown).not.toContain('acme.atlassian.net');
    expect(shown).not.toContain('OLD');
    expect(shown).not.toContain('ambient-runner-secrets');
    expect(shown).not.toContain('Feature Request');
    expect(view.submit).toBeUndefined();
    // Nothing was asked of Jira on the refused user's behalf either.
    expect(jira.calls).toHaveLength(0);
  });

  it('answers a bad project without opening a modal, and an unmanaged one inside the modal', async () => {
    await createJiraConfigSubcommand(deps).run(fx.context({ args: [] }));
    expect(fx.lastReply()?.text).toContain('Usage: `/vteam jira-config &lt;project&gt;`');
    fx.kube.addNamespace('plain');
    await createJiraConfigSubcommand(deps).run(fx.context({ args: ['plain'] }));
    expect(messageText({ blocks: viewArg(fx.slack.callsTo('views.update')[0]).blocks })).toContain(
      'Namespace `plain` is not a vTeam project',
    );
    expect(fx.slack.callsTo('views.open')).toHaveLength(1);
  });

  it('says so when the modal cannot be opened (trigger expired)', async () => {
    fx.slack.failNext('views.open', 'expired_trigger_id');
    await createJiraConfigSubcommand(deps).run(fx.context({ args: ['team-a'] }));
    expect(fx.lastReply()?.text).toContain('I could not open the Jira settings form');
  });

  it('shows invalid values inside the modal and writes nothing', async () => {
    const acks = await submit(
      validValues({ [BLOCKS.site]: 'http://acme.atlassian.net', [BLOCKS.project]: 'pr-oj' }),
      encodeMetadata({ project: 'team-a', channelId: 'C0001' }),
    );
    expect(acks).toEqual([
      {
        response_action: 'errors',
        errors: { [BLOCKS.site]: expect.stringContaining('https'), [BLOCKS.project]: expect.stringContaining('project key') },
      },
    ]);
    expect(fx.kube.count('patch', 'projectsettings')).toBe(0);
  });

  it('saves valid settings as annotations after a fresh access review, closes the modal and confirms', async () => {
    const acks = await submit(validValues(), encodeMetadata({ project: 'team-a', channelId: 'C0001' }));
    expect(acks).toEqual([undefined]);
    expect(annotations()).toEqual({
      [CHANNELS]: 'C0001',
      'example.com/owner': 'platform',
      [SITE]: 'https://acme.atlassian.net',
      [PROJECT]: 'PROJ',
      [TYPES]: '{"default":"Task","specify":"Feature Request"}',
    });
    expect(fx.kube.accessReviews).toHaveLength(1);
    const [confirmation] = fx.slack.callsTo('chat.postEphemeral');
    expect(confirmation?.args).toMatchObject({ channel: 'C0001', user: 'UALICE' });
    expect(String(confirmation?.args.text)).toContain('Saved the Jira settings of project `team-a`');
    expect((await fx.projects.jiraSettings('team-a')).settings).toMatchObject({ projectKey: 'PROJ', source: 'annotations' });
  });

  it('refuses a forged project in private_metadata by the access review, with the admin command', async () => {
    const acks = await submit(validValues(), encodeMetadata({ project: 'team-b', channelId: 'C0001' }));
    expect(fx.kube.count('patch', 'projectsettings')).toBe(0);
    expect(annotations('team-b')).toBeUndefined();
    expect(fx.kube.accessReviews).toEqual([
      expect.objectContaining({ user: 'ualice@example.com', resourceAttributes: expect.objectContaining({ namespace: 'team-b' }) }),
    ]);
    const [ack] = acks as { response_action: string; view: { blocks: unknown[] } }[];
    expect(ack?.response_action).toBe('update');
    const text = messageText({ blocks: ack!.view.blocks });
    expect(text).toContain('Nothing was saved.');
    expect(text).toContain(
      'kubectl annotate projectsettings projectsettings -n team-b vteam.ambient-code/jira-site=https://acme.atlassian.net vteam.ambient-code/jira-project=PROJ',
    );
    expect(fx.slack.callsTo('chat.postEphemeral')).toHaveLength(0);
  });

  it('refuses malformed private_metadata outright', async () => {
    const acks = await submit(validValues(), '{"project":"team-a; rm -rf"}');
    expect((acks[0] as { response_action: string }).response_action).toBe('update');
    expect(fx.kube.count('patch', 'projectsettings')).toBe(0);
    expect(fx.kube.accessReviews).toHaveLength(0);
  });

  it("keeps Slack's 3 s promise when the cluster is slow: a saving view, then the outcome", async () => {
    // The cluster answers only once Slack has been answered, whatever the machine's speed.
    let release!: () => void;
    const answered = new Promise<void>((resolve) => {
      release = resolve;
    });
    deps.identities = {
      resolve: async (user) => {
        await answered;
        return fx.identities.resolve(user);
      },
    };
    deps.submitDeadlineMs = 0;
    const acks = await submit(validValues(), encodeMetadata({ project: 'team-a', channelId: 'C0001' }), 'UALICE', release);
    expect(messageText({ blocks: (acks[0] as { view: { blocks: unknown[] } }).view.blocks })).toContain('Saving the Jira settings');
    const [update] = fx.slack.callsTo('views.update');
    expect(update?.args.view_id).toBe('VMODAL');
    expect(messageText({ blocks: viewArg(update).blocks })).toContain('Saved the Jira settings of project `team-a`');
    expect(annotations()?.[PROJECT]).toBe('PROJ');
  });

  it('confirms by DM when the channel does not take the ephemeral message', async () => {
    fx.slack.failNext('chat.postEphemeral', 'channel_not_found');
    await submit(validValues(), encodeMetadata({ project: 'team-a', channelId: 'C0001' }));
    const [dm] = fx.slack.callsTo('chat.postMessage');
    expect(dm?.args.channel).toBe('UALICE');
  });

  it('loads the issue types of the site and project typed in the modal', async () => {
    await app.processEvent({
      body: {
        type: 'block_actions',
        team: { id: 'T0001', domain: 'acme' },
        user: { id: 'UALICE', username: 'alice', name: 'alice', team_id: 'T0001' },
        api_app_id: 'A0001',
        token: 'legacy-unused',
        trigger_id: 'trig.load',
        container: { type: 'view', view_id: 'VMODAL' },
        view: viewPayload(
          textValues({ [BLOCKS.site]: 'https://acme.atlassian.net', [BLOCKS.project]: 'proj' }),
          encodeMetadata({ project: 'team-a' }),
        ),
        actions: [
          {
            type: 'button',
            action_id: LOAD_ISSUE_TYPES_ACTION,
            block_id: 'jira_load_types',
            text: { type: 'plain_text', text: 'Load' },
            action_ts: '1',
          },
        ],
      },
      ack: async () => undefined,
    });
    expect(jira.calls.at(-1)).toMatchObject({ siteUrl: 'https://acme.atlassian.net', projectKey: 'PROJ' });
    const [update] = fx.slack.callsTo('views.update');
    expect(update?.args).toMatchObject({ view_id: 'VMODAL', hash: '1760000000.abc' });
    const form = JSON.stringify(viewArg(update).blocks);
    expect(form).toContain('"value":"Epic"');
    expect(form).toContain('"initial_value":"proj"');
  });
});
