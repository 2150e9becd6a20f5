/**
 * The user's credential behind MCP Context Forge: a JWT naming them, signed for each operation.
 * Nothing is stored and nothing is refreshed here: MCF holds the user's Atlassian tokens, so a
 * rejection can only be cured there (authorizing again) or by an admin.
 */
import { errors } from '../../errors.ts';
import type { SlackUserRef } from '../../publishing/model.ts';
import type { AtlassianCredentials } from '../credentials.ts';
import type { ContextForgeTokens } from './tokens.ts';

/** The user's MCF identity (their Slack profile email through CONTEXTFORGE_USER_TEMPLATE); undefined when Slack shows none. */
export type GatewayUserOf = (user: SlackUserRef) => Promise<string | undefined>;

export function createContextForgeCredentials(options: { tokens: ContextForgeTokens; userOf: GatewayUserOf }): AtlassianCredentials {
  return {
    async current(user) {
      const email = await options.userOf(user);
      if (email === undefined) throw errors.gatewayNoEmail();
      return { accessToken: await options.tokens.mint(email, 'server') };
    },
  };
}
