/**
 * Linking through MCP Context Forge: the same Connect experience as our own OAuth flow (a single-use
 * sign-in link bound to the Slack user), but the browser is sent to the authorization URL MCF mints
 * for that user when the link is opened (MCF's state lives 300 s, so never earlier), and MCF finishes
 * the code exchange itself. The bot learns of the result by asking MCF as the user (the watch).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthorizationStarter } from '../atlassian/contextforge/authorize.ts';
import type { GatewayUserOf } from '../atlassian/contextforge/credentials.ts';
import type { GatewayIds } from '../atlassian/contextforge/gateway-ids.ts';
import { errors, isVteamError } from '../errors.ts';
import type { SlackUserRef } from '../publishing/model.ts';
import type { KeyValueStore } from '../storage/types.ts';
import { LinkError } from './errors.ts';
import type { GatewayAccess } from './gateway-link-watch.ts';
import type { LinkFlow, OpenedSignIn } from './link-flow.ts';
import { createSignInLinks, who } from './sign-in-links.ts';

export interface GatewayLinkFlowOptions {
  store: KeyValueStore;
  /** The bot's own callback URL: sign-in links live beside it. */
  redirectUri: string;
  userOf: GatewayUserOf;
  gatewayIds: GatewayIds;
  startAuthorization: AuthorizationStarter;
  /** A read call as the user (it also teaches `gatewayIds` the id MCF names). */
  checkAccess(user: SlackUserRef): Promise<GatewayAccess>;
  /** Called right before the browser is sent to Atlassian (or when the user turned out to be linked already). */
  watch(user: SlackUserRef): void | Promise<void>;
  logger?: Logger | undefined;
  /** How long a sign-in link may be opened. Default 10 minutes. */
  linkTtlMs?: number;
  now?: () => number;
}

/** MCF keeps its sign-in state this long. */
const MCF_STATE_MS = 300_000;

export function createGatewayLinkFlow(options: GatewayLinkFlowOptions): LinkFlow {
  const { logger } = options;
  const signIns = createSignInLinks({
    store: options.store,
    redirectUri: options.redirectUri,
    ttlMs: options.linkTtlMs ?? 10 * 60_000,
    graceMs: 60 * 60_000,
    logger,
    now: options.now ?? Date.now,
  });

  async function authorizationUrl(user: SlackUserRef, context: unknown): Promise<string> {
    const refused = (error: unknown) =>
      new LinkError('gateway_refused', 'MCP Context Forge refused the sign-in', {
        user,
        context,
        advice: isVteamError(error) ? error.userMessage : undefined,
        cause: error,
      });
    const unavailable = (error: unknown) =>
      new LinkError('unavailable', 'MCP Context Forge could not start the sign-in', { user, context, cause: error });
    try {
      const email = await options.userOf(user);
      if (email === undefined) throw refused(errors.gatewayNoEmail());
      for (let round = 0; round < 2; round += 1) {
        let gatewayId = await options.gatewayIds.current();
        if (gatewayId === undefined) {
          // MCF names its gateway only in its answer to an unlinked user: ask as this one.
          if ((await options.checkAccess(user)) === 'authorized') {
            await options.watch(user);
            throw new LinkError('already_linked', 'MCP Context Forge already holds an authorization', { user, context });
          }
          gatewayId = await options.gatewayIds.current();
          if (gatewayId === undefined) throw unavailable(new Error('MCP Context Forge named no gateway to authorize at'));
        }
        const started = await options.startAuthorization(email, gatewayId);
        if (started.kind === 'redirect') return started.url;
        if (started.kind === 'refused') throw refused(started.error);
        logger?.warn({ gatewayId }, 'MCP Context Forge no longer knows the gateway id; asking it again');
        await options.gatewayIds.forget(gatewayId);
      }
      throw unavailable(new Error('MCP Context Forge does not know the gateway it names'));
    } catch (error) {
      if (error instanceof LinkError) throw error;
      if (isVteamError(error) && (error.code === 'GATEWAY_REFUSED' || error.code === 'GATEWAY_ACCESS_DENIED')) throw refused(error);
      logger?.warn({ ...who(user), err: error }, 'Could not start linking through MCP Context Forge');
      throw unavailable(error);
    }
  }

  return {
    startLink: (user, context = {}) => signIns.issue(user, context),

    async openSignIn(flowId): Promise<OpenedSignIn> {
      const { user, prepared } = await signIns.open(flowId, authorizationUrl);
      await options.watch(user);
      logger?.info(who(user), 'Sign-in link opened; sending the browser to Atlassian through MCP Context Forge');
      // The cookie binds nothing here (MCF receives the callback), but the route sets one anyway.
      return { authorizationUrl: prepared, browserSecret: randomBytes(32).toString('base64url'), validForMs: MCF_STATE_MS };
    },

    async completeLink() {
      // MCF receives Atlassian's callback itself; nothing legitimate comes back here.
      throw new LinkError('unknown_state', 'Sign-ins through MCP Context Forge complete at MCF');
    },
  };
}
