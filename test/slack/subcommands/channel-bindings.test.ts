import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChannelSubcommands } from '../../../src/slack/subcommands/channel-bindings.ts';
import type { Subcommand } from '../../../src/slack/handlers/vteam-command.ts';
import { CHANNELS, startAdminFixture, type AdminFixture } from './fixture.ts';

describe('/vteam subscribe, unsubscribe and list', () => {
  let fx: AdminFixture;
  let commands: Record<string, Subcommand>;
  beforeEach(async () => {
    fx = await startAdminFixture();
    fx.kube.addProject('team-a');
    fx.kube.addProjectSettings('team-a', { annotations: { [CHANNELS]: 'C111', 'example.com/owner': 'platform' } });
    fx.kube.addNamespace('kube-system');
    fx.kube.addProject('no-settings');
    commands = Object.fromEntries(createChannelSubcommands(fx).map((c) => [c.name, c]));
  });
  afterEach(() => fx.close());

  const run = (name: string, args: string[], opts: { userId?: string; channelId?: string } = {}) =>
    commands[name]!.run(fx.context({ args, ...opts }));
  const annotations = () => fx.kube.get('projectsettings', 'team-a', 'projectsettings')?.metadata.annotations;

  it('binds the channel when the cluster says the user may, tells the channel, and the next publish sees it', async () => {
    fx.allowAlice();
    expect(await fx.projects.isBound('team-a', 'C0001')).toBe(false); // warms the 60 s cache
    await run('subscribe', ['team-a']);
    expect(annotations()).toEqual({ [CHANNELS]: 'C111,C0001', 'example.com/owner': 'platform' });
    expect(fx.lastReply()).toMatchObject({ response_type: 'in_channel' });
    expect(fx.lastReply()?.text).toContain('<@UALICE> bound this channel to vTeam project `team-a`');
    expect(await fx.projects.isBound('team-a', 'C0001')).toBe(true);
    expect(fx.kube.accessReviews).toEqual([expect.objectContaining({ user: 'ualice@example.com', groups: ['system:authenticated'] })]);
  });

  it('refuses without writing and gives the exact kubectl command with every resulting channel', async () => {
    await run('subscribe', ['team-a'], { userId: 'UBOB' });
    expect(fx.kube.count('patch', 'projectsettings')).toBe(0);
    expect(fx.lastReply()).toMatchObject({ response_type: 'ephemeral' });
    expect(fx.lastReply()?.text).toContain('Your cluster identity `ubob@example.com` may not change');
    expect(fx.lastReply()?.text).toContain(
      '```kubectl annotate projectsettings projectsettings -n team-a vteam.ambient-code/slack-channels=C111,C0001 --overwrite```',
    );
  });

  it('unbinds, keeping the other channels; refused, the command lists what would remain', async () => {
    fx.kube.modify('projectsettings', 'team-a', 'projectsettings', (o) => {
      o.metadata.annotations![CHANNELS] = 'C111,C0001,C222';
    });
    await run('unsubscribe', ['team-a'], { userId: 'UBOB' });
    expect(fx.lastReply()?.text).toContain('vteam.ambient-code/slack-channels=C111,C222 --overwrite');
    fx.allowAlice();
    await run('unsubscribe', ['team-a']);
    expect(annotations()).toEqual({ [CHANNELS]: 'C111,C222', 'example.com/owner': 'platform' });
    expect(fx.lastReply()?.text).toContain('unbound this channel from vTeam project `team-a`');
  });

  it('offers the removal form of the command when the last channel would go', async () => {
    await run('unsubscribe', ['team-a'], { userId: 'UBOB', channelId: 'C111' });
    expect(fx.lastReply()?.text).toContain(
      '```kubectl annotate projectsettings projectsettings -n team-a vteam.ambient-code/slack-channels-```',
    );
  });

  it('answers each impossible request with one sentence and no cluster write', async () => {
    fx.allowAlice('*');
    const cases: [string, string[], { channelId?: string }, string][] = [
      ['subscribe', ['nope'], {}, 'There is no vTeam project named `nope`'],
      ['subscribe', ['Not_A_Name'], {}, 'There is no vTeam project named `not_a_name`'],
      ['subscribe', ['Kube-System'], {}, 'Namespace `kube-system` is not a vTeam project'],
      ['subscribe', ['kube-system'], {}, 'Namespace `kube-system` is not a vTeam project'],
      ['subscribe', ['no-settings'], {}, 'Project `no-settings` has no `projectsettings` object yet'],
      ['subscribe', ['team-a'], { channelId: 'C111' }, 'This channel is already bound to project `team-a`.'],
      ['unsubscribe', ['team-a'], {}, 'This channel is not bound to project `team-a`, so there is nothing to unsubscribe.'],
      ['subscribe', [], {}, 'Usage: `/vteam subscribe &lt;project&gt;`'],
      ['subscribe', ['a', 'b'], {}, 'Usage: `/vteam subscribe &lt;project&gt;`'],
      ['subscribe', ['team-a'], { channelId: 'D0001' }, 'a direct message cannot be bound'],
    ];
    for (const [name, args, opts, expected] of cases) {
      await run(name, args, opts);
      expect(fx.lastReply(), `${name} ${args.join(' ')}`).toMatchObject({ response_type: 'ephemeral' });
      expect(fx.lastReply()?.text, `${name} ${args.join(' ')}`).toContain(expected);
    }
    expect(fx.kube.count('patch', 'projectsettings')).toBe(0);
  });

  it('explains when the Slack user has no usable email, with the admin command', async () => {
    fx.allowAlice('*');
    fx.slack.setUser('UNOMAIL', { email: null });
    await run('subscribe', ['team-a'], { userId: 'UNOMAIL' });
    expect(fx.lastReply()?.text).toContain('I could not read an email address on your Slack profile');
    expect(fx.lastReply()?.text).toContain('slack-channels=C111,C0001 --overwrite');
    fx.slack.setUser('UODD', { email: 'not an email' });
    await run('subscribe', ['team-a'], { userId: 'UODD' });
    expect(fx.lastReply()?.text).toContain('Your Slack email `not an email` does not map to a cluster user');
    expect(fx.kube.count('patch', 'projectsettings')).toBe(0);
    expect(fx.kube.accessReviews).toHaveLength(0);
  });

  it('lists the projects bound to the channel and whether each has Jira configured', async () => {
    fx.kube.addProject('team-b');
    fx.kube.addProjectSettings('team-b', {
      annotations: {
        [CHANNELS]: 'C0001',
        'vteam.ambient-code/jira-site': 'https://acme.atlassian.net',
        'vteam.ambient-code/jira-project': 'PROJ',
      },
    });
    fx.kube.addProject('team-c');
    fx.kube.addProjectSettings('team-c', { annotations: { [CHANNELS]: 'C0001' } });
    fx.kube.addSecret('team-c', 'ambient-runner-secrets', { JIRA_URL: 'https://legacy.example.com/', JIRA_PROJECT: 'OLD' });
    fx.kube.addProject('team-d');
    fx.kube.addProjectSettings('team-d', { annotations: { [CHANNELS]: 'C0001' } });
    await run('list', []);
    const text = fx.lastReply()?.text ?? '';
    expect(fx.lastReply()).toMatchObject({ response_type: 'ephemeral' });
    expect(text).toContain('bound to 3 vTeam projects');
    expect(text).toContain('`team-b` · Jira `PROJ` on acme.atlassian.net');
    expect(text).toContain('`team-c` · Jira `OLD` on legacy.example.com (from Secret `ambient-runner-secrets`)');
    expect(text).toContain('`team-d` · Jira not configured: run `/vteam jira-config team-d`');
    expect(text).not.toContain('team-a');

    await run('list', [], { channelId: 'C999' });
    expect(fx.lastReply()?.text).toContain('This channel is not bound to any vTeam project');
  });

  it('keeps a channel bound concurrently by someone else', async () => {
    fx.allowAlice();
    fx.kube.injectConflicts(1, {
      verb: 'patch',
      match: { resource: 'projectsettings' },
      mutate: (o) => {
        o.metadata.annotations![CHANNELS] = 'C111,C777';
      },
    });
    await run('subscribe', ['team-a']);
    expect(annotations()?.[CHANNELS]).toBe('C111,C777,C0001');
  });
});
