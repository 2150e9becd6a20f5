/**
 * The single-use sign-in link a Connect click mints (`<PUBLIC_URL>/oauth/start?flow=…`), bound to
 * the Slack user. Slack only ever holds this link, never an authorization URL: the URL is minted when
 * a browser opens the link, and the link is spent at that moment, atomically, so a second browser
 * (a forwarded copy, a reload) gets nothing. Both ways of linking (our own OAuth client, or MCP
 * Context Forge's) start here.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SlackUserRef } from '../publishing/model.ts';
import type { KeyValueStore } from '../storage/types.ts';
import { LinkError } from './errors.ts';
import { signInKey, signInSchema, type SignInLink } from './link-records.ts';

export interface StartedLink {
  /** The bot's `/oauth/start?flow=…` URL the user opens; it works once. */
  signInUrl: string;
  /** Epoch ms after which the URL no longer opens. */
  expiresAt: number;
}

export interface SignInLinksOptions {
  store: KeyValueStore;
  /** The bot's OAuth callback URL; the sign-in link lives beside it. */
  redirectUri: string;
  ttlMs: number;
  graceMs: number;
  logger?: Logger | undefined;
  now: () => number;
}

export interface SignInLinks {
  issue(user: SlackUserRef, context: { resumePublish?: unknown }): Promise<StartedLink>;
  /**
   * Opens a link: `prepare` runs first (so a failure there leaves the link usable for a retry), then
   * the link is spent. Throws LinkError (unknown, used, expired, or whatever `prepare` throws).
   */
  open<T>(
    flowId: string | null,
    prepare: (user: SlackUserRef, context: unknown) => Promise<T>,
  ): Promise<{ user: SlackUserRef; context: unknown; prepared: T; signIn: SignInLink }>;
}

export const who = (user: SlackUserRef) => ({ teamId: user.teamId, enterpriseId: user.enterpriseId, userId: user.userId });

export function createSignInLinks(options: SignInLinksOptions): SignInLinks {
  const { store, logger, now } = options;
  const base = new URL('start', options.redirectUri);

  return {
    async issue(user, context) {
      const flowId = randomBytes(32).toString('base64url');
      const createdAt = now();
      const record: SignInLink = {
        user: { teamId: user.teamId, ...(user.enterpriseId ? { enterpriseId: user.enterpriseId } : {}), userId: user.userId },
        createdAt,
        expiresAt: createdAt + options.ttlMs,
        ...(context === undefined ? {} : { context }),
      };
      await store.set(signInKey(flowId), record, options.ttlMs + options.graceMs);
      logger?.info(who(user), 'Started linking an Atlassian account');
      const url = new URL(base);
      url.searchParams.set('flow', flowId);
      return { signInUrl: url.href, expiresAt: record.expiresAt };
    },

    async open(flowId, prepare) {
      if (!flowId) throw new LinkError('unknown_state', 'The sign-in link carries no id');
      const key = signInKey(flowId);
      const raw = await store.get<unknown>(key);
      const parsed = raw === undefined ? undefined : signInSchema.safeParse(raw);
      if (parsed === undefined || !parsed.success) {
        logger?.warn('Sign-in link opened with an id never issued here (forged, or from another deployment)');
        throw new LinkError('unknown_state', 'The sign-in link was never issued here');
      }
      const signIn = parsed.data;
      const user: SlackUserRef = signIn.user;
      const context = signIn.context;
      if (signIn.openedAt !== undefined) {
        logger?.warn(who(user), 'Sign-in link opened again (a reload, or another browser); refused');
        throw new LinkError('used_state', 'The sign-in link was already opened', { user, context });
      }
      if (now() > signIn.expiresAt) {
        logger?.info(who(user), 'Sign-in link opened after it expired');
        throw new LinkError('expired_state', 'The sign-in link has expired', { user, context });
      }
      const prepared = await prepare(user, context);
      // Once, atomically: of two browsers opening the same link, only one gets a flow.
      if (!(await store.compareAndSwap(key, raw, { ...signIn, openedAt: now() }, options.graceMs))) {
        logger?.warn(who(user), 'Sign-in link opened twice at once; the other browser got it');
        throw new LinkError('used_state', 'The sign-in link was already opened', { user, context });
      }
      return { user, context, prepared, signIn };
    },
  };
}
