import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdminCheck } from '../../src/status/admin-check.ts';
import { captureLogs } from '../oauth/helpers.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';

describe('admin check', () => {
  let slack: FakeSlack;
  let client: WebClient;
  beforeEach(async () => {
    slack = await startFakeSlack();
    client = new WebClient('xoxb-test-token', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  });
  afterEach(async () => {
    await slack.close();
  });

  it('listed users are admins without asking Slack', async () => {
    const isAdmin = createAdminCheck({ userIds: ['U1', 'U2'], userGroupId: undefined }, client);
    expect(await isAdmin('U1')).toBe(true);
    expect(await isAdmin('U3')).toBe(false);
    expect(slack.calls).toHaveLength(0);
  });

  it('members of the admin user group are admins; the member list is reused for a while', async () => {
    let now = 0;
    slack.setUserGroup('S1', ['U7', 'U8']);
    const isAdmin = createAdminCheck({ userIds: [], userGroupId: 'S1' }, client, { cacheMs: 60_000, now: () => now });
    expect(await Promise.all([isAdmin('U7'), isAdmin('U8'), isAdmin('U9')])).toEqual([true, true, false]);
    expect(slack.callsTo('usergroups.users.list')).toHaveLength(1);
    expect(slack.callsTo('usergroups.users.list')[0]!.args.usergroup).toBe('S1');
    slack.setUserGroup('S1', ['U9']);
    now += 61_000;
    expect(await isAdmin('U9')).toBe(true);
    expect(await isAdmin('U7')).toBe(false);
  });

  it('without usergroups:read only listed users count, and the problem is logged once', async () => {
    const logs = captureLogs();
    slack.failNext('usergroups.users.list', 'missing_scope', 5);
    let now = 0;
    const isAdmin = createAdminCheck({ userIds: ['U1'], userGroupId: 'S1' }, client, {
      logger: logs.logger,
      now: () => now,
      cacheMs: 1000,
    });
    expect(await isAdmin('U7')).toBe(false);
    now += 2000;
    expect(await isAdmin('U7')).toBe(false);
    expect(await isAdmin('U1')).toBe(true);
    expect(logs.text().match(/usergroups:read/g)).toHaveLength(1);
  });
});
