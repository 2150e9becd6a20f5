/**
 * The JWTs the bot signs for MCP Context Forge (reference Part D): MCF must accept them as the user
 * (HS256 with its secret, its iss/aud, a jti, an exp), a `server` token is limited to the one virtual
 * server and to reading and running tools, and the `authorize` token is not (MCF refuses a
 * server-limited one at /oauth/authorize) but lives at most a minute.
 */
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createContextForgeTokens, type ContextForgeTokenOptions } from '../../../src/atlassian/contextforge/tokens.ts';

const SECRET = 'mcf-jwt-secret-for-tests-0123456789abcdef';
const NOW_MS = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW_S = NOW_MS / 1000;

function tokens(overrides: Partial<ContextForgeTokenOptions> = {}) {
  return createContextForgeTokens({
    secret: SECRET,
    issuer: 'mcpgateway',
    audience: 'mcpgateway-api',
    ttlMs: 300_000,
    serverId: 'srv-42',
    teamId: 'team-7',
    now: () => NOW_MS,
    ...overrides,
  });
}

/** Verifies as MCF would (its secret, iss, aud), at the minting instant. */
async function verify(token: string, secret = SECRET) {
  const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
    issuer: 'mcpgateway',
    audience: 'mcpgateway-api',
    algorithms: ['HS256'],
    currentDate: new Date(NOW_MS),
  });
  return payload;
}

describe('MCP Context Forge tokens', () => {
  it('signs a server token MCF accepts as the user, limited to the one server and to reading and running tools', async () => {
    const token = await tokens().mint('ada@example.com', 'server');
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = await verify(token);
    expect(claims).toMatchObject({
      sub: 'ada@example.com',
      email: 'ada@example.com',
      iss: 'mcpgateway',
      aud: 'mcpgateway-api',
      iat: NOW_S,
      exp: NOW_S + 300,
      teams: ['team-7'],
      scopes: { server_id: 'srv-42', permissions: ['tools.read', 'tools.execute'] },
    });
    expect(claims.jti).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
  });

  it('signs an authorize token without any scopes claim, living at most 60 s', async () => {
    const claims = await verify(await tokens().mint('ada@example.com', 'authorize'));
    expect(claims).not.toHaveProperty('scopes');
    expect(claims).toMatchObject({ sub: 'ada@example.com', email: 'ada@example.com', teams: ['team-7'], iat: NOW_S, exp: NOW_S + 60 });
    expect(claims.jti).toEqual(expect.any(String));
  });

  it('never lets an authorize token outlive a shorter configured lifetime', async () => {
    const claims = await verify(await tokens({ ttlMs: 20_000 }).mint('ada@example.com', 'authorize'));
    expect(claims.exp).toBe(NOW_S + 20);
  });

  it('carries no teams claim when no team is configured', async () => {
    const source = tokens({ teamId: undefined });
    for (const use of ['server', 'authorize'] as const) {
      expect(await verify(await source.mint('ada@example.com', use))).not.toHaveProperty('teams');
    }
  });

  it('follows the injected clock for iat and exp, so a token minted earlier is expired now', async () => {
    let clock = NOW_MS - 600_000;
    const old = await tokens({ now: () => clock }).mint('ada@example.com', 'server');
    const { iat, exp } = decodeJwt(old);
    expect([iat, exp]).toEqual([NOW_S - 600, NOW_S - 300]);
    await expect(verify(old)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
    clock = NOW_MS;
    await expect(verify(await tokens({ now: () => clock }).mint('ada@example.com', 'server'))).resolves.toBeDefined();
  });

  it('is rejected by a verifier holding another secret', async () => {
    const token = await tokens().mint('ada@example.com', 'server');
    await expect(verify(token, 'some-other-secret-of-the-same-length!!!!')).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });

  it('gives every token its own jti, even two minted at the same instant for the same user', async () => {
    const source = tokens();
    const minted = await Promise.all([1, 2, 3].map(() => source.mint('ada@example.com', 'server')));
    const jtis = await Promise.all(minted.map(async (token) => (await verify(token)).jti));
    expect(new Set(jtis).size).toBe(3);
    expect(new Set(minted).size).toBe(3);
  });

  it('names whichever user it is minted for', async () => {
    const source = tokens();
    const grace = await verify(await source.mint('grace@example.com', 'server'));
    expect([grace.sub, grace.email]).toEqual(['grace@example.com', 'grace@example.com']);
  });
});
