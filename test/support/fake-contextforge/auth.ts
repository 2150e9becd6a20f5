/**
 * Context Forge's client authentication, as observed (reference Part D): an HS256 JWT signed with
 * JWT_SECRET_KEY, its iss/aud/exp/jti checked; the user is `user.email`, else `email`, else `sub`;
 * the user must exist; the token's teams must still be the user's; a `scopes` claim limits the token
 * to one server and/or some permissions.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';

export interface JwtSettings {
  secret: string;
  /** Default `mcpgateway`. */
  issuer: string;
  /** Default `mcpgateway-api`. */
  audience: string;
}

export interface ContextForgeUser {
  email: string;
  teams: Set<string>;
}

/** The `scopes` claim of an API token. */
export interface TokenScopes {
  serverId: string | undefined;
  /** Empty: every permission (MCF's API tokens list none when unrestricted). */
  permissions: string[];
}

export interface Identity {
  email: string;
  claims: JWTPayload;
  /** `token_use: "session"`: the user's teams as the database holds them now. */
  session: boolean;
  /** The teams the request acts for (the token's `teams` claim, or the user's for a session token). */
  teams: string[];
  scopes: TokenScopes | undefined;
}

export type Authentication =
  { ok: true; identity: Identity } | { ok: false; status: 401 | 403; detail: string; challenge?: boolean; claims?: JWTPayload };

export const DETAIL = {
  required: 'Authentication required for MCP endpoints',
  invalid: 'Invalid authentication credentials',
  unknownUser: 'User not found in database',
  notMember: 'Token is invalid: User is no longer a member of the associated team',
  denied: 'Access denied',
} as const;

export async function authenticate(
  authorization: string | undefined,
  settings: JwtSettings,
  users: ReadonlyMap<string, ContextForgeUser>,
): Promise<Authentication> {
  if (authorization === undefined || authorization.trim() === '')
    return { ok: false, status: 401, detail: DETAIL.required, challenge: true };
  const token = /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1];
  if (token === undefined) return { ok: false, status: 401, detail: DETAIL.invalid };

  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, secretKey(settings.secret), {
      algorithms: ['HS256'],
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ['exp', 'jti'],
    }));
  } catch {
    return { ok: false, status: 401, detail: DETAIL.invalid };
  }

  const email = emailOf(claims);
  if (email === undefined) return { ok: false, status: 401, detail: DETAIL.invalid, claims };
  const user = users.get(email.toLowerCase());
  if (user === undefined) return { ok: false, status: 401, detail: DETAIL.unknownUser, claims };

  const session = claims.token_use === 'session';
  const claimed = teamIds(claims.teams);
  if (!session && claimed.some((team) => !user.teams.has(team))) return { ok: false, status: 403, detail: DETAIL.notMember, claims };

  return {
    ok: true,
    identity: { email: user.email, claims, session, teams: session ? [...user.teams] : claimed, scopes: scopesOf(claims.scopes) },
  };
}

/** `tools.read` / `tools.execute`: allowed unless the token lists permissions without it (`*` is all). */
export function permits(identity: Identity, permission: string): boolean {
  const permissions = identity.scopes?.permissions ?? [];
  return permissions.length === 0 || permissions.includes('*') || permissions.includes(permission);
}

/** A server-scoped token is refused on other servers. */
export function allowsServer(identity: Identity, serverId: string): boolean {
  const limit = identity.scopes?.serverId;
  return limit === undefined || limit === serverId;
}

/** Server-limited or permission-limited: such tokens may not start an OAuth flow. */
export function isLimited(identity: Identity): boolean {
  return identity.scopes !== undefined && (identity.scopes.serverId !== undefined || identity.scopes.permissions.length > 0);
}

export interface MintOptions {
  /** Default 300. Negative: already expired. */
  expiresInSeconds?: number;
  /** Leave these registered claims out (to prove the gateway requires them). */
  omit?: ('iss' | 'aud' | 'exp' | 'jti')[];
  /** Sign with another secret (a forged token). */
  secret?: string;
}

/** A token as MCF (or a bot holding its secret) mints it: `claims` plus iss, aud, iat, exp and jti. */
export async function mintContextForgeToken(settings: JwtSettings, claims: JWTPayload, options: MintOptions = {}): Promise<string> {
  const omit = new Set(options.omit ?? []);
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    ...claims,
    ...(omit.has('iss') ? {} : { iss: settings.issuer }),
    ...(omit.has('aud') ? {} : { aud: settings.audience }),
    ...(omit.has('jti') ? {} : { jti: randomUUID() }),
    iat: now,
    ...(omit.has('exp') ? {} : { exp: now + (options.expiresInSeconds ?? 300) }),
  };
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secretKey(options.secret ?? settings.secret));
}

function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

function emailOf(claims: JWTPayload): string | undefined {
  const user = claims.user;
  const nested = typeof user === 'object' && user !== null ? (user as { email?: unknown }).email : undefined;
  for (const candidate of [nested, claims.email, claims.sub])
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate.trim();
  return undefined;
}

/** Team ids as MCF normalises them: strings, or objects with an `id`. */
function teamIds(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((team: unknown) => {
    if (typeof team === 'string') return [team];
    const id = typeof team === 'object' && team !== null ? (team as { id?: unknown }).id : undefined;
    return typeof id === 'string' ? [id] : [];
  });
}

function scopesOf(value: unknown): TokenScopes | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { server_id: serverId, permissions } = value as { server_id?: unknown; permissions?: unknown };
  return {
    serverId: typeof serverId === 'string' && serverId !== '' ? serverId : undefined,
    permissions: Array.isArray(permissions) ? permissions.filter((p): p is string => typeof p === 'string') : [],
  };
}
