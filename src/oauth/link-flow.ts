/**
 * Linking a Slack user's Atlassian account, in three steps, each bound to the one before:
 *  - `startLink` (the Connect click) mints a single-use sign-in link to the bot's `/oauth/start`,
 *    bound to the Slack user. Slack only ever holds this link, never an Atlassian URL.
 *  - `openSignIn` (the browser opens that link) spends it and only then mints the OAuth flow: a
 *    random single-use state (256 bits), a PKCE S256 verifier, the resource, and a browser secret
 *    the route sets as an HttpOnly cookie. The state is thus born bound to one browser; a second
 *    open of the link (another browser, a forwarded copy) gets nothing.
 *  - `completeLink` (the browser's return to `/oauth/callback`) consumes the state atomically (a
 *    replay loses even when racing), requires that browser's secret, exchanges the code, reads the
 *    user's sites, checks the account is the Slack user's own (link-identity.ts) and stores the link —
 *    overwriting any old one. An Atlassian sign-in finished in a browser that did not start it
 *    (someone sent their opened link to a colleague) links nothing; nor does one where the colleague
 *    opened the link herself and signed in as herself (her email is not the Slack user's).
 * Every failure is a LinkError with a kind.
 *
 * The records (link-records.ts) hold no value that would open a link or complete a flow; they
 * outlive their validity by a grace period so a late or replayed request can be told apart from a
 * forged one.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import * as oauth from 'openid-client';
import type { SlackUserRef } from '../publishing/model.ts';
import type { TokenStore } from '../storage/tokens.ts';
import type { AtlassianLink, KeyValueStore } from '../storage/types.ts';
import { LinkError, OAuthError, toOAuthError } from './errors.ts';
import { beginIdentityCheck, type LinkIdentityCheck } from './link-identity.ts';
import { isSameBrowser, pendingSchema, sha256, stateKey, type PendingLink } from './link-records.ts';
import type { AtlassianOAuth } from './oauth-client.ts';
import { createSignInLinks, who, type StartedLink } from './sign-in-links.ts';

export type { StartedLink } from './sign-in-links.ts';

export interface AtlassianSite {
  id: string;
  url: string;
  name: string;
}

/**
 * What the server says the fresh token can reach (the lead calls getAccessibleAtlassianResources),
 * and who it belongs to when the same call can tell (MCP `atlassianUserInfo`).
 */
export type SiteLookup = (
  accessToken: string,
) => Promise<{ sites: AtlassianSite[]; accountName?: string | undefined; accountEmail?: string | undefined }>;

export interface LinkFlowOptions {
  store: KeyValueStore;
  tokens: TokenStore;
  oauth: AtlassianOAuth;
  siteLookup?: SiteLookup;
  /**
   * ATLASSIAN_LINK_EMAIL_MATCH: whether the Atlassian account must have the Slack user's email.
   * Required, so no caller forgets it: `{ policy: 'off' }` is a choice, not a default.
   */
  identityCheck: LinkIdentityCheck;
  logger?: Logger;
  /** How long a sign-in link may be opened, and then how long that browser has to complete it. Default 10 minutes. */
  stateTtlMs?: number;
  /** How long an expired or used state is remembered, to say so instead of "unknown". Default 1 hour. */
  stateGraceMs?: number;
  now?: () => number;
}

/** What `/oauth/start` needs to send the browser on to Atlassian, bound to it. */
export interface OpenedSignIn {
  authorizationUrl: string;
  /** For the browser's cookie only: never logged, only its hash is stored. */
  browserSecret: string;
  /** How long the browser has to come back to the callback. */
  validForMs: number;
}

export interface CompletedLink {
  user: SlackUserRef;
  link: AtlassianLink;
  /** Whatever was given to `startLink` (e.g. the publish to resume). */
  context: unknown;
}

export interface LinkFlow {
  startLink(user: SlackUserRef, context?: { resumePublish?: unknown }): Promise<StartedLink>;
  /** The `flow` id of a sign-in link, opened by a browser. Throws LinkError. */
  openSignIn(flowId: string | null): Promise<OpenedSignIn>;
  /**
   * The callback URL as received (or just its query), and the browser secret from the cookie of
   * the browser that brought it (undefined without one). Throws LinkError.
   */
  completeLink(callback: URL | URLSearchParams, browserSecret: string | undefined): Promise<CompletedLink>;
}

const DEFAULT_STATE_TTL_MS = 10 * 60 * 1000;
const DEFAULT_STATE_GRACE_MS = 60 * 60 * 1000;

export function createLinkFlow(options: LinkFlowOptions): LinkFlow {
  const { store, tokens, logger } = options;
  const now = options.now ?? Date.now;
  const stateTtlMs = options.stateTtlMs ?? DEFAULT_STATE_TTL_MS;
  const graceMs = options.stateGraceMs ?? DEFAULT_STATE_GRACE_MS;
  // Beside the callback, wherever PUBLIC_URL puts it: `<PUBLIC_URL>/oauth/start`.
  const signIns = createSignInLinks({ store, redirectUri: options.oauth.redirectUri, ttlMs: stateTtlMs, graceMs, logger, now });

  async function startLink(user: SlackUserRef, context: { resumePublish?: unknown } = {}): Promise<StartedLink> {
    return signIns.issue(user, context);
  }

  async function openSignIn(flowId: string | null): Promise<OpenedSignIn> {
    // Prepared before the link is spent: an Atlassian outage leaves the link usable for a retry.
    const { user, context, prepared, signIn } = await signIns.open(flowId, async (user, context) => {
      const state = oauth.randomState();
      const verifier = oauth.randomPKCECodeVerifier();
      try {
        const request = await options.oauth.authorizationRequest({
          state,
          codeChallenge: await oauth.calculatePKCECodeChallenge(verifier),
        });
        return { state, verifier, request };
      } catch (error) {
        const failure = toOAuthError(error, 'Starting the Atlassian sign-in');
        logger?.warn({ ...who(user), kind: failure.kind, reason: failure.message }, 'Could not start linking an Atlassian account');
        throw new LinkError('unavailable', failure.message, { user, context, cause: failure });
      }
    });
    const { state, verifier, request } = prepared;
    const browserSecret = randomBytes(32).toString('base64url');
    const createdAt = now();
    const record: PendingLink = {
      user: signIn.user,
      browserHash: sha256(browserSecret),
      verifier,
      issuer: request.issuer,
      clientId: request.clientId,
      ...(request.resource === undefined ? {} : { resource: request.resource }),
      createdAt,
      expiresAt: createdAt + stateTtlMs,
      ...(context === undefined ? {} : { context }),
    };
    await store.set(stateKey(state), record, stateTtlMs + graceMs);
    logger?.info({ ...who(user), issuer: request.issuer }, 'Sign-in link opened; sending the browser to the authorization server');
    return { authorizationUrl: request.url.href, browserSecret, validForMs: stateTtlMs };
  }

  async function completeLink(callback: URL | URLSearchParams, browserSecret: string | undefined): Promise<CompletedLink> {
    const params = callback instanceof URL ? callback.searchParams : callback;
    const state = params.get('state');
    if (!state) throw new LinkError('unknown_state', 'The callback carries no state');

    const key = stateKey(state);
    const raw = await store.get<unknown>(key);
    const parsed = raw === undefined ? undefined : pendingSchema.safeParse(raw);
    if (parsed === undefined || !parsed.success) {
      logger?.warn('OAuth callback with an unknown state (forged, or from another deployment)');
      throw new LinkError('unknown_state', 'The callback state was never issued here');
    }
    const record = parsed.data;
    const user: SlackUserRef = record.user;
    const context = record.context;
    if (record.usedAt !== undefined) {
      logger?.warn(who(user), 'OAuth callback replayed a state that was already used');
      throw new LinkError('used_state', 'The callback state was already used', { user, context });
    }
    if (now() > record.expiresAt) {
      logger?.info(who(user), 'OAuth callback arrived after its state expired');
      throw new LinkError('expired_state', 'The callback state has expired', { user, context });
    }
    // Single use, atomically: of two racing callbacks only one swaps the record.
    if (!(await store.compareAndSwap(key, raw, { ...record, usedAt: now() }, graceMs))) {
      logger?.warn(who(user), 'OAuth callback lost a race for its state (replayed)');
      throw new LinkError('used_state', 'The callback state was already used', { user, context });
    }
    // Checked after the state is spent: a callback from the wrong browser burns it for everyone.
    if (!isSameBrowser(browserSecret, record.browserHash)) {
      const cookie = browserSecret === undefined ? 'missing' : 'mismatched';
      logger?.warn(
        { ...who(user), cookie },
        'OAuth callback from a browser that did not start this sign-in (a forwarded link?); nothing linked',
      );
      throw new LinkError('other_browser', 'The callback came from a browser that did not start the sign-in', { user, context });
    }

    const error = params.get('error');
    if (error !== null) {
      if (error === 'access_denied') {
        logger?.info(who(user), 'User declined to link their Atlassian account');
        throw new LinkError('denied', 'The user denied access', { user, context, oauthError: error });
      }
      logger?.warn({ ...who(user), oauthError: error.slice(0, 64) }, 'Authorization server returned an error to the callback');
      throw new LinkError('authorization_error', `The authorization server answered ${error.slice(0, 64)}`, {
        user,
        context,
        oauthError: error,
      });
    }
    if (!params.get('code')) {
      logger?.warn(who(user), 'OAuth callback without a code');
      throw new LinkError('missing_code', 'The callback carries no authorization code', { user, context });
    }
    const iss = params.get('iss');
    if (iss !== null && iss !== record.issuer) {
      logger?.warn(
        { ...who(user), expectedIssuer: record.issuer },
        'OAuth callback names a different authorization server (mix-up attempt?)',
      );
      throw new LinkError('mismatched_issuer', 'The callback names a different authorization server', { user, context });
    }

    let tokenSet;
    try {
      tokenSet = await options.oauth.exchangeCode({
        callbackParams: params,
        state,
        verifier: record.verifier,
        issuer: record.issuer,
        clientId: record.clientId,
        resource: record.resource,
      });
    } catch (error) {
      const failure = error instanceof OAuthError ? error : toOAuthError(error, 'Code exchange');
      logger?.warn(
        { ...who(user), kind: failure.kind, oauthError: failure.oauthError, reason: failure.message },
        'Could not exchange the authorization code',
      );
      throw new LinkError('exchange_failed', failure.message, { user, context, cause: failure });
    }

    // Read beside the site lookup; compared once it is done (MCP reads the email with the sites).
    const identity = beginIdentityCheck(options.identityCheck, user, tokenSet.accessToken);
    let sites: AtlassianSite[] | undefined;
    let accountName: string | undefined;
    let accountEmail: string | undefined;
    if (options.siteLookup !== undefined) {
      try {
        ({ sites, accountName, accountEmail } = await options.siteLookup(tokenSet.accessToken));
      } catch (error) {
        // The tokens are good and the code is spent: sites can be read later. (In MCP mode the
        // account email came with them, so the identity check below will refuse unless it is off.)
        logger?.warn({ ...who(user), reason: (error as Error).message?.slice(0, 200) }, 'Could not read the accessible Atlassian sites');
      }
    }

    // Refused links store nothing. The tokens are not revoked: on servers that revoke the whole
    // grant, that would also end the signed-in person's own link to this bot.
    const verdict = await identity?.verdict(accountEmail);
    if (verdict?.kind === 'other_account') {
      logger?.warn(
        { ...who(user), signedInAs: verdict.signedInAs, slackEmail: verdict.slackEmail },
        "The Atlassian account signed in is not the Slack user's own (its email differs from the Slack profile email: a Connect link opened by someone else?); nothing linked",
      );
      throw new LinkError('other_account', "The Atlassian account signed in is not the Slack user's own", {
        user,
        context,
        signedInAs: verdict.signedInAs,
      });
    }
    if (verdict?.kind === 'unverified') {
      logger?.warn(
        { ...who(user), slackEmail: verdict.slackEmail, atlassianEmail: verdict.atlassianEmail, reasons: verdict.reasons },
        "Could not check the Atlassian account against the Slack user's email, so nothing was linked (ATLASSIAN_LINK_EMAIL_MATCH=required)",
      );
      throw new LinkError('unverified_account', "The Atlassian account could not be checked against the Slack user's email", {
        user,
        context,
      });
    }

    const link: AtlassianLink = {
      accessToken: tokenSet.accessToken,
      refreshToken: tokenSet.refreshToken,
      expiresAt: tokenSet.expiresAt,
      scope: tokenSet.scope,
      sites,
      accountName,
      linkedAt: now(),
    };
    await tokens.put(user, link);
    logger?.info(
      {
        ...who(user),
        sites: sites?.length,
        refreshable: link.refreshToken !== undefined,
        emailMatch: verdict === undefined ? 'off' : 'checked',
      },
      'Linked an Atlassian account',
    );
    return { user, link, context };
  }

  return { startLink, openSignIn, completeLink };
}
