/**
 * Atlassian's API gateway (api.atlassian.com) on loopback, for what a classic 3LO app reads there:
 * `GET /oauth/token/accessible-resources`, the sites a token may use. Real answer shape: an array of
 * `{id, url, name, scopes, avatarUrl}`, one entry per site; an unknown or expired token gets 401.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface AccessibleSite {
  id: string;
  url: string;
  name: string;
}

export interface FakeAtlassianApiOptions {
  /** The sites a bearer token reaches; undefined when the token is unknown, expired or revoked. */
  sitesFor(token: string): Promise<AccessibleSite[] | undefined> | AccessibleSite[] | undefined;
  scopes?: string[];
}

export interface FakeAtlassianApi {
  /** Base URL, as ATLASSIAN_API_URL. */
  url: string;
  /** Requests to accessible-resources, with the token they carried (tests compare; never log it). */
  lookups: { token: string | undefined; status: number }[];
  /** The next `count` lookups answer `status` (e.g. 500, 503) without looking at the token. */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

export async function startFakeAtlassianApi(options: FakeAtlassianApiOptions): Promise<FakeAtlassianApi> {
  const lookups: FakeAtlassianApi['lookups'] = [];
  const failures: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method !== 'GET' || url.pathname !== '/oauth/token/accessible-resources') return answer(404, { code: 404, message: 'Not Found' });
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const failure = failures.shift();
      if (failure !== undefined) {
        lookups.push({ token, status: failure });
        return answer(failure, { code: failure, message: 'Service Unavailable' });
      }
      const sites = token === undefined ? undefined : await options.sitesFor(token);
      if (sites === undefined) {
        lookups.push({ token, status: 401 });
        return answer(401, { code: 401, message: 'Unauthorized' });
      }
      lookups.push({ token, status: 200 });
      const scopes = options.scopes ?? ['read:jira-work', 'write:jira-work', 'read:jira-user'];
      return answer(200, sites.map((site) => ({ id: site.id, url: site.url, name: site.name, scopes, avatarUrl: `${site.url}/avatar.png` })));
    })().catch(() => answer(500, { code: 500, message: 'Internal Server Error' }));
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
    failNext(count, status) {
      for (let i = 0; i < count; i += 1) failures.push(status);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
