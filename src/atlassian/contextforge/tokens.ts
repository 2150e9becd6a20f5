/**
 * The JWTs the bot signs for MCP Context Forge (reference Part D): HS256 with MCF's own secret,
 * one token per user and call, living minutes. MCF trusts the email inside as the caller, so the
 * token is also limited to the one virtual server and to reading and running tools; only the
 * authorize request, which MCF refuses to server-limited tokens, gets an unlimited one that lives
 * a minute.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

export interface ContextForgeTokenOptions {
  secret: string;
  issuer: string;
  audience: string;
  ttlMs: number;
  serverId: string;
  teamId: string | undefined;
  now?: () => number;
}

/** `server`: calls to the virtual server; `authorize`: the one request that starts a user's OAuth link. */
export type TokenUse = 'server' | 'authorize';

export interface ContextForgeTokens {
  mint(email: string, use: TokenUse): Promise<string>;
}

const AUTHORIZE_TTL_SECONDS = 60;

export function createContextForgeTokens(options: ContextForgeTokenOptions): ContextForgeTokens {
  const key = new TextEncoder().encode(options.secret);
  const now = options.now ?? Date.now;
  const ttlSeconds = Math.max(1, Math.floor(options.ttlMs / 1000));
  return {
    async mint(email, use) {
      const issuedAt = Math.floor(now() / 1000);
      const lifetime = use === 'authorize' ? Math.min(AUTHORIZE_TTL_SECONDS, ttlSeconds) : ttlSeconds;
      const claims: Record<string, unknown> = { email };
      if (options.teamId !== undefined) claims.teams = [options.teamId];
      if (use === 'server') claims.scopes = { server_id: options.serverId, permissions: ['tools.read', 'tools.execute'] };
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(email)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + lifetime)
        .setJti(randomUUID())
        .sign(key);
    },
  };
}
