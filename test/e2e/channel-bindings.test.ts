import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageText } from '../support/fake-slack.ts';
import { startEnvironment, type Environment } from '../support/environment.ts';

/** `/vteam subscribe|unsubscribe|list|jira-config`, authorized by a SubjectAccessReview in the cluster. */
let env: Environment;
const ANNOTATION = 'vteam.ambient-code/slack-channels';

beforeAll(async () => {
  env = await startEnvironment();
  env.kube.addProject('team-c');
  env.kube.addProjectSettings('team-c', { annotations: { [ANNOTATION]: 'C0700', 'other/annotation': 'kept' } });
  // Alice's Slack email maps to the cluster user u0001@example.com, an admin of team-c only.
  env.kube.setAccessRules([{ user: 'u0001@example.com', namespace: 'team-c', verb: 'patch', resource: 'projectsettings', allowed: true }]);
});
afterAll(async () => {
  await env?.close();
});

async function answer(text: string, options: { userId?: string; channelId?: string } = {}): Promise<string> {
  const sent = await env.command(text, options);
  expect(sent.status).toBe(200);
  if (sent.body) return messageText(JSON.parse(sent.body) as Record<string, unknown>);
  const response = await env.slack.waitFor(() => env.slack.responses.find((r) => r.id === sent.responseId));
  return messageText(response.body);
}

const channelsOf = (ns: string) => (env.kube.get('projectsettings', ns, 'projectsettings')!.metadata.annotations ?? {})[ANNOTATION];

/**
 * Each test starts from the binding it needs, made or undone through the app by Alice (a project admin)
 * so the app's cached reads follow; both commands are no-ops when the channel is already that way.
 */
async function given(state: 'bound' | 'unbound', channelId: string): Promise<void> {
  await answer(`${state === 'bound' ? 'subscribe' : 'unsubscribe'} team-c`, { channelId });
  expect(channelsOf('team-c')?.split(',').includes(channelId)).toBe(state === 'bound');
}

describe('channel bindings', () => {
  it('a project admin binds a channel; other channels and annotations are kept', async () => {
    await given('unbound', 'C0800');
    expect(channelsOf('team-c')).toBe('C0700');
    expect(await answer('subscribe team-c', { channelId: 'C0800' })).toMatch(/team-c/);
    expect(channelsOf('team-c')).toBe('C0700,C0800');
    expect(env.kube.get('projectsettings', 'team-c', 'projectsettings')!.metadata.annotations?.['other/annotation']).toBe('kept');
    expect(env.kube.accessReviews.at(-1)).toMatchObject({
      user: 'u0001@example.com',
      resourceAttributes: { verb: 'patch', resource: 'projectsettings', namespace: 'team-c', name: 'projectsettings' },
    });
  });

  it('the new binding takes effect for publishing and /vteam list', async () => {
    await given('bound', 'C0800');
    expect(await answer('list', { channelId: 'C0800' })).toMatch(/team-c/);
  });

  it('someone the cluster does not allow gets the exact kubectl command instead', async () => {
    await given('bound', 'C0800');
    const text = await answer('subscribe team-c', { channelId: 'C0900', userId: 'U0002' });
    expect(text).toContain(`kubectl annotate projectsettings projectsettings -n team-c ${ANNOTATION}=C0700,C0800,C0900 --overwrite`);
    expect(channelsOf('team-c')).toBe('C0700,C0800');
  });

  it('unknown projects and repeated bindings get one clear sentence', async () => {
    await given('bound', 'C0800');
    expect(await answer('subscribe no-such-project', { channelId: 'C0800' })).toMatch(/no-such-project/);
    expect(await answer('subscribe team-c', { channelId: 'C0800' })).toMatch(/already/i);
  });

  it('unsubscribe removes only this channel', async () => {
    await given('bound', 'C0800');
    expect(channelsOf('team-c')).toBe('C0700,C0800');
    await answer('unsubscribe team-c', { channelId: 'C0800' });
    expect(channelsOf('team-c')).toBe('C0700');
  });

  it('/vteam jira-config opens the settings modal at once for a project admin', async () => {
    const before = env.slack.callsTo('views.open').length;
    const updatesBefore = env.slack.callsTo('views.update').length;
    await env.command('jira-config team-c', { channelId: 'C0700' });
    const opened = await env.slack.waitFor(() => env.slack.callsTo('views.open')[before]);
    expect(opened.args.trigger_id).toMatch(/^trig\./);
    await env.slack.waitFor(() => env.slack.callsTo('views.update')[updatesBefore]);
  });
});
