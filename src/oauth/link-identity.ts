/**
 * Is the Atlassian account just signed in the Slack user's own? Binding the sign-in to a browser
 * stops a link forwarded after it was opened, but not a Connect link forwarded *unopened*: the
 * colleague's browser then gets the cookie, she signs in as herself, and the sender would publish
 * as her. So at link time the Atlassian account's email must be the Slack profile email of the user
 * who asked to connect (compared trimmed and case-insensitively).
 *
 * Fail closed: under `required`, an email that cannot be read on either side refuses the link too.
 * An unknown email proves nothing, and letting it through would turn every lookup failure into a
 * way around the check. The price is a retry after a passing outage, or `off` for organisations
 * whose Slack and Atlassian emails differ, or whose MCP server has no `atlassianUserInfo`.
 */
import type { SlackUserRef } from '../publishing/model.ts';

/** ATLASSIAN_LINK_EMAIL_MATCH, with what `required` needs to read both emails. */
export type LinkIdentityCheck =
  | { policy: 'off' }
  | {
      policy: 'required';
      /** The Slack profile email (users.info, needs users:read.email); undefined when Slack shows none. */
      slackEmailOf(user: SlackUserRef): Promise<string | undefined>;
      /**
       * Classic 3LO: the account's email from Atlassian's `/me` (scope read:me). Without it, the
       * email the site lookup read with the sites (MCP `atlassianUserInfo`) is used.
       */
      atlassianEmailOf?: ((accessToken: string) => Promise<string | undefined>) | undefined;
    };

export type IdentityVerdict =
  | { kind: 'same' }
  /** Both emails known and different; both masked, for the page and the log. */
  | { kind: 'other_account'; signedInAs: string; slackEmail: string }
  /** One side (or both) unknown; `reasons` say why, for the log (no emails, no tokens). */
  | { kind: 'unverified'; slackEmail: 'known' | 'unknown'; atlassianEmail: 'known' | 'unknown'; reasons: string[] };

export interface PendingIdentityCheck {
  /** Compares once the site lookup is done; `fromSiteLookup` is the email it read, if any. */
  verdict(fromSiteLookup: string | undefined): Promise<IdentityVerdict>;
}

/**
 * Starts reading both emails at once (beside the site lookup, not after it); undefined when the
 * policy is `off`. Never throws: a failed read is an unknown email.
 */
export function beginIdentityCheck(check: LinkIdentityCheck, user: SlackUserRef, accessToken: string): PendingIdentityCheck | undefined {
  if (check.policy === 'off') return undefined;
  const slack = settle(
    () => check.slackEmailOf(user),
    'the Slack profile email',
    'Slack shows no profile email (is users:read.email granted?)',
  );
  const { atlassianEmailOf } = check;
  const atlassian =
    atlassianEmailOf === undefined
      ? undefined
      : settle(
          () => atlassianEmailOf(accessToken),
          'the Atlassian account email (/me)',
          'Atlassian /me gave no email (is read:me granted?)',
        );
  return {
    async verdict(fromSiteLookup) {
      const slackRead = await slack;
      const atlassianRead =
        atlassian !== undefined
          ? await atlassian
          : fromSiteLookup !== undefined
            ? { email: fromSiteLookup }
            : { email: undefined, reason: 'the site lookup gave no account email (atlassianUserInfo unavailable?)' };
      const verdict = compareEmails(slackRead.email, atlassianRead.email);
      if (verdict.kind !== 'unverified') return verdict;
      const reasons = [slackRead.reason, atlassianRead.reason].filter((reason) => reason !== undefined);
      return { ...verdict, reasons: [...reasons, ...verdict.reasons] };
    },
  };
}

/** Pure comparison; `unverified` when either side is missing or not one address. */
export function compareEmails(slackEmail: string | undefined, atlassianEmail: string | undefined): IdentityVerdict {
  const slack = normalizeEmail(slackEmail);
  const atlassian = normalizeEmail(atlassianEmail);
  if (slack === undefined || atlassian === undefined) {
    const reasons = [
      ...(slack === undefined && slackEmail !== undefined ? ['the Slack profile email is not an email address'] : []),
      ...(atlassian === undefined && atlassianEmail !== undefined ? ['the Atlassian account email is not an email address'] : []),
    ];
    return {
      kind: 'unverified',
      slackEmail: slack === undefined ? 'unknown' : 'known',
      atlassianEmail: atlassian === undefined ? 'unknown' : 'known',
      reasons,
    };
  }
  if (slack === atlassian) return { kind: 'same' };
  return { kind: 'other_account', signedInAs: maskEmail(atlassian), slackEmail: maskEmail(slack) };
}

/** `  Grace@Example.COM ` → `grace@example.com`; undefined for anything that is not one address. */
export function normalizeEmail(value: string | undefined): string | undefined {
  const email = value?.trim().toLowerCase();
  if (!email || email.length > 254 || /\s/.test(email)) return undefined;
  const at = email.lastIndexOf('@');
  return at > 0 && at < email.length - 1 && email.indexOf('@') === at ? email : undefined;
}

/** `grace@example.com` → `g***@example.com`: enough to recognise one's own account, not to learn another's. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/** A read that failed, or found nothing, is an unknown email with a reason for the log. */
async function settle(
  read: () => Promise<string | undefined>,
  what: string,
  whenAbsent: string,
): Promise<{ email: string | undefined; reason?: string }> {
  try {
    const email = await read();
    return email === undefined ? { email, reason: whenAbsent } : { email };
  } catch (error) {
    // The lookups' messages name no token or email; cut anyway, as they end up in a log line.
    return {
      email: undefined,
      reason: `${what} could not be read: ${String((error as Error | undefined)?.message ?? error).slice(0, 160)}`,
    };
  }
}
