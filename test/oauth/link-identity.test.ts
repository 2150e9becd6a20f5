import { describe, expect, it } from 'vitest';
import { beginIdentityCheck, compareEmails, maskEmail, normalizeEmail } from '../../src/oauth/link-identity.ts';

const ada = { teamId: 'T1', userId: 'U1' };

describe('the link-time identity check', () => {
  it('compares emails trimmed and case-insensitively, and masks the other account', () => {
    expect(compareEmails(' Ada@Example.COM ', 'ada@example.com')).toEqual({ kind: 'same' });
    expect(compareEmails('ada@example.com', 'grace@example.com')).toEqual({
      kind: 'other_account',
      signedInAs: 'g***@example.com',
      slackEmail: 'a***@example.com',
    });
    // A look-alike is another account: no Unicode folding, no plus-address stripping.
    expect(compareEmails('ada@example.com', 'ada+x@example.com').kind).toBe('other_account');
    expect(compareEmails('ada@example.com', 'ada@example.com.evil').kind).toBe('other_account');
  });

  it('is unverified when either email is missing or not one address', () => {
    expect(compareEmails(undefined, 'ada@example.com')).toMatchObject({
      kind: 'unverified',
      slackEmail: 'unknown',
      atlassianEmail: 'known',
    });
    expect(compareEmails('ada@example.com', undefined)).toMatchObject({
      kind: 'unverified',
      slackEmail: 'known',
      atlassianEmail: 'unknown',
    });
    expect(compareEmails('', '')).toMatchObject({ kind: 'unverified', slackEmail: 'unknown', atlassianEmail: 'unknown' });
    for (const odd of ['ada', '@example.com', 'ada@', 'a@b@example.com', 'ada @example.com']) expect(normalizeEmail(odd)).toBeUndefined();
    expect(maskEmail('no-at-sign')).toBe('***');
  });

  it('reads the Slack email of the user who asked, and the /me email when given one; a failed read is unknown with a reason', async () => {
    expect(beginIdentityCheck({ policy: 'off' }, ada, 'token')).toBeUndefined();

    const asked: string[] = [];
    const tokens: string[] = [];
    const check = beginIdentityCheck(
      {
        policy: 'required',
        slackEmailOf: async (user) => {
          asked.push(user.userId);
          return 'ada@example.com';
        },
        atlassianEmailOf: async (token) => {
          tokens.push(token);
          return 'ADA@example.com';
        },
      },
      ada,
      'access-token',
    );
    // The /me email wins over whatever the site lookup read.
    expect(await check!.verdict('grace@example.com')).toEqual({ kind: 'same' });
    expect([asked, tokens]).toEqual([['U1'], ['access-token']]);

    const failing = beginIdentityCheck(
      {
        policy: 'required',
        slackEmailOf: async () => {
          throw new Error('missing_scope');
        },
      },
      ada,
      'access-token',
    );
    expect(await failing!.verdict(undefined)).toEqual({
      kind: 'unverified',
      slackEmail: 'unknown',
      atlassianEmail: 'unknown',
      reasons: [
        'the Slack profile email could not be read: missing_scope',
        'the site lookup gave no account email (atlassianUserInfo unavailable?)',
      ],
    });
  });
});
