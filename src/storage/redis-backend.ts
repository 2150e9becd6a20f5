/**
 * Redis (several replicas): Keyv over @keyv/redis for plain reads and writes, and the atomics as
 * native commands on the same client: SET NX PX, a Lua compare-and-swap, SCAN.
 *
 * Outages: the client reconnects forever with capped backoff once it has connected; the offline
 * queue is disabled so operations during an outage reject at once instead of piling up, and
 * 'error' events are logged (never left unhandled, which would crash the process). Every command
 * has a deadline: a half-open connection (a failover, a dead NAT entry) answers nothing and raises
 * no error, so without one a publish or a lock would wait forever; a periodic PING shows it in the log.
 */
import KeyvRedis, { createClient } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { Logger } from 'pino';
import type { StoreBackend } from './backend.ts';
import { deserialize, encodeValue, serialize } from './codec.ts';
import { redisNotifications } from './redis-notifications.ts';

export interface RedisBackendOptions {
  url: string;
  logger?: Logger | undefined;
  /** Connection attempts at start-up before giving up (the process should fail fast then). */
  startupAttempts?: number;
  connectTimeoutMs?: number;
  /** Deadline of every operation. Default 5 s (a lease is renewed well within its 30 s). */
  commandTimeoutMs?: number;
  /** PING on an idle connection this often, so a dead one is noticed. Default 10 s. */
  pingIntervalMs?: number;
}

/**
 * Deep JSON equality in Lua, matching codec.sameJson (cjson decodes JSON objects and arrays to
 * tables; JSON null to cjson.null, which compares equal to itself).
 */
const COMPARE_AND_SWAP = `
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= 'table' then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if not same(cjson.decode(current), cjson.decode(ARGV[1])) then return 0 end
if ARGV[2] == 'delete' then
  redis.call('DEL', KEYS[1])
elseif ARGV[4] ~= '' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
`;

/** INCRBY, then an expiry only if the key has none (PTTL -1), in one step. */
const INCREMENT = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
`;

export async function openRedisBackend(options: RedisBackendOptions): Promise<StoreBackend> {
  const { logger } = options;
  const startupAttempts = options.startupAttempts ?? 5;
  let connectedOnce = false;
  let healthy = false;

  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    // node-redis's own command timeout ends when the command is written, not when it is answered:
    // the operation deadline (store.ts) covers the wait for the reply.
    commandOptions: { timeout: options.commandTimeoutMs ?? 5000 },
    pingInterval: options.pingIntervalMs ?? 10_000,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 5000,
      // A dead peer is found by TCP keepalive probes after this much silence, and the socket reconnects.
      keepAlive: true,
      keepAliveInitialDelay: 10_000,
      reconnectStrategy: (retries: number, cause: Error) =>
        !connectedOnce && retries >= startupAttempts ? cause : Math.min(100 * 2 ** retries, 2000),
    },
  });
  client.on('error', (error: Error) => {
    // Every failed reconnect attempt emits; report the transition loudly, the retries quietly.
    if (healthy) logger?.warn({ err: error }, 'Redis connection lost; reconnecting');
    else logger?.debug({ err: error }, 'Redis connection attempt failed');
    healthy = false;
  });
  client.on('ready', () => {
    if (connectedOnce && !healthy) logger?.info('Redis connection restored');
    connectedOnce = true;
    healthy = true;
  });

  try {
    await client.connect();
  } catch (error) {
    throw new Error('Could not connect to Redis (STORE_URL)', { cause: error });
  }

  const adapter = new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: true, useUnlink: false });
  // Key naming is done by store.ts (no Keyv or adapter prefix), so Keyv and the atomics agree.
  const keyv = new Keyv(adapter, { namespace: undefined, useKeyPrefix: false, throwOnErrors: true, serialize, deserialize });
  const notifications = redisNotifications(client, logger);

  return {
    keyv,
    operationDeadlineMs: options.commandTimeoutMs ?? 5000,
    insertIfAbsent: async (key, raw, ttlMs) => {
      const reply = await client.set(key, raw, {
        condition: 'NX',
        ...(ttlMs === undefined ? {} : { expiration: { type: 'PX', value: ttlMs } }),
      });
      return reply === 'OK';
    },
    compareAndSwap: async (key, expected, nextRaw, ttlMs) => {
      const reply = await client.eval(COMPARE_AND_SWAP, {
        keys: [key],
        arguments: [
          encodeValue(expected),
          nextRaw === undefined ? 'delete' : 'set',
          nextRaw ?? '',
          ttlMs === undefined ? '' : String(ttlMs),
        ],
      });
      return reply === 1;
    },
    increment: async (key, by, ttlMs) => {
      const reply = await client.eval(INCREMENT, { keys: [key], arguments: [String(by), ttlMs === undefined ? '' : String(ttlMs)] });
      return Number(reply);
    },
    keys: async (prefix) => {
      const found = new Set<string>(); // SCAN may return a key more than once
      for await (const batch of client.scanIterator({ MATCH: `${escapeGlob(prefix)}*`, COUNT: 500 })) {
        for (const key of batch) found.add(key);
      }
      return [...found].sort();
    },
    ping: async () => {
      await client.ping();
    },
    notifications,
    close: async () => {
      notifications.close();
      if (!client.isOpen) return;
      // close() waits for pending replies; during an outage there is nothing to wait for, and a server
      // that died unnoticed would make it wait forever: give it a few seconds, then drop the socket.
      if (!client.isReady) {
        client.destroy();
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 3000);
      });
      const outcome = await Promise.race([client.close().then(() => 'closed' as const), gaveUp]);
      clearTimeout(timer);
      if (outcome === 'timeout' && client.isOpen) client.destroy();
    },
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
