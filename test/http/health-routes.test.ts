import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { healthRoutes, readinessChecks } from '../../src/http/health-routes.ts';
import { toBoltRoutes, type AppRoute } from '../../src/http/routes.ts';
import { trackSocketModeConnection } from '../../src/slack/slack-connection.ts';
import { createStore } from '../../src/storage/store.ts';

/** Serves the routes as Bolt's HTTP receiver would (path + method match, wrapped as the app wraps them). */
async function serve(routes: AppRoute[]): Promise<{ url: string; server: Server }> {
  const bolt = toBoltRoutes(routes, pino({ level: 'silent' }));
  const server = createServer((req, res) => {
    const route = bolt.find((r) => r.path === req.url && [r.method].flat().includes(req.method ?? 'GET'));
    if (!route) return res.writeHead(404).end();
    route.handler(req as never, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('/healthz and /readyz', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function world() {
    const store = await createStore('sqlite::memory:');
    const socket = new EventEmitter();
    const state = { accepting: true };
    const { url, server } = await serve(
      healthRoutes(
        readinessChecks({
          store: () => store.ping(),
          accepting: () => state.accepting,
          slackConnected: trackSocketModeConnection(socket),
        }),
        500,
      ),
    );
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close().catch(() => undefined);
    });
    const ready = async () => {
      const response = await fetch(`${url}/readyz`);
      return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } };
    };
    return { url, store, socket, state, ready };
  }

  it('ready only once the Socket Mode connection is up; not ready while it reconnects', async () => {
    const w = await world();
    expect(await w.ready()).toEqual({
      status: 503,
      body: { status: 'not ready', checks: { store: 'ok', slack: 'unavailable', accepting: 'ok' } },
    });
    w.socket.emit('connected');
    expect((await w.ready()).status).toBe(200);
    w.socket.emit('reconnecting');
    expect((await w.ready()).body.checks.slack).toBe('unavailable');
    w.socket.emit('connected');
    expect((await w.ready()).body.status).toBe('ready');
  });

  it('503 while shutting down; /healthz stays 200', async () => {
    const w = await world();
    w.socket.emit('connected');
    w.state.accepting = false;
    expect(await w.ready()).toMatchObject({ status: 503, body: { checks: { accepting: 'unavailable' } } });
    expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
  });

  it('names the store when it is down, without details', async () => {
    const w = await world();
    w.socket.emit('connected');
    await w.store.close();
    const { status, body } = await w.ready();
    expect(status).toBe(503);
    expect(body.checks).toEqual({ store: 'unavailable', slack: 'ok', accepting: 'ok' });
  });

  // Not the Kubernetes API: shared by every replica, it would take them all out of the Service at once
  // (test/e2e/operations.test.ts: /readyz stays 200 while the API refuses the bot).
  it('HTTP mode: no slack check at all, and never a Kubernetes check', () => {
    const checks = readinessChecks({ store: async () => undefined });
    expect(Object.keys(checks)).toEqual(['store']);
  });
});
