/**
 * A Slack user's MCP Context Forge identity: their Slack profile email through
 * CONTEXTFORGE_USER_TEMPLATE, read with the same users.info lookup as their cluster identity.
 */
import { describe, expect, it } from 'vitest';
import { gatewayUserOf } from '../../src/identity/gateway-user.ts';
import { createIdentityMapper, type SlackUsersClient } from '../../src/identity/identity-mapper.ts';

type SlackUser = Awaited<ReturnType<SlackUsersClient['users']['info']>>['user'];

/** A Slack workspace of these users (by id); anyone else has no profile. */
function workspace(users: Record<string, SlackUser>) {
  const asked: string[] = [];
  const client: SlackUsersClient = {
    users: {
      async info({ user }) {
        asked.push(user);
        return { user: users[user] };
      },
    },
  };
  return { client, asked };
}

const person = (email: string | undefined): SlackUser => ({ profile: email === undefined ? {} : { email } });
const user = (userId: string) => ({ teamId: 'T1', userId });

function gatewayUsers(template: string, users: Record<string, SlackUser>, clusterUserTemplate = 'oidc:{email}') {
  const slack = workspace(users);
  const identities = createIdentityMapper({ clusterUserTemplate, clusterUserGroups: ['system:authenticated'] }, slack.client);
  return { userOf: gatewayUserOf(identities, template), asked: slack.asked };
}

describe("a Slack user's MCP Context Forge identity", () => {
  it('is the Slack profile email with {email}, its domain folded to lower case', async () => {
    const { userOf, asked } = gatewayUsers('{email}', { U1: person('  Ada.Lovelace@Example.COM ') });
    expect(await userOf(user('U1'))).toBe('Ada.Lovelace@example.com');
    expect(asked).toEqual(['U1']);
  });

  it('follows the template to another domain ({local}@corp.example.com) or a fixed suffix', async () => {
    const users = { U1: person('ada@example.com'), U2: person('grace.hopper@navy.example.org') };
    const corp = gatewayUsers('{local}@corp.example.com', users);
    expect(await corp.userOf(user('U1'))).toBe('ada@corp.example.com');
    expect(await corp.userOf(user('U2'))).toBe('grace.hopper@corp.example.com');
    const tagged = gatewayUsers('{local}+mcf@{domain}', users);
    expect(await tagged.userOf(user('U2'))).toBe('grace.hopper+mcf@navy.example.org');
  });

  it('does not depend on the cluster template, even one that cannot map the email', async () => {
    const { userOf } = gatewayUsers('{email}', { U1: person('ada@example.com') }, 'oidc:{local}:{domain} with spaces');
    expect(await userOf(user('U1'))).toBe('ada@example.com');
  });

  it('is undefined when Slack shows no email (no users:read.email, a bot, a deleted user, nobody)', async () => {
    const { userOf } = gatewayUsers('{email}', {
      UNOMAIL: person(undefined),
      UEMPTY: person(''),
      UBOT: { is_bot: true, profile: { email: 'bot@example.com' } },
      UGONE: { deleted: true, profile: { email: 'gone@example.com' } },
    });
    for (const id of ['UNOMAIL', 'UEMPTY', 'UBOT', 'UGONE', 'UNKNOWN']) expect(await userOf(user(id))).toBeUndefined();
  });

  it('is undefined when the template yields something that is no email', async () => {
    const users = { U1: person('ada@example.com') };
    for (const template of ['{local}', 'oidc:{email}', '{email} extra', '{local}@', '{domain}', '{nickname}@example.com', '']) {
      expect(await gatewayUsers(template, users).userOf(user('U1'))).toBeUndefined();
    }
  });

  it('is undefined when the Slack email itself is no usable email', async () => {
    const { userOf } = gatewayUsers('{email}', { U1: person('odd"name"@example.com'), U2: person('not-an-email') });
    expect(await userOf(user('U1'))).toBeUndefined();
    expect(await userOf(user('U2'))).toBeUndefined();
  });
});
