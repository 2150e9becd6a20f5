/**
 * Behind MCP Context Forge the bot cannot refuse to store an account (MCF stores it), so it refuses to
 * publish with one that is not the user's own: the account's email must be the Slack profile email.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayAccessCheck } from '../../src/atlassian/jira-gateway.ts';
import { isVteamError } from '../../src/errors.ts';
import { createGatewayAccounts, type GatewayAccounts } from '../../src/oauth/gateway-account.ts';
import type { SlackUserRef } from '../../src/publishing/model.ts';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';

const dave: SlackUserRef = { teamId: 'T1', userId: 'U4' };
const DAVE_EMAIL = 'dave@example.com';

let store: KeyValueStore;
/** What MCF answers next to a read call as Dave (the last answer repeats). */
let answers: (GatewayAccessCheck | Error)[];
let checks: number;

beforeEach(async () => {
  store = await createStore('sqlite::memory:');
  answers = [];
  checks = 0;
});
afterEach(async () => {
  await store.close();
});

const unauthorized: GatewayAccessCheck = { state: 'unauthorized' };
const holding = (accountEmail: string | undefined): GatewayAccessCheck => ({ state: 'authorized', sites: undefined, accountEmail });

function accounts(policy: 'required' | 'off' = 'required'): GatewayAccounts {
  return createGatewayAccounts({
    policy,
    async checkAccess(_user, options) {
      expect(options).toEqual({ account: true });
      checks += 1;
      const next = answers.length > 1 ? answers.shift()! : answers[0]!;
      if (next instanceof Error) throw next;
      return next;
    },
    slackEmailOf: async () => 'Dave@Example.com',
    store,
  });
}

async function refusalOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isVteamError(error, 'ACCOUNT_NOT_OWN')) throw new Error(`expected ACCOUNT_NOT_OWN, got ${String(error)}`);
  return error;
}

describe('the account MCF holds for a user', () => {
  it('is taken when it has the Slack email (case aside), and a refusal remembered earlier is cleared', async () => {
    const guard = accounts();
    answers = [unauthorized, holding('grace@example.com')];
    await guard.begin(dave);
    await refusalOf(guard.check(dave));
    expect(await guard.refusal(dave)).toBeDefined();

    answers = [holding(DAVE_EMAIL.toUpperCase())];
    await guard.begin(dave);
    expect(await guard.check(dave)).toBe('authorized');
    expect(await guard.refusal(dave)).toBeUndefined();
  });

  it("someone else's account signed in under the user's identity is refused at once, naming it masked, and publishing stays refused", async () => {
    const guard = accounts();
    answers = [unauthorized, unauthorized, holding('grace@example.com')];
    await guard.begin(dave);
    expect(await guard.check(dave)).toBe('unauthorized'); // not signed in yet
    const refusal = await refusalOf(guard.check(dave));
    expect(refusal.userMessage).toContain('`g***@example.com`');
    expect(refusal.userMessage).not.toContain('grace@');
    expect((await guard.refusal(dave))?.userMessage).toBe(refusal.userMessage);
    // Another instance (replica) sees the refusal too: it is in the shared store.
    expect(await accounts().refusal(dave)).toBeDefined();
  });

  it('a foreign account held from before the sign-in is not a verdict on it: wait for a change, but never publish with it meanwhile', async () => {
    const guard = accounts();
    answers = [holding('grace@example.com'), holding('grace@example.com'), holding(DAVE_EMAIL)];
    await guard.begin(dave);
    expect(await guard.check(dave)).toBe('unauthorized');
    expect(await guard.refusal(dave)).toBeDefined();
    expect(await guard.check(dave)).toBe('authorized');
    expect(await guard.refusal(dave)).toBeUndefined();
  });

  it('an account whose email cannot be read is refused too (required), with the sentence that says so', async () => {
    const guard = accounts();
    answers = [unauthorized, holding(undefined)];
    await guard.begin(dave);
    const refusal = await refusalOf(guard.check(dave));
    expect(refusal.userMessage).toMatch(/could not check/);
  });

  it('when what MCF held before cannot be read, the first answer stands in for it', async () => {
    const guard = accounts();
    answers = [new Error('MCF down'), holding('grace@example.com'), holding('grace@example.com'), holding('eve@example.com')];
    await guard.begin(dave);
    expect(await guard.check(dave)).toBe('unauthorized');
    expect(await guard.check(dave)).toBe('unauthorized');
    await refusalOf(guard.check(dave));
  });

  it('ATLASSIAN_LINK_EMAIL_MATCH=off takes any account and never refuses', async () => {
    const guard = accounts('off');
    answers = [holding('grace@example.com')];
    await guard.begin(dave);
    expect(checks).toBe(0); // nothing to note
    expect(await guard.check(dave)).toBe('authorized');
    expect(await guard.refusal(dave)).toBeUndefined();
  });
});
