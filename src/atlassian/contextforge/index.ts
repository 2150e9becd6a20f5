/**
 * Everything the bot needs to act as a user through IBM MCP Context Forge, built from its
 * configuration: the per-user JWTs, the credential source the MCP gateway uses, which answers are
 * MCF's own, where users authorize, and the gateway id that authorizing needs.
 */
import type { Logger } from 'pino';
import type { ContextForgeConfig } from '../../config/config.ts';
import type { KeyValueStore } from '../../storage/types.ts';
import type { AtlassianCredentials } from '../credentials.ts';
import type { McpGatewayProfile } from '../gateway-profile.ts';
import type { FetchLike } from '../http.ts';
import { createAuthorizationStarter, type AuthorizationStarter } from './authorize.ts';
import { createContextForgeCredentials, type GatewayUserOf } from './credentials.ts';
import { createGatewayIds, type GatewayIds } from './gateway-ids.ts';
import { contextForgeProfile } from './profile.ts';
import { createContextForgeTokens } from './tokens.ts';

export interface ContextForge {
  credentials: AtlassianCredentials;
  profile: McpGatewayProfile;
  gatewayIds: GatewayIds;
  startAuthorization: AuthorizationStarter;
  userOf: GatewayUserOf;
  teamId: string | undefined;
}

export function createContextForge(
  config: ContextForgeConfig,
  deps: { store: KeyValueStore; userOf: GatewayUserOf; logger?: Logger | undefined; fetch?: FetchLike | undefined },
): ContextForge {
  const tokens = createContextForgeTokens({ ...config.jwt, serverId: config.serverId, teamId: config.teamId });
  const gatewayIds = createGatewayIds(deps.store, config.gatewayId, deps.logger);
  const profile = contextForgeProfile({ teamId: config.teamId, onGatewayId: (id) => gatewayIds.learn(id) });
  return {
    credentials: createContextForgeCredentials({ tokens, userOf: deps.userOf }),
    profile,
    gatewayIds,
    startAuthorization: createAuthorizationStarter({ baseUrl: config.baseUrl, tokens, profile, fetch: deps.fetch }),
    userOf: deps.userOf,
    teamId: config.teamId,
  };
}

export type { GatewayUserOf } from './credentials.ts';
