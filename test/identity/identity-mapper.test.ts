import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIdentityMapper } from '../../src/identity/identity-mapper.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';

describe('Slack user → cluster identity', () => {
  let slack: FakeSlack;
  let client: WebClient;
  beforeEach(async () => {
    slack = await startFakeSlack();
    client = new WebClient('xoxb-test-token', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  });
  afterEach(() => slack.close());

  const user = (userId: string) => ({ teamId: 'T0001', userId });

  it('maps the profile email through the template and adds the configured groups', async () => {
    const mapper = createIdentityMapper(
      { clusterUserTemplate: 'oidc:{email}', clusterUserGroups: ['system:authenticated', 'vteam-users'] },
      client,
    );
    expect(await mapper.resolve(user('UALICE'))).toEqual({
      kind: 'mapped',
      email: 'ualice@example.com',
      identity: { user: 'oidc:ualice@example.com', groups: ['system:authenticated', 'vteam-users'] },
    });
    expect(slack.callsTo('users.info').map((c) => c.args.user)).toEqual(['UALICE']);
  });

  it('says so when Slack shows no email (users:read.email missing) or the user is a bot', async () => {
    slack.setUser('UNOMAIL', { email: null });
    slack.setUser('UBOT2', { is_bot: true });
    const mapper = createIdentityMapper({ clusterUserTemplate: '{email}', clusterUserGroups: [] }, client);
    expect(await mapper.resolve(user('UNOMAIL'))).toEqual({ kind: 'no-email' });
    expect(await mapper.resolve(user('UBOT2'))).toEqual({ kind: 'no-email' });
  });

  it('treats a users.info refusal (scope not granted) as no email, but lets outages fail', async () => {
    const mapper = createIdentityMapper({ clusterUserTemplate: '{email}', clusterUserGroups: [] }, client, { cacheTtlMs: 0 });
    slack.failNext('users.info', 'missing_scope');
    expect(await mapper.resolve(user('UALICE'))).toEqual({ kind: 'no-email' });
    await slack.close();
    await expect(mapper.resolve(user('UALICE'))).rejects.toThrow();
    slack = await startFakeSlack();
  });

  it('reports an email the template cannot use', async () => {
    slack.setUser('UODD', { email: 'odd"name"@example.com' });
    const mapper = createIdentityMapper({ clusterUserTemplate: '{local}', clusterUserGroups: [] }, client);
    expect(await mapper.resolve(user('UODD'))).toEqual({ kind: 'unmappable', email: 'odd"name"@example.com' });
  });

  it('reuses the email for a while, so a burst of commands is one users.info', async () => {
    let now = 0;
    const mapper = createIdentityMapper({ clusterUserTemplate: '{email}', clusterUserGroups: [] }, client, {
      cacheTtlMs: 60_000,
      now: () => now,
    });
    await mapper.resolve(user('UALICE'));
    await mapper.resolve(user('UALICE'));
    now = 61_000;
    await mapper.resolve(user('UALICE'));
    expect(slack.callsTo('users.info')).toHaveLength(2);
  });
});
