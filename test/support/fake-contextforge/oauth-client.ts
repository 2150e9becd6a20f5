/**
 * Context Forge's side of the authorization-code flow against the upstream's authorization server:
 * metadata discovery, dynamic client registration (a confidential client), PKCE S256, code exchange
 * and refresh, each sending the RFC 8707 `resource`.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface ServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint?: string;
}

export interface RegisteredClient {
  clientId: string;
  clientSecret: string | undefined;
}

export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  /** Epoch ms; undefined when the server gave no `expires_in`. */
  expiresAt: number | undefined;
}

export type TokenAnswer = { ok: true; tokens: TokenSet } | { ok: false; error: string; description: string | undefined };

/** RFC 8414 first, then OpenID discovery (oidc-provider serves the latter). */
export async function discover(issuer: string): Promise<ServerMetadata> {
  const base = issuer.replace(/\/+$/, '');
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const response = await fetch(`${base}${path}`, { headers: { accept: 'application/json' } });
    if (response.ok) return (await response.json()) as ServerMetadata;
    await response.body?.cancel();
  }
  throw new Error(`no authorization server metadata at ${issuer}`);
}

export async function register(metadata: ServerMetadata, redirectUri: string, clientName: string): Promise<RegisteredClient> {
  if (metadata.registration_endpoint === undefined) throw new Error('the authorization server offers no dynamic client registration');
  const response = await fetch(metadata.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      client_name: clientName,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }),
  });
  const body = (await response.json()) as { client_id?: string; client_secret?: string; error_description?: string };
  if (!response.ok || body.client_id === undefined)
    throw new Error(`client registration failed (${response.status}): ${body.error_description ?? ''}`);
  return { clientId: body.client_id, clientSecret: body.client_secret };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export async function tokenRequest(
  metadata: ServerMetadata,
  client: RegisteredClient,
  params: Record<string, string>,
  previousRefreshToken?: string,
): Promise<TokenAnswer> {
  const body = new URLSearchParams({ ...params, client_id: client.clientId });
  if (client.clientSecret !== undefined) body.set('client_secret', client.clientSecret);
  const response = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body,
  });
  const answer = (await response.json().catch(() => ({}))) as {
    access_token?: string;
    refresh_token?: string;
    expires_in?: number;
    error?: string;
    error_description?: string;
  };
  if (!response.ok || answer.access_token === undefined) {
    return { ok: false, error: answer.error ?? `http_${response.status}`, description: answer.error_description };
  }
  return {
    ok: true,
    tokens: {
      accessToken: answer.access_token,
      // Rotated when the server sends a new one; kept otherwise.
      refreshToken: answer.refresh_token ?? previousRefreshToken,
      expiresAt: typeof answer.expires_in === 'number' ? Date.now() + answer.expires_in * 1000 : undefined,
    },
  };
}
