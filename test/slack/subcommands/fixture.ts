/** Real adapters against the loopback Kubernetes and Slack servers, for the sub-command tests. */
import { WebClient } from '@slack/web-api';
import type { RespondArguments } from '@slack/bolt';
import { createIdentityMapper } from '../../../src/identity/identity-mapper.ts';
import type { SubcommandContext } from '../../../src/slack/handlers/vteam-command.ts';
import { createProjectAdmin } from '../../../src/vteam/project-admin.ts';
import { createProjectDirectory } from '../../../src/vteam/projects.ts';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.ts';
import { startKubeFixture, type KubeFixture } from '../../vteam/kube-fixture.ts';

export const CHANNELS = 'vteam.ambient-code/slack-channels';

export async function startAdminFixture() {
  const fx: KubeFixture = await startKubeFixture();
  const slack: FakeSlack = await startFakeSlack();
  const client = new WebClient('xoxb-test-token', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  // A long TTL, so a test passing shows the write invalidated the cache rather than the cache expiring.
  const projects = createProjectDirectory(fx.clients, { cacheTtlMs: 60_000 });
  const admin = createProjectAdmin({ kube: fx.clients, projects });
  const identities = createIdentityMapper({ clusterUserTemplate: '{email}', clusterUserGroups: ['system:authenticated'] }, client, {
    cacheTtlMs: 0,
  });
  const replies: RespondArguments[] = [];

  const context = (input: { args: string[]; userId?: string; channelId?: string; triggerId?: string }): SubcommandContext => ({
    user: { teamId: 'T0001', userId: input.userId ?? 'UALICE' },
    channelId: input.channelId ?? 'C0001',
    args: input.args,
    triggerId: input.triggerId ?? 'trig.1',
    respond: async (message) => {
      replies.push(typeof message === 'string' ? { text: message } : message);
      return {} as never;
    },
    client: client as SubcommandContext['client'],
  });

  return {
    kube: fx.kube,
    clients: fx.clients,
    slack,
    client,
    projects,
    admin,
    identities,
    replies,
    context,
    /** Alice (ualice@example.com) administers team-a. */
    allowAlice(namespace = 'team-a') {
      fx.kube.setAccessRules([
        {
          user: 'ualice@example.com',
          groups: ['system:authenticated'],
          namespace,
          verb: 'patch',
          group: 'vteam.ambient-code',
          resource: 'projectsettings',
          name: 'projectsettings',
          allowed: true,
        },
      ]);
    },
    lastReply: () => replies.at(-1),
    async close() {
      await slack.close();
      await fx.close();
    },
  };
}

export type AdminFixture = Awaited<ReturnType<typeof startAdminFixture>>;
