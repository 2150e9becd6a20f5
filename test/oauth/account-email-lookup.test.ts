/**
 * The classic 3LO account lookup (`<ATLASSIAN_API_URL>/me`, src/atlassian/site-lookup.ts) as the
 * link-time identity check uses it: the token goes to that one host, answers are size-limited.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SiteLookupError, createAccountEmailLookup } from '../../src/atlassian/site-lookup.ts';
import { startFakeAtlassianApi } from '../support/fake-atlassian-api.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('Atlassian /me at link time (classic 3LO)', () => {
  it("answers the email of the token's account, undefined when the answer has none, and throws on a refusal", async () => {
    const api = await startFakeAtlassianApi({
      sitesFor: (token) => (token.startsWith('good') ? [] : undefined),
      accountFor: (token) =>
        token === 'good-no-email'
          ? { account_id: 'acct-2' }
          : token === 'good'
            ? { account_id: 'acct-1', email: ' ada@example.com ', name: 'Ada' }
            : undefined,
    });
    try {
      const lookup = createAccountEmailLookup({ apiUrl: `${api.url}/` });
      expect(await lookup('good')).toBe('ada@example.com');
      expect(await lookup('good-no-email')).toBeUndefined();
      await expect(lookup('good-but-no-read-me')).rejects.toMatchObject({
        name: 'SiteLookupError',
        status: 403,
        message: '/me answered 403',
      });
      await expect(lookup('unknown')).rejects.toBeInstanceOf(SiteLookupError);
      expect(api.meLookups.map((l) => [l.token, l.status])).toEqual([
        ['good', 200],
        ['good-no-email', 200],
        ['good-but-no-read-me', 403],
        ['unknown', 401],
      ]);
    } finally {
      await api.close();
    }
  });

  it('never follows a redirect (the token stays with ATLASSIAN_API_URL) and refuses an oversized answer', async () => {
    const elsewhere: (string | undefined)[] = [];
    const other = await serve((req, res) => {
      elsewhere.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"email":"x@example.com"}');
    });
    const redirecting = await serve((_req, res) => {
      res.writeHead(302, { location: `${other}/me` }).end();
    });
    await expect(createAccountEmailLookup({ apiUrl: redirecting })('token-0123456789')).rejects.toMatchObject({
      message: '/me could not be reached',
    });
    expect(elsewhere).toEqual([]);

    const huge = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"email":"ada@example.com","pad":"${'x'.repeat(100_000)}"}`);
    });
    await expect(createAccountEmailLookup({ apiUrl: huge })('token')).rejects.toMatchObject({ message: 'the /me answer is too large' });
  });
});
