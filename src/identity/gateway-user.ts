/**
 * A Slack user's identity at an MCP gateway (MCP Context Forge): their Slack profile email through
 * CONTEXTFORGE_USER_TEMPLATE, the same rule (and the same lookup) as their cluster identity.
 */
import type { SlackUserRef } from '../publishing/model.ts';
import { clusterUserFor, parseEmail } from './cluster-user.ts';
import type { IdentityMapper } from './identity-mapper.ts';

export function gatewayUserOf(identities: IdentityMapper, template: string): (user: SlackUserRef) => Promise<string | undefined> {
  return async (user) => {
    const found = await identities.resolve(user);
    if (found.kind === 'no-email') return undefined;
    // Only an email is an MCF user; a template yielding anything else names nobody.
    return parseEmail(clusterUserFor(template, found.email))?.email;
  };
}
