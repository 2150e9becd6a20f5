/**
 * Our routes as Bolt serves them: Bolt ignores what a handler returns, so a failing handler must
 * still answer (500) and leave a log line, not an unhandled rejection and a request that hangs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CustomRoute } from '@slack/bolt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { toBoltRoutes, type AppRoute } from '../../src/http/routes.ts';

describe('toBoltRoutes', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  /** Calls the handler the way Bolt's receivers do: the returned value is dropped. */
  async function serve(routes: AppRoute[]) {
    const logs: { level: number; msg: string; path?: string; err?: { message: string } }[] = [];
    const logger = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          logs.push(JSON.parse(line) as (typeof logs)[number]);
        },
      },
    );
    const bolt: CustomRoute[] = toBoltRoutes(routes, logger);
    const server = createServer((req, res) => {
      const route = bolt.find((r) => r.path === req.url);
      if (route) route.handler(req as never, res);
      else res.writeHead(404).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logs };
  }

  it('answers 500 and logs the route when a handler rejects or throws', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', record);
    try {
      const { url, logs } = await serve([
        {
          path: '/async',
          method: ['GET'],
          handler: async () => {
            throw new Error('registry collect failed');
          },
        },
        {
          path: '/sync',
          method: ['GET'],
          handler: () => {
            throw new Error('sync failure');
          },
        },
        {
          path: '/fine',
          method: ['GET'],
          handler: async (_req, res) => {
            res.end('ok');
          },
        },
      ]);
      for (const path of ['/async', '/sync']) {
        const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) });
        expect(response.status).toBe(500);
      }
      expect(await (await fetch(`${url}/fine`)).text()).toBe('ok');
      expect(logs.filter((l) => l.level === 50).map((l) => [l.path, l.err?.message])).toEqual([
        ['/async', 'registry collect failed'],
        ['/sync', 'sync failure'],
      ]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('cuts a response that had already started, so the client is not left waiting', async () => {
    const { url } = await serve([
      {
        path: '/half',
        method: ['GET'],
        handler: async (_req, res) => {
          res.writeHead(200);
          res.write('partial');
          throw new Error('late failure');
        },
      },
    ]);
    const response = await fetch(`${url}/half`, { signal: AbortSignal.timeout(5_000) });
    await expect(response.text()).rejects.toThrow();
  });
});
