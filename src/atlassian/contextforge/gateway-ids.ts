/**
 * Which MCF gateway a user authorizes at (`/oauth/authorize/<id>`). MCF names it in its "Please
 * authorize … first" answer; that word is kept in the shared store (every replica's Connect flow
 * needs it), and the configured CONTEXTFORGE_GATEWAY_ID serves until MCF has said one.
 */
import type { Logger } from 'pino';
import type { KeyValueStore } from '../../storage/types.ts';

const KEY = 'contextforge:gateway-id';
const VALID = /^[A-Za-z0-9_-]{1,128}$/;

export interface GatewayIds {
  current(): Promise<string | undefined>;
  /** Best effort: never throws. */
  learn(gatewayId: string): void;
  /** MCF no longer knows the id (the gateway was registered again). */
  forget(gatewayId: string): Promise<void>;
}

export function createGatewayIds(store: KeyValueStore, configured: string | undefined, logger?: Logger): GatewayIds {
  let known: string | undefined;
  // A configured id MCF no longer knows (the gateway was registered again) is not offered again.
  let configuredStale = false;
  return {
    async current() {
      if (known !== undefined) return known;
      const stored = await store.get<string>(KEY);
      if (typeof stored === 'string' && VALID.test(stored)) known = stored;
      return known ?? (configuredStale ? undefined : configured);
    },
    learn(gatewayId) {
      if (!VALID.test(gatewayId) || gatewayId === known) return;
      if (configured !== undefined && gatewayId !== configured) {
        logger?.warn(
          { configured, named: gatewayId },
          'MCP Context Forge names another gateway than CONTEXTFORGE_GATEWAY_ID; using its word',
        );
      }
      known = gatewayId;
      store.set(KEY, gatewayId).catch((error: unknown) => logger?.warn({ err: error }, 'could not remember the MCF gateway id'));
    },
    async forget(gatewayId) {
      if (known === gatewayId) known = undefined;
      if (configured === gatewayId) configuredStale = true;
      if ((await store.get<string>(KEY)) === gatewayId) await store.delete(KEY);
    },
  };
}
