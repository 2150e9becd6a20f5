/**
 * Pure mapping from a Slack profile email to the Kubernetes user name a SubjectAccessReview checks,
 * through an operator-chosen template (CLUSTER_USER_TEMPLATE): `{email}`, `{local}` and `{domain}`.
 */

/**
 * Unquoted RFC 5322 local part (atext and dots) at a DNS-ish domain. Deliberately narrow: nothing a
 * template could turn into a different kind of principal (no `:`, no spaces, no control characters).
 */
const EMAIL =
  /^([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/;

/** `alice@Example.COM` → `{email: 'alice@example.com', local: 'alice', domain: 'example.com'}`; else undefined. */
export function parseEmail(value: string | undefined): { email: string; local: string; domain: string } | undefined {
  const text = value?.trim();
  if (!text || text.length > 254) return undefined;
  const match = EMAIL.exec(text);
  if (!match) return undefined;
  const local = match[1]!;
  // Domains are case-insensitive; local parts are not (by the RFC), so only the domain is folded.
  const domain = match[2]!.toLowerCase();
  return { email: `${local}@${domain}`, local, domain };
}

/**
 * Renders the template over an email: `oidc:{local}` + `alice@example.com` → `oidc:alice`.
 * Undefined when the email is unusable or the template yields nothing usable.
 */
export function clusterUserFor(template: string, email: string | undefined): string | undefined {
  const parts = parseEmail(email);
  if (!parts) return undefined;
  const user = template.replace(/\{(email|local|domain)\}/g, (_, name: 'email' | 'local' | 'domain') => parts[name]).trim();
  const unprintable = [...user].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  if (user === '' || unprintable || /\s/.test(user) || /\{[a-z]+\}/.test(user)) return undefined;
  return user;
}
