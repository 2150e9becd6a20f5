/**
 * `/vteam disconnect`: revoke at the authorization server where it can (best effort: the user
 * asked to be forgotten, so a server that cannot be reached must not keep the tokens here), then
 * delete the stored link. Nothing else about the user changes. A refreshed pair this process has
 * not saved yet is the live one: it is forgotten first (so it is never saved) and revoked instead.
 * (A refresh in another process cannot undo this either: it saves only over the record it read.)
 */
import type { Logger } from 'pino';
import type { SlackUserRef } from '../publishing/model.ts';
import type { TokenStore } from '../storage/tokens.ts';
import type { AtlassianLink } from '../storage/types.ts';
import type { AtlassianOAuth } from './oauth-client.ts';

export interface DisconnectResult {
  /** A link existed and was deleted. */
  removed: boolean;
  /** The server confirmed revocation. */
  revoked: boolean;
}

export interface DisconnectOptions {
  tokens: TokenStore;
  oauth: Pick<AtlassianOAuth, 'revoke'>;
  /** The token refresher (its unsaved new pairs). */
  refresher?: { forget(user: SlackUserRef): AtlassianLink | undefined };
  logger?: Logger;
}

export function createDisconnect(options: DisconnectOptions) {
  const { tokens, logger } = options;
  return async function disconnect(user: SlackUserRef): Promise<DisconnectResult> {
    const unsaved = options.refresher?.forget(user);
    const link = unsaved ?? (await tokens.get(user));
    if (link === undefined) {
      // Unreadable (e.g. a rotated-out key) still leaves a record behind; delete it too.
      return { removed: await tokens.delete(user), revoked: false };
    }
    const revoked = await options.oauth.revoke({ accessToken: link.accessToken, refreshToken: link.refreshToken }).catch(() => false);
    const removed = (await tokens.delete(user)) || unsaved !== undefined;
    logger?.info(
      { teamId: user.teamId, enterpriseId: user.enterpriseId, userId: user.userId, revoked },
      'Disconnected the Atlassian account',
    );
    return { removed, revoked };
  };
}
