/**
 * Who is an administrator for jira-status: a Slack user id listed in ADMIN_SLACK_USERS, or a member of
 * the ADMIN_SLACK_USERGROUP user group. Group membership needs the optional `usergroups:read` scope;
 * without it (or when Slack fails) only the listed ids count, and the problem is logged once.
 */
import type { Logger } from 'pino';
import { z } from 'zod';

/** The one Web API method used, so a Bolt `client` (or a fake) fits. */
export interface UserGroupClient {
  usergroups: { users: { list(args: { usergroup: string; team_id?: string }): Promise<unknown> } };
}

export interface AdminCheckOptions {
  logger?: Logger | undefined;
  /** How long a group's member list is reused. Default 60 s. */
  cacheMs?: number;
  now?: () => number;
}

export type AdminCheck = (userId: string) => Promise<boolean>;

const membersSchema = z.object({ users: z.array(z.string()).default([]) });

export function createAdminCheck(
  admins: { userIds: readonly string[]; userGroupId?: string | undefined },
  client: UserGroupClient | undefined,
  options: AdminCheckOptions = {},
): AdminCheck {
  const listed = new Set(admins.userIds);
  const groupId = admins.userGroupId;
  const cacheMs = options.cacheMs ?? 60_000;
  const now = options.now ?? Date.now;
  let cached: { members: Set<string>; at: number } | undefined;
  let loading: Promise<Set<string>> | undefined;
  let warned = false;

  async function members(group: string, slack: UserGroupClient): Promise<Set<string>> {
    if (cached !== undefined && now() - cached.at < cacheMs) return cached.members;
    if (loading === undefined) {
      // The caller awaits this very promise, so its failure (if load ever failed) is handled there.
      const pending: Promise<Set<string>> = load(group, slack).finally(() => {
        if (loading === pending) loading = undefined;
      });
      loading = pending;
    }
    return loading;
  }

  async function load(group: string, slack: UserGroupClient): Promise<Set<string>> {
    try {
      const answer = membersSchema.parse(await slack.usergroups.users.list({ usergroup: group }));
      cached = { members: new Set(answer.users), at: now() };
      warned = false;
      return cached.members;
    } catch (error) {
      const slackError = (error as { data?: { error?: unknown } }).data?.error;
      if (!warned) {
        warned = true;
        options.logger?.warn(
          { usergroup: group, error: typeof slackError === 'string' ? slackError : (error as Error).message },
          slackError === 'missing_scope'
            ? 'ADMIN_SLACK_USERGROUP is set but the bot lacks the usergroups:read scope; only ADMIN_SLACK_USERS count as administrators'
            : 'Could not read the members of ADMIN_SLACK_USERGROUP; only ADMIN_SLACK_USERS count as administrators for now',
        );
      }
      // Keep a stale list if there is one (else nobody from the group), and do not ask again at once.
      cached = { members: cached?.members ?? new Set<string>(), at: now() };
      return cached.members;
    }
  }

  return async (userId) => {
    if (listed.has(userId)) return true;
    if (groupId === undefined || client === undefined) return false;
    return (await members(groupId, client)).has(userId);
  };
}
