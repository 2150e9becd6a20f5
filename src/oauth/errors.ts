/**
 * Failures of the OAuth machinery, by kind, so callers decide without parsing messages. Messages
 * never quote tokens, codes, verifiers, secrets or state values; the server's OAuth error code
 * (e.g. `invalid_grant`) is kept because operators need it and it is not secret.
 */
import { ResponseBodyError } from 'openid-client';
import type { SlackUserRef } from '../publishing/model.ts';

export type OAuthFailureKind =
  /** The refresh token or code is dead (used, expired, revoked): the user must reconnect. */
  | 'invalid_grant'
  /** The server no longer knows our client (registration dropped): register again. */
  | 'invalid_client'
  /** The server refused for another reason (bad request, unsupported scope, …). */
  | 'rejected'
  /** Network failure, timeout or 5xx: try again later. */
  | 'unavailable'
  /** The server's metadata or answers do not allow the flow (no registration endpoint, no PKCE, …). */
  | 'misconfigured';

export class OAuthError extends Error {
  readonly kind: OAuthFailureKind;
  /** The OAuth `error` code the server answered with, when it did. */
  readonly oauthError: string | undefined;
  readonly status: number | undefined;

  constructor(kind: OAuthFailureKind, message: string, options: { cause?: unknown; oauthError?: string; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.kind = kind;
    this.oauthError = options.oauthError;
    this.status = options.status;
  }
}

/** Maps whatever openid-client or fetch threw into an OAuthError, keeping the original as cause. */
export function toOAuthError(error: unknown, operation: string): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof ResponseBodyError) {
    const code = error.error;
    const kind: OAuthFailureKind =
      code === 'invalid_grant'
        ? 'invalid_grant'
        : code === 'invalid_client' || code === 'unauthorized_client'
          ? 'invalid_client'
          : error.status >= 500 || code === 'server_error' || code === 'temporarily_unavailable'
            ? 'unavailable'
            : 'rejected';
    return new OAuthError(kind, `${operation} failed: the authorization server answered ${error.status} ${code}`, {
      cause: error,
      oauthError: code,
      status: error.status,
    });
  }
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof Response) {
    const kind = cause.status >= 500 || cause.status === 429 ? 'unavailable' : 'rejected';
    return new OAuthError(kind, `${operation} failed: the authorization server answered HTTP ${cause.status}`, {
      cause: error,
      status: cause.status,
    });
  }
  const name = (error as { name?: unknown } | undefined)?.name;
  if (error instanceof TypeError || name === 'AbortError' || name === 'TimeoutError') {
    return new OAuthError('unavailable', `${operation} failed: the authorization server could not be reached`, { cause: error });
  }
  return new OAuthError('rejected', `${operation} failed: ${(error as Error | undefined)?.message ?? String(error)}`, { cause: error });
}

/** Why a callback did not produce a link; each one gets its own friendly page. */
export type LinkFailureKind =
  /** No state or sign-in link id, or one we never issued (forged, or from another deployment). */
  | 'unknown_state'
  /** A state or sign-in link we issued, but its lifetime is over. */
  | 'expired_state'
  /** A state that was already used (a replayed or double-submitted callback), or a sign-in link opened twice. */
  | 'used_state'
  /** The callback came from a browser without the cookie of the one that opened the sign-in link. */
  | 'other_browser'
  /** The callback names a different authorization server than the one the state was issued for. */
  | 'mismatched_issuer'
  /** The user pressed "Deny" (or cancelled) on the consent screen. */
  | 'denied'
  /** The authorization server reported another error (`error=` other than access_denied). */
  | 'authorization_error'
  /** A callback without `code` or `error`. */
  | 'missing_code'
  /** Exchanging the code for tokens failed. */
  | 'exchange_failed'
  /**
   * The Atlassian account signed in is not the Slack user's own: its email differs from their Slack
   * profile email (a Connect link opened by someone else). Nothing is stored.
   */
  | 'other_account'
  /** Either email could not be read, so the account could not be checked against the Slack user; nothing is stored. */
  | 'unverified_account'
  /** Starting a link failed: the authorization server cannot be discovered or registered with. */
  | 'unavailable'
  /** MCP Context Forge refused to start the sign-in for this user (not provisioned, no access, bot misconfigured). */
  | 'gateway_refused'
  /** MCP Context Forge already holds a working Atlassian authorization for this user. */
  | 'already_linked';

export class LinkError extends Error {
  readonly kind: LinkFailureKind;
  /** The Slack user the state was issued to, when the state could be read. */
  readonly user: SlackUserRef | undefined;
  /** The opaque context given to startLink, when the state could be read. */
  readonly context: unknown;
  /** For `authorization_error`: the server's OAuth error code. */
  readonly oauthError: string | undefined;
  /** For `other_account`: the masked email of the Atlassian account signed in (`g***@example.com`). */
  readonly signedInAs: string | undefined;
  /** For `gateway_refused`: the one sentence saying what to do (a VteamError's userMessage). */
  readonly advice: string | undefined;

  constructor(
    kind: LinkFailureKind,
    message: string,
    options: { user?: SlackUserRef; context?: unknown; oauthError?: string; signedInAs?: string; advice?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LinkError';
    this.kind = kind;
    this.user = options.user;
    this.context = options.context;
    this.oauthError = options.oauthError;
    this.signedInAs = options.signedInAs;
    this.advice = options.advice;
  }
}

export function isLinkError(error: unknown, kind?: LinkFailureKind): error is LinkError {
  return error instanceof LinkError && (kind === undefined || error.kind === kind);
}

/**
 * One sentence per failure for the callback page (`plain`) or Slack (`mrkdwn`, the default); every
 * one says how to start again. `signedInAs` is the masked email of the account signed in, for
 * `other_account` (its asterisks must not turn into mrkdwn bold, hence the code span there).
 */
export function describeLinkFailure(
  kind: LinkFailureKind,
  options: { signedInAs?: string | undefined; advice?: string | undefined; format?: 'mrkdwn' | 'plain' } = {},
): string {
  const plain = options.format === 'plain';
  const connect = plain ? 'Connect Atlassian account' : '*Connect Atlassian account*';
  const again = `Go back to Slack and press ${connect} again (or run \`/vteam connect\`).`;
  const signedInAs = options.signedInAs === undefined ? '' : plain ? ` (${options.signedInAs})` : ` (\`${options.signedInAs}\`)`;
  switch (kind) {
    case 'expired_state':
      return `This sign-in link has expired. ${again}`;
    case 'used_state':
      return `This sign-in link was already used. ${again}`;
    case 'other_browser':
      return `This sign-in was not started in this browser, so nothing was connected: go back to Slack, press ${connect} again and finish the sign-in in the same browser.`;
    case 'unknown_state':
    case 'mismatched_issuer':
      return `This sign-in link is not valid. ${again}`;
    case 'denied':
      return `Access was not granted, so your Atlassian account is not connected. ${again}`;
    case 'authorization_error':
    case 'missing_code':
      return `Atlassian did not complete the sign-in. ${again}`;
    case 'exchange_failed':
    case 'unavailable':
      return `We could not reach Atlassian to finish connecting your account. Please try again in a minute: ${again}`;
    case 'other_account':
      return `The Atlassian account you signed in with${signedInAs} is not the one of the Slack user who asked to connect, so nothing was connected: go back to Slack, press ${connect} again and sign in with your own Atlassian account, the one with the email of your Slack profile.`;
    case 'gateway_refused':
      if (options.advice !== undefined) return plain ? options.advice.replace(/`/g, '') : options.advice;
      return `MCP Context Forge refused to start the sign-in for your account. ${again}`;
    case 'already_linked':
      return 'Your Atlassian account is already connected through MCP Context Forge, so there is nothing to do here: you can close this page and go back to Slack.';
    case 'unverified_account':
      return `We could not verify that this Atlassian account belongs to the Slack user who asked to connect, so nothing was connected: press ${connect} in Slack to try again, and if it keeps failing ask your administrator to check that the bot may read email addresses (Slack scope users:read.email, Atlassian scope read:me) or to set ATLASSIAN_LINK_EMAIL_MATCH=off.`;
  }
}
