/**
 * Starting a user's link inside MCP Context Forge: `GET {mcf}/oauth/authorize/<gateway>` with that
 * user's (not server-limited) JWT, against a loopback server that checks the token as MCF does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthorizationStarter } from '../../../src/atlassian/contextforge/authorize.ts';
import { contextForgeProfile } from '../../../src/atlassian/contextforge/profile.ts';
import { createContextForgeTokens } from '../../../src/atlassian/contextforge/tokens.ts';

const SECRET = 'mcf-jwt-secret-for-tests-0123456789abcdef';
const GATEWAY_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const ATLASSIAN_AUTHORIZE =
  'https://auth.atlassian.example/authorize?response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Fmcf.example%2Foauth%2Fcallback&state=s1&code_challenge=abc&code_challenge_method=S256';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  accept: string | undefined;
  claims: JWTPayload | undefined;
}

type Answer = (res: ServerResponse, claims: JWTPayload) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An MCF stand-in: verifies the bearer JWT as MCF does, refuses server-limited tokens here, then answers. */
async function startMcf(answer: Answer, options: { secret?: string } = {}) {
  const seen: Seen[] = [];
  const url = await listen((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const record: Seen = { method: req.method, url: req.url, accept: req.headers.accept, claims: undefined };
    seen.push(record);
    jwtVerify(token, new TextEncoder().encode(options.secret ?? SECRET), {
      issuer: 'mcpgateway',
      audience: 'mcpgateway-api',
      requiredClaims: ['exp', 'jti'],
    }).then(
      ({ payload }) => {
        record.claims = payload;
        if (payload.scopes !== undefined) return json(res, 403, { detail: 'Access denied' });
        answer(res, payload);
      },
      () => json(res, 401, { detail: 'Invalid authentication credentials' }),
    );
  });
  return { url, seen };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function redirect(location: string): Answer {
  return (res) => res.writeHead(307, { location }).end();
}

function starter(baseUrl: string, options: { teamId?: string; timeoutMs?: number } = {}) {
  const teamId = 'teamId' in options ? options.teamId : 'team-7';
  const tokens = createContextForgeTokens({
    secret: SECRET,
    issuer: 'mcpgateway',
    audience: 'mcpgateway-api',
    ttlMs: 300_000,
    serverId: 'srv-42',
    teamId,
  });
  return createAuthorizationStarter({
    baseUrl,
    tokens,
    profile: contextForgeProfile({ teamId }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

describe('starting an authorization in MCP Context Forge', () => {
  it("asks as the user, with a token that is not server-limited, and hands back MCF's redirect without following it", async () => {
    let followed = 0;
    const atlassian = await listen((_req, res) => {
      followed += 1;
      res.end('consent page');
    });
    const location = `${atlassian}/authorize?state=s1&code_challenge=abc`;
    const mcf = await startMcf(redirect(location));

    expect(await starter(mcf.url)('ada@example.com', GATEWAY_ID)).toEqual({ kind: 'redirect', url: location });
    expect(followed).toBe(0);
    expect(mcf.seen).toHaveLength(1);
    const [request] = mcf.seen;
    expect(request).toMatchObject({ method: 'GET', url: `/oauth/authorize/${GATEWAY_ID}`, accept: 'application/json' });
    expect(request?.claims).toMatchObject({ sub: 'ada@example.com', email: 'ada@example.com', teams: ['team-7'] });
    expect(request?.claims).not.toHaveProperty('scopes');
    const { iat = 0, exp = 0 } = request?.claims ?? {};
    expect(exp - iat).toBeLessThanOrEqual(60);
    expect(exp - iat).toBeGreaterThan(0);
  });

  it('hands back an absolute https redirect as MCF sent it', async () => {
    const mcf = await startMcf(redirect(ATLASSIAN_AUTHORIZE));
    expect(await starter(mcf.url)('ada@example.com', GATEWAY_ID)).toEqual({ kind: 'redirect', url: ATLASSIAN_AUTHORIZE });
  });

  it('resolves a relative Location against the authorize endpoint, under a base path with a trailing slash', async () => {
    const mcf = await startMcf(redirect('/sso/authorize?state=s2'));
    expect(await starter(`${mcf.url}/mcf/`)('ada@example.com', GATEWAY_ID)).toEqual({
      kind: 'redirect',
      url: `${mcf.url}/sso/authorize?state=s2`,
    });
    expect(mcf.seen[0]?.url).toBe(`/mcf/oauth/authorize/${GATEWAY_ID}`);
  });

  it('puts the gateway id into the path URL-encoded, so it cannot climb out of /oauth/authorize/', async () => {
    const mcf = await startMcf(redirect(ATLASSIAN_AUTHORIZE));
    await starter(mcf.url)('ada@example.com', '../admin x?y=1#z');
    expect(mcf.seen.map((s) => s.url)).toEqual(['/oauth/authorize/..%2Fadmin%20x%3Fy%3D1%23z']);
  });

  it('carries no teams claim when no team is configured', async () => {
    const mcf = await startMcf(redirect(ATLASSIAN_AUTHORIZE));
    await starter(mcf.url, { teamId: undefined })('ada@example.com', GATEWAY_ID);
    expect(mcf.seen[0]?.claims).not.toHaveProperty('teams');
    expect(mcf.seen[0]?.claims).not.toHaveProperty('scopes');
  });

  it.each([['javascript:alert(document.cookie)'], ['data:text/html,<script>alert(1)</script>'], ['file:///etc/passwd']])(
    'refuses a redirect to a non-http URL (%s)',
    async (location) => {
      const mcf = await startMcf(redirect(location));
      await expect(starter(mcf.url)('ada@example.com', GATEWAY_ID)).rejects.toThrow(/redirected to a \w+: URL/);
    },
  );

  it('says the gateway is unknown when MCF answers 404 Gateway not found', async () => {
    const mcf = await startMcf((res) => json(res, 404, { detail: 'Gateway not found' }));
    expect(await starter(mcf.url)('ada@example.com', GATEWAY_ID)).toEqual({ kind: 'unknown-gateway' });
  });

  it('reads a 404 that names no gateway (a wrong MCF URL) as a refusal for the admin', async () => {
    const mcf = await startMcf((res) => json(res, 404, { detail: 'Not Found' }));
    const started = await starter(mcf.url)('ada@example.com', GATEWAY_ID);
    expect(started).toMatchObject({ kind: 'refused', error: { code: 'GATEWAY_REFUSED' } });
  });

  it('reads a token MCF cannot verify (another secret) as the bot being misconfigured', async () => {
    const mcf = await startMcf(redirect(ATLASSIAN_AUTHORIZE), { secret: 'the-secret-mcf-really-has-0123456789abc' });
    const started = await starter(mcf.url)('ada@example.com', GATEWAY_ID);
    expect(started.kind).toBe('refused');
    if (started.kind !== 'refused') return;
    expect(started.error.code).toBe('GATEWAY_REFUSED');
    expect(started.error.userMessage).toContain("refused the bot's credentials");
    expect((started.error.cause as Error).message).toBe('MCP Context Forge answered HTTP 401: Invalid authentication credentials');
  });

  it('reads 401 User not found as the user missing in MCF', async () => {
    const mcf = await startMcf((res) => json(res, 401, { detail: 'User not found in database' }));
    const started = await starter(mcf.url)('nobody@example.com', GATEWAY_ID);
    expect(started).toMatchObject({ kind: 'refused', error: { code: 'GATEWAY_REFUSED' } });
    if (started.kind === 'refused') expect(started.error.userMessage).toMatch(/^MCP Context Forge has no user with the email/);
  });

  it('reads 403 "no longer a member of the associated team" as the team check, naming the team', async () => {
    const mcf = await startMcf((res) => json(res, 403, { detail: 'Token is invalid: User is no longer a member of the associated team' }));
    const started = await starter(mcf.url)('ada@example.com', GATEWAY_ID);
    expect(started).toMatchObject({ kind: 'refused', error: { code: 'GATEWAY_ACCESS_DENIED' } });
    if (started.kind === 'refused') expect(started.error.userMessage).toContain('`team-7`');
  });

  it('throws on a server error, and on an answer that is no redirect (a login page)', async () => {
    const failing = await startMcf((res) => json(res, 500, { detail: 'Internal Server Error' }));
    await expect(starter(failing.url)('ada@example.com', GATEWAY_ID)).rejects.toThrow('HTTP 500');
    const page = await startMcf((res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Login</html>'));
    await expect(starter(page.url)('ada@example.com', GATEWAY_ID)).rejects.toThrow('HTTP 200');
    const bare = await startMcf((res) => res.writeHead(302).end());
    await expect(starter(bare.url)('ada@example.com', GATEWAY_ID)).rejects.toThrow('HTTP 302');
  });

  it('gives up on an MCF that never answers, after its timeout', async () => {
    const silent = await startMcf(() => {
      // never answers
    });
    const started = Date.now();
    await expect(starter(silent.url, { timeoutMs: 150 })('ada@example.com', GATEWAY_ID)).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(silent.seen).toHaveLength(1);
  });

  it('throws when MCF cannot be reached at all', async () => {
    const gone = await listen(() => undefined);
    const server = servers.pop();
    await new Promise((resolve) => server?.close(resolve));
    await expect(starter(gone)('ada@example.com', GATEWAY_ID)).rejects.toThrow();
  });
});
