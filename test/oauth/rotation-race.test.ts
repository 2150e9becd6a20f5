/**
 * Two bot processes sharing one real Redis refresh the same user's expired token at the same
 * moment. Refresh tokens are single-use: if both reached the server, the second would burn the
 * grant. Exactly one refresh must reach it, and both processes must end up with the same token.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkFlow } from '../../src/oauth/link-flow.ts';
import { createAtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import type { TokenStore } from '../../src/storage/tokens.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { startRedis } from '../support/redis.ts';
import type { RedisHandle } from '../support/redis.ts';
import { ada, linkInOneBrowser, memoryStores, publicUrl, startOAuthWorld, NO_IDENTITY_CHECK } from './helpers.ts';

const worker = fileURLToPath(new URL('./fixtures/refresh-worker.ts', import.meta.url));

interface WorkerHandle {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<{ ok: boolean; tokenHash?: string | null; error?: string }>;
}

function startWorker(env: Record<string, string>): WorkerHandle {
  const child = spawn(process.execPath, [worker], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const result = new Promise<{ ok: boolean; tokenHash?: string | null; error?: string }>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'ready') markReady();
      else if (line.startsWith('{')) resolve(JSON.parse(line));
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) without a result: ${stderr}`)));
  });
  return { child, ready, result };
}

describe('refresh-token rotation across processes', () => {
  let redis: RedisHandle;
  let world: Awaited<ReturnType<typeof startOAuthWorld>>;
  let store: KeyValueStore;
  let tokens: TokenStore;
  let key: string;

  beforeAll(async () => {
    redis = await startRedis();
    world = await startOAuthWorld();
    ({ store, tokens, key } = await memoryStores(redis.url));
  });
  afterAll(async () => {
    await store?.close();
    await world?.close();
    await redis?.close();
  });

  it('two processes refreshing the same user at once: one refresh reaches the server, both get the same valid token', async () => {
    const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: world.mcp.url }, publicUrl, store });
    const flow = createLinkFlow({ store, tokens, oauth, identityCheck: NO_IDENTITY_CHECK });
    const { link } = await linkInOneBrowser(flow, ada);
    await tokens.put(ada, { ...link, expiresAt: Date.now() - 1000 }); // expired: both must refresh

    const env = {
      STORE_URL: redis.url,
      TOKEN_ENCRYPTION_KEY: key,
      MCP_URL: world.mcp.url,
      PUBLIC_URL: publicUrl,
      TEAM_ID: ada.teamId,
      USER_ID: ada.userId,
    };
    const workers = [startWorker(env), startWorker(env)];
    try {
      await Promise.all(workers.map((w) => w.ready));
      for (const w of workers) w.child.stdin!.write('go\n');
      const results = await Promise.all(workers.map((w) => w.result));

      expect(results.every((result) => result.ok)).toBe(true);
      expect(world.auth.counters.refreshes).toBe(1);
      expect(world.auth.counters.tokenLog.filter((entry) => entry.error === 'invalid_grant')).toEqual([]);

      const stored = await tokens.get(ada);
      expect(stored?.accessToken).not.toBe(link.accessToken);
      expect(stored?.broken).toBeUndefined();
      const storedHash = createHash('sha256').update(stored!.accessToken).digest('hex');
      expect(results.map((result) => result.tokenHash)).toEqual([storedHash, storedHash]);
      expect(await world.auth.verifyAccessToken(stored!.accessToken)).toMatchObject({ sub: 'ada', aud: world.mcp.url });
    } finally {
      for (const w of workers) w.child.kill();
    }
  });
});
