/** The fake Context Forge answers as a running MCF does (reference Part D), seen through the real SDK client. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { completeBrowserLeg, startAuthServer } from './auth-server/index.ts';
import type { AuthServerHandle } from './auth-server/index.ts';
import { contextForgeSlug, startFakeContextForge } from './fake-contextforge.ts';
import type { FakeContextForge } from './fake-contextforge.ts';
import { startFakeMcp } from './fake-mcp/index.ts';
import type { FakeMcp } from './fake-mcp/index.ts';

const SECRET = 'test-mcf-jwt-secret-0123456789abcdef';
const SITE = 'https://acme.atlassian.net';
const TEAM = 'team-vteam-0001';
const ADA = 'ada@example.com';
const GRACE = 'grace@example.com';
const LONER = 'loner@example.com';
const CATALOG_TOKEN = 'atl-admin-catalog-0123456789';
const ADA_STATIC_TOKEN = 'atl-access-ada-0123456789';
const CREATE = {
  cloudId: 'cloud-acme',
  projectKey: 'PROJ',
  issueTypeName: 'Task',
  summary: 'Dark mode',
  description: '# Dark mode\n\nUsers can pick a theme.',
};

describe('fake MCP Context Forge', () => {
  let auth: AuthServerHandle;
  let mcp: FakeMcp;
  let mcf: FakeContextForge;
  const clients: Client[] = [];

  beforeAll(async () => {
    auth = await startAuthServer();
  });
  afterAll(() => auth.close());

  beforeEach(async () => {
    mcp = await startFakeMcp({
      dialect: 'rovo-v1',
      sites: [
        { id: 'cloud-acme', url: SITE, name: 'acme' },
        { id: 'cloud-other', url: 'https://other.atlassian.net', name: 'other' },
      ],
      projects: [{ site: SITE, key: 'PROJ' }],
      tokens: [
        { token: CATALOG_TOKEN, sites: [SITE], account: { name: 'MCF Admin' } },
        { token: ADA_STATIC_TOKEN, sites: [SITE], account: { name: 'Ada' } },
      ],
    });
    mcf = await startContextForge();
  });

  async function startContextForge(extraParams?: Record<string, string>): Promise<FakeContextForge> {
    const started = await startFakeContextForge({
      upstreamUrl: mcp.url,
      catalogToken: CATALOG_TOKEN,
      jwtSecret: SECRET,
      users: { [ADA]: { teams: [TEAM] }, [GRACE]: { teams: [TEAM] }, [LONER]: {} },
      authorization: { issuer: auth.issuer, ...(extraParams === undefined ? {} : { extraParams }) },
    });
    // What the environment must do for MCF's resource indicator (the upstream's origin).
    auth.addResource(started.resource);
    mcp.setAuthorization({
      issuer: auth.issuer,
      verify: (token) => auth.verifyAccessToken(token),
      sites: [SITE],
      audience: started.resource,
    });
    mcp.resetCounters();
    return started;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    auth.setAccessTokenTtl(3600);
    await mcf.close();
    await mcp.close();
  });

  const tokenFor = (email: string, claims: Record<string, unknown> = { teams: [TEAM] }) => mcf.mintToken({ sub: email, ...claims });

  async function connect(jwt: string): Promise<Client> {
    const client = new Client({ name: 'fake-contextforge-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(mcf.mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${jwt}` } },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  async function call(jwt: string, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
    return (await (await connect(jwt)).callTool({ name, arguments: args })) as CallToolResult;
  }

  async function post(headers: Record<string, string>, body: unknown, url = mcf.mcpUrl) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }
  const listRequest = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
  const callRequest = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'rovo-atlassianuserinfo', arguments: {} } };
  const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

  /** Signs `ada` in through MCF's authorize URL and its callback; returns the callback page. */
  async function authorizeThroughBrowser(email = ADA): Promise<{ status: number; html: string; callback: URL }> {
    const started = await fetch(`${mcf.url}/oauth/authorize/${mcf.gatewayId}`, {
      headers: bearer(await tokenFor(email)),
      redirect: 'manual',
    });
    expect(started.status).toBe(307);
    const callback = await completeBrowserLeg(started.headers.get('location') ?? '', { login: 'ada' });
    const page = await fetch(callback);
    return { status: page.status, html: await page.text(), callback };
  }

  it('serves a stateless Streamable HTTP endpoint the SDK client uses, listing the upstream tools under prefixed slugs', async () => {
    const client = await connect(await tokenFor(ADA));
    expect(client.getServerVersion()?.name).toBe('mcpgateway');
    expect(client.getServerCapabilities()).toEqual({ tools: {} });
    await client.ping();

    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining(['rovo-createjiraissue', 'rovo-getaccessibleatlassianresources', 'rovo-searchjiraissuesusingjql']),
    );
    expect(names.every((name) => name.startsWith('rovo-') && name === name.toLowerCase())).toBe(true);
    expect(names).not.toContain('createJiraIssue');
    const create = tools.find((tool) => tool.name === 'rovo-createjiraissue');
    expect(create?.inputSchema.required).toEqual(['cloudId', 'projectKey', 'issueTypeName', 'summary']);
    expect(create?.description).toBe('Create a Jira issue');
    expect(mcf.tools.find((tool) => tool.listedName === 'rovo-createjiraissue')?.upstreamName).toBe('createJiraIssue');

    const raw = await post(bearer(await tokenFor(ADA)), listRequest);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('application/json');
    expect(raw.headers.get('mcp-session-id')).toBeNull();
    const initialized = await post(bearer(await tokenFor(ADA)), { jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(initialized.status).toBe(202);
    const get = await fetch(mcf.mcpUrl, { headers: bearer(await tokenFor(ADA)) });
    expect(get.status).toBe(405);
    await get.body?.cancel();

    // The catalog was read once at start, with the admin's token; listing costs the upstream nothing.
    expect(mcp.counters.httpRequests).toBe(0);
  });

  it('slugs names as MCF does', () => {
    expect(contextForgeSlug('createJiraIssue')).toBe('createjiraissue');
    expect(contextForgeSlug('jira_create_issue')).toBe('jira-create-issue');
    expect(contextForgeSlug('  Café & Restaurant__x ')).toBe('cafe-restaurant-x');
    expect(contextForgeSlug('jira_create_issue', '__')).toBe('jira__create__issue');
  });

  it('answers a user who has not authorized with a tool error, the upstream untouched, and lists the same tools for everyone', async () => {
    const result = await call(await tokenFor(GRACE), 'rovo-createjiraissue', CREATE);
    expect(result).toEqual({
      content: [
        {
          type: 'text',
          text: `Tool invocation failed: Please authorize rovo first. Visit /oauth/authorize/${mcf.gatewayId} to complete OAuth flow.`,
        },
      ],
      isError: true,
    });
    expect(mcp.counters.httpRequests).toBe(0);
    expect(mcf.counters.toolCalls).toEqual([
      { email: GRACE, listedName: 'rovo-createjiraissue', upstreamName: 'createJiraIssue', outcome: 'not-authorized' },
    ]);

    mcf.linkUser(ADA, ADA_STATIC_TOKEN);
    const linked = await (await connect(await tokenFor(ADA))).listTools();
    const unlinked = await (await connect(await tokenFor(GRACE))).listTools();
    expect(linked).toEqual(unlinked);

    const unknown = await call(await tokenFor(ADA), 'createJiraIssue', CREATE);
    expect(unknown).toEqual({ content: [{ type: 'text', text: 'Tool not found: createJiraIssue' }], isError: true });
  });

  it('refuses bad credentials with the 401 and 403 bodies MCF sends', async () => {
    const none = await post({}, listRequest);
    expect(none).toMatchObject({ status: 401, body: { detail: 'Authentication required for MCP endpoints' } });
    expect(none.headers.get('www-authenticate')).toBe('Bearer');

    const invalid = { status: 401, body: { detail: 'Invalid authentication credentials' } };
    expect(await post(bearer(await mcf.mintToken({ sub: ADA }, { secret: 'another-secret-0123456789abcdef' })), listRequest)).toMatchObject(
      invalid,
    );
    for (const claim of ['jti', 'aud', 'exp', 'iss'] as const) {
      expect(await post(bearer(await mcf.mintToken({ sub: ADA }, { omit: [claim] })), listRequest)).toMatchObject(invalid);
    }
    expect(await post(bearer(await mcf.mintToken({ sub: ADA }, { expiresInSeconds: -10 })), listRequest)).toMatchObject(invalid);
    expect(await post({ authorization: 'Basic YWRhOnBhc3N3b3Jk' }, listRequest)).toMatchObject(invalid);

    const stranger = await post(bearer(await tokenFor('nobody@example.com')), listRequest);
    expect(stranger).toMatchObject({ status: 401, body: { detail: 'User not found in database' } });
    // The user is user.email, else email, else sub.
    expect((await post(bearer(await mcf.mintToken({ sub: 'nobody', user: { email: ADA }, teams: [TEAM] })), listRequest)).status).toBe(200);
    expect((await post(bearer(await mcf.mintToken({ sub: 'nobody', email: ADA, teams: [TEAM] })), listRequest)).status).toBe(200);

    const gracesToken = await tokenFor(GRACE);
    expect((await post(bearer(gracesToken), listRequest)).status).toBe(200);
    mcf.removeFromTeam(GRACE, TEAM);
    const notMember = { status: 403, body: { detail: 'Token is invalid: User is no longer a member of the associated team' } };
    expect(await post(bearer(gracesToken), listRequest)).toMatchObject(notMember);
    expect(await post(bearer(gracesToken), callRequest)).toMatchObject(notMember);

    const denied = { status: 403, body: { detail: 'Access denied' } };
    const otherServer = await tokenFor(ADA, { teams: [TEAM], scopes: { server_id: 'another-server', permissions: [] } });
    expect(await post(bearer(otherServer), listRequest)).toMatchObject(denied);
    const readOnly = await tokenFor(ADA, { teams: [TEAM], scopes: { server_id: mcf.serverId, permissions: ['tools.read'] } });
    expect((await post(bearer(readOnly), listRequest)).status).toBe(200);
    expect(await post(bearer(readOnly), callRequest)).toMatchObject(denied);

    const seen = mcf.jwtClaimsSeen.at(-1);
    expect(seen).toMatchObject({ sub: ADA, iss: 'mcpgateway', aud: 'mcpgateway-api', scopes: { permissions: ['tools.read'] } });
    expect(typeof seen?.jti).toBe('string');
    expect(mcf.counters.requests.filter((request) => request.status === 401)).toHaveLength(9);
  });

  it('answers Access denied to tool calls of a token without a team, and takes a session token teams from the database', async () => {
    mcf.linkUser(ADA, ADA_STATIC_TOKEN);
    const teamless = await mcf.mintToken({ sub: ADA });
    const client = await connect(teamless);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    expect(await client.callTool({ name: 'rovo-atlassianuserinfo', arguments: {} })).toEqual({
      content: [{ type: 'text', text: 'Access denied' }],
      isError: true,
    });

    const session = await call(await mcf.mintToken({ sub: ADA, token_use: 'session' }), 'rovo-atlassianuserinfo');
    expect(session.isError).toBe(false);
    expect(JSON.parse((session.content[0] as { text: string }).text)).toMatchObject({ name: 'Ada' });
    const lonely = await call(await mcf.mintToken({ sub: LONER, token_use: 'session' }), 'rovo-atlassianuserinfo');
    expect(lonely.content).toEqual([{ type: 'text', text: 'Access denied' }]);
    expect(mcp.counters.httpRequests).toBe(4);
  });

  it('links a user through /oauth/authorize and the real authorization server, then relays tool calls with four upstream requests each', async () => {
    const denied = await fetch(`${mcf.url}/oauth/authorize/${mcf.gatewayId}`, {
      headers: bearer(await tokenFor(ADA, { teams: [TEAM], scopes: { server_id: mcf.serverId, permissions: [] } })),
      redirect: 'manual',
    });
    expect({ status: denied.status, body: await denied.json() }).toEqual({ status: 403, body: { detail: 'Access denied' } });
    const missing = await fetch(`${mcf.url}/oauth/authorize/no-such-gateway`, { headers: bearer(await tokenFor(ADA)), redirect: 'manual' });
    expect({ status: missing.status, body: await missing.json() }).toEqual({ status: 404, body: { detail: 'Gateway not found' } });

    const started = await fetch(`${mcf.url}/oauth/authorize/${mcf.gatewayId}`, {
      headers: bearer(await tokenFor(ADA)),
      redirect: 'manual',
    });
    expect(started.status).toBe(307);
    const location = new URL(started.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(`${auth.issuer}/auth`);
    expect([...location.searchParams.keys()]).toEqual([
      'response_type',
      'client_id',
      'redirect_uri',
      'state',
      'code_challenge',
      'code_challenge_method',
      'scope',
      'resource',
    ]);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: mcf.clientId,
      redirect_uri: `${mcf.url}/oauth/callback`,
      code_challenge_method: 'S256',
      scope: 'read:jira-work write:jira-work offline_access',
      resource: new URL(mcp.url).origin,
    });

    const callback = await completeBrowserLeg(location, { login: 'ada' });
    expect(`${callback.origin}${callback.pathname}`).toBe(mcf.callbackUrl);
    const page = await fetch(callback);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('OAuth Authorization Successful');
    expect(html).toContain('Fetch Tools');
    expect(html).toContain('Return to Admin Panel');
    expect(mcf.hasToken(ADA)).toBe(true);
    expect(mcf.storedToken(ADA)?.refreshToken).toBeUndefined(); // no prompt=consent: oidc-provider drops offline_access
    expect(mcf.counters.callbacks).toEqual([{ email: ADA, status: 200, outcome: 'linked' }]);

    const replayed = await fetch(callback);
    expect(replayed.status).toBe(400);
    expect(await replayed.text()).toContain('Invalid OAuth state parameter');
    const refused = await fetch(`${mcf.callbackUrl}?error=access_denied&error_description=End-User+aborted+interaction`);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('OAuth Authorization Failed');

    const result = await call(await tokenFor(ADA), 'rovo-createjiraissue', CREATE);
    expect(result.isError).toBe(false);
    expect(JSON.parse((result.content[0] as { text: string }).text)).toMatchObject({ key: 'PROJ-1' });
    expect(mcp.issues({ projectKey: 'PROJ' })).toMatchObject([{ key: 'PROJ-1', summary: 'Dark mode', issueType: 'Task' }]);
    expect(mcp.toolCalls('createJiraIssue')).toMatchObject([{ arguments: CREATE, token: mcf.storedToken(ADA)?.accessToken }]);
    expect(mcp.counters).toMatchObject({ httpRequests: 4, httpPosts: 4, initializes: 1, sessionsTerminated: 0 });

    await call(await tokenFor(ADA), 'rovo-getaccessibleatlassianresources');
    expect(mcp.counters.httpRequests).toBe(8);
    expect(mcf.counters.toolCalls.map((entry) => entry.outcome)).toEqual(['relayed', 'relayed']);
  });

  it('relays an upstream 401 on every call until the user authorizes again', async () => {
    mcf.linkUser(ADA, 'atl-revoked-token');
    const expected = {
      content: [{ type: 'text', text: `Tool invocation failed: Client error '401 Unauthorized' for url '${mcp.url}'` }],
      isError: true,
    };
    expect(await call(await tokenFor(ADA), 'rovo-createjiraissue', CREATE)).toEqual(expected);
    expect(await call(await tokenFor(ADA), 'rovo-createjiraissue', CREATE)).toEqual(expected);
    expect(mcf.counters.toolCalls.map((entry) => entry.outcome)).toEqual(['upstream-unauthorized', 'upstream-unauthorized']);
    expect(mcp.issues()).toEqual([]);

    const { status } = await authorizeThroughBrowser();
    expect(status).toBe(200);
    expect((await call(await tokenFor(ADA), 'rovo-createjiraissue', CREATE)).isError).toBe(false);
  });

  it('relays upstream tool errors as they are, and other upstream failures as Tool invocation failed', async () => {
    mcf.linkUser(ADA, ADA_STATIC_TOKEN);
    mcp.failNextToolCalls('createJiraIssue', 1, 'Input data should be a String');
    const failed = await call(await tokenFor(ADA), 'rovo-createjiraissue', CREATE);
    expect(failed.content).toEqual([{ type: 'text', text: '{"error":true,"message":"Input data should be a String"}' }]);
    expect(mcf.counters.toolCalls.at(-1)?.outcome).toBe('relayed');

    mcp.failNextRequests(1, { status: 502, match: { method: 'initialize' } });
    expect(await call(await tokenFor(ADA), 'rovo-createjiraissue', CREATE)).toEqual({
      content: [{ type: 'text', text: `Tool invocation failed: Server error '502 Bad Gateway' for url '${mcp.url}'` }],
      isError: true,
    });
    await mcp.stop();
    expect(await call(await tokenFor(ADA), 'rovo-createjiraissue', CREATE)).toEqual({
      content: [{ type: 'text', text: 'Tool invocation failed: All connection attempts failed' }],
      isError: true,
    });
    expect(mcf.counters.toolCalls.map((entry) => entry.outcome)).toEqual(['relayed', 'upstream-failed', 'upstream-failed']);
    expect(mcp.issues()).toEqual([]);
  });

  it('keeps an authorization state single use and for stateTtlSeconds only', async () => {
    await mcf.close();
    mcf = await startFakeContextForge({
      upstreamUrl: mcp.url,
      catalogToken: CATALOG_TOKEN,
      jwtSecret: SECRET,
      users: { [ADA]: { teams: [TEAM] } },
      authorization: { issuer: auth.issuer },
      stateTtlSeconds: 0.2,
    });
    const started = await fetch(`${mcf.url}/oauth/authorize/${mcf.gatewayId}`, {
      headers: bearer(await tokenFor(ADA)),
      redirect: 'manual',
    });
    const callback = await completeBrowserLeg(started.headers.get('location') ?? '', { login: 'ada' });
    await new Promise((resolve) => setTimeout(resolve, 250));
    const late = await fetch(callback);
    expect(late.status).toBe(400);
    expect(await late.text()).toContain('Invalid OAuth state parameter');
    expect(mcf.hasToken(ADA)).toBe(false);
    expect(mcf.counters.callbacks).toEqual([{ email: undefined, status: 400, outcome: 'invalid-state' }]);
  });

  it('refreshes a token about to expire, and asks the user to authorize again when the refresh is refused', async () => {
    // oidc-provider issues a refresh token only with prompt=consent (Atlassian's server needs no such thing).
    await mcf.close();
    mcf = await startContextForge({ prompt: 'consent' });
    auth.setAccessTokenTtl(60); // within MCF's 300 s: every call refreshes first
    await authorizeThroughBrowser();
    const linked = mcf.storedToken(ADA);

    expect((await call(await tokenFor(ADA), 'rovo-atlassianuserinfo')).isError).toBe(false);
    const refreshed = mcf.storedToken(ADA);
    expect(refreshed?.accessToken).not.toBe(linked?.accessToken);
    expect(refreshed?.refreshToken).not.toBe(linked?.refreshToken); // rotated, and kept
    expect(mcf.counters.refreshes).toEqual([{ email: ADA, outcome: 'refreshed' }]);

    await auth.revokeGrant('ada');
    const before = mcp.counters.httpRequests;
    expect(await call(await tokenFor(ADA), 'rovo-atlassianuserinfo')).toEqual({
      content: [
        {
          type: 'text',
          text: `Tool invocation failed: Please authorize rovo first. Visit /oauth/authorize/${mcf.gatewayId} to complete OAuth flow.`,
        },
      ],
      isError: true,
    });
    expect(mcf.hasToken(ADA)).toBe(false);
    expect(mcf.counters.refreshes.at(-1)).toEqual({ email: ADA, outcome: 'refused' });
    expect(mcp.counters.httpRequests).toBe(before);
  });
});
