/**
 * Is the Atlassian account MCP Context Forge holds for a user their own? A Connect link forwarded
 * unopened lets a colleague authorize *her* account under the sender's MCF identity, and the sender
 * would then publish as her. As without a gateway (link-identity.ts), the account's email must be the
 * Slack profile email (ATLASSIAN_LINK_EMAIL_MATCH=required). MCF cannot be told to drop a token, so a
 * refused account is remembered here and publishing asks the user to connect again until a check
 * finds their own account.
 *
 * While a user is linking, the account MCF held before they finished says nothing about what they
 * signed in with: only a change of account is a verdict. So `begin` (before the browser leaves for
 * Atlassian) notes what MCF holds, and a foreign account that stays the same is "not yet".
 */
import type { Logger } from 'pino';
import type { GatewayAccessCheck } from '../atlassian/jira-gateway.ts';
import { errors, type VteamError } from '../errors.ts';
import { sessionKey, type SlackUserRef } from '../publishing/model.ts';
import type { KeyValueStore } from '../storage/types.ts';
import type { GatewayAccess } from './gateway-link-watch.ts';
import { compareEmails } from './link-identity.ts';

export interface GatewayAccountsOptions {
  policy: 'required' | 'off';
  /** A read call as the user naming their Atlassian account (atlassianUserInfo). */
  checkAccess(user: SlackUserRef, options: { account: true }): Promise<GatewayAccessCheck>;
  slackEmailOf(user: SlackUserRef): Promise<string | undefined>;
  store: KeyValueStore;
  logger?: Logger | undefined;
}

export interface GatewayAccounts {
  /** A user is about to sign in: notes what MCF holds now (if that cannot be read, the next answer will do). */
  begin(user: SlackUserRef): Promise<void>;
  /** For the watch: `authorized` only for the user's own account; throws ACCOUNT_NOT_OWN when they signed in with another. */
  check(user: SlackUserRef): Promise<GatewayAccess>;
  /** Why publishing must wait for a new link: the last check found someone else's account (or none it could verify). */
  refusal(user: SlackUserRef): Promise<VteamError | undefined>;
}

const REFUSED_TTL_MS = 30 * 24 * 60 * 60_000;
const refusedKey = (user: SlackUserRef) => `contextforge:refused-account:${sessionKey(user)}`;

export function createGatewayAccounts(options: GatewayAccountsOptions): GatewayAccounts {
  const { store, logger } = options;
  /** Per user linking now: 'none' or the account email last seen (undefined: not known yet). */
  const baselines = new Map<string, string | undefined>();
  const seenOf = (access: GatewayAccessCheck) =>
    access.state === 'unauthorized' ? 'none' : (access.accountEmail?.trim().toLowerCase() ?? 'unknown');

  /** Remembered before anything else happens: until a check finds their own account, nobody publishes with this one. */
  async function remember(user: SlackUserRef, signedInAs: string | undefined): Promise<void> {
    await store.set(refusedKey(user), { signedInAs: signedInAs ?? null, at: Date.now() }, REFUSED_TTL_MS);
    logger?.warn(
      { userId: user.userId, signedInAs: signedInAs ?? 'unknown' },
      "The Atlassian account MCP Context Forge holds for the user is not the Slack user's own (or could not be checked); publishing refused until they connect again",
    );
  }

  return {
    async begin(user) {
      const key = sessionKey(user);
      baselines.set(key, undefined);
      if (options.policy === 'off') return;
      try {
        const seen = seenOf(await options.checkAccess(user, { account: true }));
        if (baselines.has(key) && baselines.get(key) === undefined) baselines.set(key, seen);
      } catch (error) {
        logger?.debug({ userId: user.userId, err: error }, 'could not read what MCP Context Forge holds before the sign-in');
      }
    },

    async check(user) {
      const key = sessionKey(user);
      if (options.policy === 'off') return (await options.checkAccess(user, { account: true })).state;
      const [access, slackEmail] = await Promise.all([options.checkAccess(user, { account: true }), options.slackEmailOf(user)]);
      const seen = seenOf(access);
      const baseline = baselines.get(key);
      baselines.set(key, seen);
      if (access.state === 'unauthorized') return 'unauthorized';
      const verdict = compareEmails(slackEmail, access.accountEmail);
      if (verdict.kind === 'same') {
        baselines.delete(key);
        await store.delete(refusedKey(user));
        return 'authorized';
      }
      const signedInAs = verdict.kind === 'other_account' ? verdict.signedInAs : undefined;
      await remember(user, signedInAs);
      // Someone else's account, held since before this sign-in (the first answer, or unchanged): not yet.
      if (baseline === undefined || baseline === seen) return 'unauthorized';
      baselines.delete(key);
      throw errors.accountNotOwn(signedInAs);
    },

    async refusal(user) {
      if (options.policy === 'off') return undefined;
      const record = await store.get<{ signedInAs?: unknown }>(refusedKey(user));
      if (record === undefined) return undefined;
      return errors.accountNotOwn(typeof record.signedInAs === 'string' ? record.signedInAs : undefined);
    },
  };
}
