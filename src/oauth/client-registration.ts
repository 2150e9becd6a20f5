/**
 * Who we are at the authorization server. Either a configured client id (a pre-registered client,
 * or a classic 3LO app with a secret), or a client registered on first use by RFC 7591 dynamic
 * registration. A registration is stored in the shared KeyValueStore per issuer so every replica
 * uses the same one, and is dropped (then redone) when the server says `invalid_client`.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import * as oauth from 'openid-client';
import type { KeyValueStore } from '../storage/types.ts';
import type { AuthorizationServerInfo } from './discovery.ts';
import { isLoopbackHttp } from './discovery.ts';
import { OAuthError, toOAuthError } from './errors.ts';

export interface ClientRegistration {
  issuer: string;
  clientId: string;
  /** Only for confidential clients (classic 3LO app, or a server that insisted on issuing one). */
  clientSecret?: string | undefined;
  redirectUri: string;
  source: 'dynamic' | 'configured';
  registeredAt: number;
}

export interface ClientRegistry {
  clientFor(server: AuthorizationServerInfo): Promise<ClientRegistration>;
  /** The server rejected this client: forget it (if it is still the stored one) so the next use registers again. */
  invalidate(registration: ClientRegistration): Promise<void>;
}

export interface ClientRegistryOptions {
  store: KeyValueStore;
  /** `<PUBLIC_URL>/oauth/callback`. */
  redirectUri: string;
  /** A pre-registered client: no dynamic registration happens. */
  configured?: { clientId: string; clientSecret?: string | undefined } | undefined;
  clientName?: string;
  fetch?: typeof fetch;
  logger?: Logger;
  now?: () => number;
}

const storedSchema = z.object({
  issuer: z.string(),
  clientId: z.string().min(1),
  clientSecret: z.string().optional(),
  redirectUri: z.string(),
  source: z.literal('dynamic'),
  registeredAt: z.number(),
});

export const registrationKey = (issuer: string) => `oauth-client:${issuer}`;

export function createClientRegistry(options: ClientRegistryOptions): ClientRegistry {
  const { store, redirectUri, logger } = options;
  const now = options.now ?? Date.now;
  const registering = new Map<string, Promise<ClientRegistration>>();

  async function stored(issuer: string): Promise<{ raw: unknown; registration: ClientRegistration } | undefined> {
    const raw = await store.get<unknown>(registrationKey(issuer));
    if (raw === undefined) return undefined;
    const parsed = storedSchema.safeParse(raw);
    if (!parsed.success) return undefined;
    return { raw, registration: parsed.data };
  }

  async function register(server: AuthorizationServerInfo): Promise<ClientRegistration> {
    if (server.metadata.registration_endpoint === undefined) {
      throw new OAuthError(
        'misconfigured',
        'The authorization server offers no dynamic client registration; configure ATLASSIAN_OAUTH_CLIENT_ID',
      );
    }
    let configuration: oauth.Configuration;
    try {
      configuration = await oauth.dynamicClientRegistration(
        new URL(server.metadataUrl),
        {
          client_name: options.clientName ?? 'vteam-slack',
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        },
        oauth.None(),
        {
          ...(isLoopbackHttp(new URL(server.metadataUrl)) ? { execute: [oauth.allowInsecureRequests] } : {}),
          ...(options.fetch ? { [oauth.customFetch]: options.fetch as oauth.CustomFetch } : {}),
          timeout: 10,
        },
      );
    } catch (error) {
      throw toOAuthError(error, 'Dynamic client registration');
    }
    const client = configuration.clientMetadata();
    const registration: ClientRegistration = {
      issuer: server.issuer,
      clientId: client.client_id,
      ...(typeof client.client_secret === 'string' ? { clientSecret: client.client_secret } : {}),
      redirectUri,
      source: 'dynamic',
      registeredAt: now(),
    };
    // Another replica may have registered meanwhile: the first stored registration wins, so all share one.
    if (!(await store.setIfAbsent(registrationKey(server.issuer), registration))) {
      const winner = await stored(server.issuer);
      if (winner !== undefined && winner.registration.redirectUri === redirectUri) return winner.registration;
      await store.set(registrationKey(server.issuer), registration);
    }
    logger?.info({ issuer: server.issuer, clientId: registration.clientId }, 'Registered OAuth client with the authorization server');
    return registration;
  }

  return {
    async clientFor(server) {
      if (options.configured !== undefined) {
        return {
          issuer: server.issuer,
          clientId: options.configured.clientId,
          clientSecret: options.configured.clientSecret,
          redirectUri,
          source: 'configured',
          registeredAt: 0,
        };
      }
      const existing = await stored(server.issuer);
      // A registration for another callback URL (PUBLIC_URL changed) cannot be used.
      if (existing !== undefined && existing.registration.redirectUri === redirectUri) return existing.registration;
      if (existing !== undefined) await store.compareAndSwap(registrationKey(server.issuer), existing.raw, undefined);

      const inFlight = registering.get(server.issuer);
      if (inFlight !== undefined) return inFlight;
      const attempt = register(server).finally(() => registering.delete(server.issuer));
      registering.set(server.issuer, attempt);
      return attempt;
    },

    async invalidate(registration) {
      if (registration.source !== 'dynamic') {
        logger?.error(
          { issuer: registration.issuer, clientId: registration.clientId },
          'The authorization server rejected the configured OAuth client; check ATLASSIAN_OAUTH_CLIENT_ID/SECRET',
        );
        return;
      }
      const existing = await stored(registration.issuer);
      if (existing === undefined || existing.registration.clientId !== registration.clientId) return;
      if (await store.compareAndSwap(registrationKey(registration.issuer), existing.raw, undefined)) {
        logger?.warn(
          { issuer: registration.issuer, clientId: registration.clientId },
          'The authorization server no longer knows our OAuth client; it will be registered again',
        );
      }
    },
  };
}
