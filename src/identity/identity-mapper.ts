/**
 * Slack user → cluster identity: the user's profile email (users.info; needs users:read and
 * users:read.email) rendered through CLUSTER_USER_TEMPLATE, plus CLUSTER_USER_GROUPS. Only the email
 * lookup is cached, briefly; whether that identity may act is asked of the cluster every time.
 */
import type { Logger } from 'pino';
import type { SlackUserRef } from '../publishing/model.ts';
import type { ClusterIdentity } from '../vteam/access-review.ts';
import { createTtlCache } from '../vteam/ttl-cache.ts';
import { clusterUserFor, parseEmail } from './cluster-user.ts';

export type IdentityResult =
  | { kind: 'mapped'; identity: ClusterIdentity; email: string }
  /** Slack gave no email: a bot, a guest without one, or the app lacks users:read.email. */
  | { kind: 'no-email' }
  /** An email the template cannot turn into a cluster user. */
  | { kind: 'unmappable'; email: string };

export interface IdentityMapper {
  resolve(user: SlackUserRef): Promise<IdentityResult>;
}

export interface IdentityOptions {
  clusterUserTemplate: string;
  clusterUserGroups: string[];
}

/** The part of the Web API client used here (a Bolt `app.client` fits). */
export interface SlackUsersClient {
  users: {
    info(args: { user: string }): Promise<{ user?: { deleted?: boolean; is_bot?: boolean; profile?: { email?: string } } }>;
  };
}

export function createIdentityMapper(
  options: IdentityOptions,
  client: SlackUsersClient,
  extra: { logger?: Logger; cacheTtlMs?: number; now?: () => number } = {},
): IdentityMapper {
  const emails = createTtlCache<string | undefined>(extra.cacheTtlMs ?? 60_000, extra.now);
  const groups = [...options.clusterUserGroups];

  const emailOf = (user: SlackUserRef) =>
    emails.get(`${user.enterpriseId ?? ''}/${user.teamId}/${user.userId}`, async () => {
      let answer: Awaited<ReturnType<SlackUsersClient['users']['info']>>;
      try {
        answer = await client.users.info({ user: user.userId });
      } catch (error) {
        // Slack refused (scope not granted, unknown user): as good as no email. Outages still throw.
        const refusal = platformError(error);
        if (!refusal) throw error;
        extra.logger?.warn({ user: user.userId, slackError: refusal }, 'users.info refused; is the users:read scope granted?');
        return undefined;
      }
      const profile = answer.user;
      if (!profile || profile.deleted || profile.is_bot) return undefined;
      return profile.profile?.email;
    });

  return {
    async resolve(user) {
      const raw = await emailOf(user);
      if (!raw) {
        extra.logger?.info({ user: user.userId }, 'Slack returned no profile email (is users:read.email granted?)');
        return { kind: 'no-email' };
      }
      const email = parseEmail(raw)?.email ?? raw.trim();
      const clusterUser = clusterUserFor(options.clusterUserTemplate, raw);
      if (!clusterUser) return { kind: 'unmappable', email };
      return { kind: 'mapped', identity: { user: clusterUser, groups: [...groups] }, email };
    },
  };
}

/** The `error` of a Slack `{ok:false}` answer (@slack/web-api's platform error), else undefined. */
function platformError(error: unknown): string | undefined {
  const e = error as { code?: unknown; data?: { error?: unknown } } | null;
  return e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string' ? e.data.error : undefined;
}
