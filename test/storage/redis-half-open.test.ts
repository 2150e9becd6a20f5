import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/storage/store.ts';
import { createLockService } from '../../src/storage/locks.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';

/**
 * A TCP relay in front of Redis that can stop relaying without closing anything: what a client sees
 * of a half-open connection (a failed-over primary, a dropped NAT entry). Bytes are held, not lost,
 * as TCP would retransmit them.
 */
async function startStallingRelay(target: number): Promise<{ url: string; stall(): void; resume(): void; close(): Promise<void> }> {
  let stalled = false;
  const pipes: { from: Socket; to: Socket }[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      pipes.push({ from, to });
      from.pipe(to);
      if (stalled) from.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stall() {
      stalled = true;
      for (const { from, to } of pipes) {
        from.unpipe(to);
        from.pause();
      }
    },
    resume() {
      stalled = false;
      for (const { from, to } of pipes) {
        from.pipe(to);
        from.resume();
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe('Redis behind a half-open connection', () => {
  it('every command ends at its deadline instead of hanging publishes and locks, and works again after', async () => {
    const relay = await startStallingRelay(redis.port);
    const store = await createStore(relay.url, { namespace: 'half-open', commandTimeoutMs: 300 });
    const locks = createLockService(store);
    try {
      await store.set('k', 1);
      relay.stall();
      const started = Date.now();
      console.log('stalled');
      const outcomes = await Promise.allSettled([
        store.get('k'),
        store.setIfAbsent('lease', 'me', 10_000),
        store.compareAndSwap('k', 1, 2),
        locks.withLock('publish:x', 10_000, async () => 'ran'),
      ]);
      expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);

      console.log(
        'settled',
        outcomes.map((o) => o.status),
      );
      relay.resume();
      // Replies of the commands that timed out arrive first, in order, and are dropped; the next ones match.
      await new Promise((resolve) => setTimeout(resolve, 200));
      console.log('set after');
      await store.set('after', 'ok');
      console.log('done set');
      expect(await store.get('after')).toBe('ok');
    } finally {
      await store.close();
      await relay.close();
    }
  });
});
