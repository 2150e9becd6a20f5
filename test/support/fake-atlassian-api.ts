/**
 * Atlassian's API gateway (api.atlassian.com) on loopback, for what a classic 3LO app reads there:
 *  - `GET /oauth/token/accessible-resources`, the sites a token may use. Real answer shape: an array
 *    of `{id, url, name, scopes, avatarUrl}`, one entry per site; an unknown or expired token gets 401.
 *  - `GET /me`, the user identity API (scope read:me): `{account_id, email, name, …}` of the token's
 *    account; 401 for an unknown token, 403 when no account is known for it (as a token without read:me).
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface AccessibleSite {
  id: string;
  url: string;
  name: string;
}

/** What `/me` answers for a token. */
export interface MeAccount {
  account_id: string;
  email?: string | undefined;
  name?: string | undefined;
}

type Answer<T> = Promise<T | undefined> | T | undefined;

export interface FakeAtlassianApiOptions {
  /** The sites a bearer token reaches; undefined when the token is unknown, expired or revoked. */
  sitesFor(token: string): Answer<AccessibleSite[]>;
  /** The account `/me` answers for a token; undefined → 403. Also settable later with `answerMe`. */
  accountFor?(token: string): Answer<MeAccount>;
  scopes?: string[];
}

export interface FakeAtlassianApi {
  /** Base URL, as ATLASSIAN_API_URL. */
  url: string;
  /** Requests to accessible-resources, with the token they carried (tests compare; never log it). */
  lookups: { token: string | undefined; status: number }[];
  /** Requests to `/me`, likewise. */
  meLookups: { token: string | undefined; status: number }[];
  /** The next `count` accessible-resources lookups answer `status` (e.g. 500, 503) without looking at the token. */
  failNext(count: number, status: number): void;
  /** The next `count` `/me` requests answer `status`. */
  failNextMe(count: number, status: number): void;
  /** From now on, `/me` answers this account for a token. */
  answerMe(accountFor: (token: string) => Answer<MeAccount>): void;
  close(): Promise<void>;
}

export async function startFakeAtlassianApi(options: FakeAtlassianApiOptions): Promise<FakeAtlassianApi> {
  const lookups: FakeAtlassianApi['lookups'] = [];
  const meLookups: FakeAtlassianApi['meLookups'] = [];
  const failures: number[] = [];
  const meFailures: number[] = [];
  let accountFor = options.accountFor;
  const sockets = new Set<Socket>();

  async function accessibleResources(token: string | undefined): Promise<[number, unknown]> {
    const failure = failures.shift();
    if (failure !== undefined) {
      lookups.push({ token, status: failure });
      return [failure, { code: failure, message: 'Service Unavailable' }];
    }
    const sites = token === undefined ? undefined : await options.sitesFor(token);
    if (sites === undefined) {
      lookups.push({ token, status: 401 });
      return [401, { code: 401, message: 'Unauthorized' }];
    }
    lookups.push({ token, status: 200 });
    const scopes = options.scopes ?? ['read:jira-work', 'write:jira-work', 'read:jira-user'];
    return [200, sites.map((site) => ({ id: site.id, url: site.url, name: site.name, scopes, avatarUrl: `${site.url}/avatar.png` }))];
  }

  async function me(token: string | undefined): Promise<[number, unknown]> {
    const failure = meFailures.shift();
    const status =
      failure ??
      (token === undefined || (await options.sitesFor(token)) === undefined ? 401 : (await accountFor?.(token)) === undefined ? 403 : 200);
    meLookups.push({ token, status });
    if (status !== 200) return [status, { code: status, message: status === 403 ? 'scope does not match' : 'Unauthorized' }];
    const account = (await accountFor?.(token as string))!;
    return [200, { account_type: 'atlassian', account_status: 'active', picture: 'https://avatar.example/me.png', ...account }];
  }

  const server = createServer((req, res) => {
    const answer = ([status, body]: [number, unknown]) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (req.method === 'GET' && url.pathname === '/oauth/token/accessible-resources') return answer(await accessibleResources(token));
      if (req.method === 'GET' && url.pathname === '/me') return answer(await me(token));
      return answer([404, { code: 404, message: 'Not Found' }]);
    })().catch(() => answer([500, { code: 500, message: 'Internal Server Error' }]));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    lookups,
    meLookups,
    failNext(count, status) {
      for (let i = 0; i < count; i += 1) failures.push(status);
    },
    failNextMe(count, status) {
      for (let i = 0; i < count; i += 1) meFailures.push(status);
    },
    answerMe(value) {
      accountFor = value;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
