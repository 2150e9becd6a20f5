/**
 * `/vteam jira-status` end to end inside a real Bolt app: a signed slash command over HTTP, the
 * sub-command registered through registerVteamCommand, the reply posted to the response_url of the
 * fake Slack, and the admin check asking Slack for the admin user group.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App } from '@slack/bolt';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PublishService } from '../../src/publishing/publish-service.ts';
import { registerVteamCommand } from '../../src/slack/handlers/vteam-command.ts';
import { createJiraStatusSubcommand } from '../../src/slack/subcommands/jira-status.ts';
import { createAdminCheck } from '../../src/status/admin-check.ts';
import { startFakeSlack, messageText, type FakeSlack } from '../support/fake-slack.ts';
import { postToSlackEvents, slashCommandBody } from '../support/slack-requests.ts';
import { ALICE, ALICE_TOKEN, startStatusWorld, type StatusWorld } from '../status/status-world.ts';

const SIGNING_SECRET = 'status-test-signing-secret';
const BOT_TOKEN = 'xoxb-test-token';

/** jira-status must not touch publishing: any use of the service fails the test. */
const untouchedService = new Proxy(
  {},
  {
    get: (_, name) => {
      throw new Error(`jira-status used service.${String(name)}`);
    },
  },
) as PublishService;

describe('/vteam jira-status through Bolt', () => {
  let slack: FakeSlack;
  let world: StatusWorld;
  let app: App;
  let url: string;
  let inFlight: Promise<unknown>[];

  beforeEach(async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    world = await startStatusWorld();
    app = new App({
      token: BOT_TOKEN,
      signingSecret: SIGNING_SECRET,
      clientOptions: { slackApiUrl: slack.apiUrl },
      processBeforeResponse: false,
    });
    const logger = pino({ level: 'silent' });
    inFlight = [];
    const isAdmin = createAdminCheck({ userIds: ['UADMIN'], userGroupId: 'S0ADMINS' }, app.client, { logger });
    registerVteamCommand(app, {
      service: untouchedService,
      logger,
      track: (start) => {
        inFlight.push(start());
      },
      disconnect: async () => ({ removed: false, revoked: false }),
      subcommands: [createJiraStatusSubcommand({ status: world.service(), isAdmin, logger })],
    });
    const server = (await app.start(0)) as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await Promise.allSettled(inFlight);
    await app.stop();
    await world.close();
    await slack.close();
  });

  async function command(userId: string): Promise<{ status: number; reply: string; body: Record<string, unknown> }> {
    const responseId = `status-${userId}-${Math.random().toString(36).slice(2)}`;
    const answer = await postToSlackEvents(
      url,
      SIGNING_SECRET,
      slashCommandBody({ text: 'jira-status', userId, teamId: ALICE.teamId, responseUrl: slack.responseUrl(responseId) }),
    );
    const posted = await slack.waitFor(() => slack.responses.find((r) => r.id === responseId), 5000);
    return { status: answer.status, reply: messageText(posted.body), body: posted.body };
  }

  it('answers the caller ephemerally with every section, and lists jira-status in help', async () => {
    await world.link(ALICE);
    const { status, reply, body } = await command(ALICE.userId);
    expect(status).toBe(200);
    expect(body.response_type).toBe('ephemeral');
    for (const title of [
      'Atlassian MCP server',
      'Your Atlassian account',
      'Jira rate budget',
      'Kubernetes',
      'Store',
      'Recent publish failures',
    ]) {
      expect(reply).toContain(`*${title}*`);
    }
    expect(reply).toContain('can create issues');
    expect(reply).not.toContain(ALICE_TOKEN);
    expect(reply).not.toContain('Project configuration');

    const help = await postToSlackEvents(url, SIGNING_SECRET, slashCommandBody({ text: 'help', responseUrl: slack.responseUrl() }));
    expect(help.body).toContain('/vteam jira-status');
  });

  it('shows the administrator sections to a listed admin and to a member of the admin user group', async () => {
    await world.channelProblems.report('C0042', 'is_archived');
    const listed = await command('UADMIN');
    expect(listed.reply).toContain('*Project configuration*');
    expect(listed.reply).toContain('<#C0042>: `is_archived`');

    slack.setUserGroup('S0ADMINS', ['UGROUPIE']);
    const member = await command('UGROUPIE');
    expect(member.reply).toContain('*Channels*');
    expect(slack.callsTo('usergroups.users.list')).toHaveLength(1);
  });

  it('without the usergroups:read scope only listed admins get the admin view', async () => {
    slack.failNext('usergroups.users.list', 'missing_scope');
    const { reply } = await command('UGROUPIE');
    expect(reply).toContain('*Kubernetes*');
    expect(reply).not.toContain('*Channels*');
  });
});
