/**
 * A loopback world for jira-status: the fake MCP server, the fake Kubernetes API (through a real
 * kubeconfig and client), a real SQLite store with the encrypted token store, the real token refresher
 * as the credential source, and the real failure log and channel-problem list.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JiraLimits, JiraLimitsStatus } from '../../src/atlassian/limits.ts';
import { createAtlassianOAuth } from '../../src/oauth/oauth-client.ts';
import { createTokenRefresher } from '../../src/oauth/token-refresher.ts';
import type { SlackUserRef } from '../../src/publishing/model.ts';
import { createChannelProblems } from '../../src/storage/channel-problems.ts';
import { createFailureLog } from '../../src/status/failure-log.ts';
import { createStatusService, type StatusServiceOptions } from '../../src/status/status-service.ts';
import { parseKeyRing } from '../../src/storage/crypto.ts';
import { createLockService } from '../../src/storage/locks.ts';
import { createStore } from '../../src/storage/store.ts';
import { createTokenStore } from '../../src/storage/tokens.ts';
import type { AtlassianLink, KeyValueStore } from '../../src/storage/types.ts';
import { createProjectDirectory } from '../../src/vteam/projects.ts';
import { startFakeMcp, type FakeMcp } from '../support/fake-mcp/index.ts';
import { startFakeKube, type AccessRule, type FakeKube } from '../support/fake-kube.ts';
import { writeKubeconfig } from '../support/kubeconfig.ts';
import { createKubeClients } from '../../src/vteam/kube-clients.ts';

export const SITE = 'https://acme.atlassian.net';
export const ALICE: SlackUserRef = { teamId: 'T0001', userId: 'U0001' };
/** The channel jira-status is asked in, unless a test says otherwise. */
export const CHANNEL = 'C0001';
export const ALICE_TOKEN = 'atl-access-alice-SECRET-0123456789';
export const ALICE_REFRESH = 'atl-refresh-alice-SECRET-9876543210';

/** What the bot needs in the cluster: watch + update RFEWorkflows, patch ProjectSettings. */
export const BOT_RULES: AccessRule[] = [
  {
    user: 'system:serviceaccount:ambient-code:vteam-slack',
    group: 'vteam.ambient-code',
    resource: 'rfeworkflows',
    verb: 'watch',
    allowed: true,
  },
  {
    user: 'system:serviceaccount:ambient-code:vteam-slack',
    group: 'vteam.ambient-code',
    resource: 'rfeworkflows',
    verb: 'update',
    allowed: true,
  },
  {
    user: 'system:serviceaccount:ambient-code:vteam-slack',
    group: 'vteam.ambient-code',
    resource: 'projectsettings',
    verb: 'patch',
    allowed: true,
  },
];

/** Rate-limiter figures as the limiter would report them (the limiter itself is tested on its own). */
export function fixedLimits(overrides: Partial<JiraLimitsStatus> = {}): JiraLimits & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async status(site) {
      asked.push(site);
      return { site, usedThisHour: 120, hourlyBudget: 1000, inFlight: 1, concurrency: 4, queued: 0, circuit: 'closed', ...overrides };
    },
  };
}

/** A TCP server that accepts connections and never answers: a hung dependency. */
export async function startBlackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(() => undefined);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface StatusWorld {
  mcp: FakeMcp;
  kube: FakeKube;
  store: KeyValueStore;
  kubeconfigPath: string;
  link(user: SlackUserRef, extra?: Partial<AtlassianLink>): Promise<void>;
  failures: ReturnType<typeof createFailureLog>;
  channelProblems: ReturnType<typeof createChannelProblems>;
  /** The status service wired as the app wires it, with per-test overrides. */
  service(overrides?: Partial<StatusServiceOptions>): ReturnType<typeof createStatusService>;
  options(overrides?: Partial<StatusServiceOptions>): StatusServiceOptions;
  close(): Promise<void>;
}

export async function startStatusWorld(options: { storeUrl?: string } = {}): Promise<StatusWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'vteam-status-'));
  const mcp = await startFakeMcp({ dialect: 'rovo-v1', sites: [{ url: SITE, name: 'Acme' }], projects: [{ site: SITE, key: 'PROJ' }] });
  mcp.addToken({ token: ALICE_TOKEN, sites: [SITE], account: { name: 'Alice Example' } });
  const kube = await startFakeKube({ bookmarkIntervalMs: 0, accessRules: BOT_RULES });
  const kubeconfigPath = await writeKubeconfig(dir, kube.url, kube.token);
  const clients = createKubeClients({ kubeconfigPath });
  const store = await createStore(options.storeUrl ?? `sqlite://${join(dir, 'store.sqlite')}`);
  const tokens = createTokenStore(store, parseKeyRing(randomBytes(32).toString('base64')));
  const oauth = createAtlassianOAuth({ mode: { kind: 'mcp', mcpUrl: mcp.url }, publicUrl: 'http://localhost:3999', store });
  const credentials = createTokenRefresher({ tokens, locks: createLockService(store), oauth });
  const failures = createFailureLog(store);
  const channelProblems = createChannelProblems(store);
  const projects = createProjectDirectory(clients, { cacheTtlMs: 0 });

  const optionsOf = (overrides: Partial<StatusServiceOptions> = {}): StatusServiceOptions => ({
    mcpUrl: mcp.url,
    credentials,
    tokens,
    store,
    kube: clients,
    failures,
    limits: fixedLimits(),
    projects,
    channelProblems,
    timeoutMs: 1500,
    ...overrides,
  });

  return {
    mcp,
    kube,
    store,
    kubeconfigPath,
    failures,
    channelProblems,
    async link(user, extra = {}) {
      await tokens.put(user, {
        accessToken: ALICE_TOKEN,
        refreshToken: ALICE_REFRESH,
        expiresAt: Date.now() + 3600_000,
        linkedAt: Date.now() - 86_400_000,
        scope: 'read:jira-work write:jira-work offline_access',
        accountName: 'Alice Example',
        sites: [{ id: mcp.jira.sites[0]!.id, url: SITE, name: 'Acme' }],
        ...extra,
      });
    },
    options: optionsOf,
    service: (overrides) => createStatusService(optionsOf(overrides)),
    async close() {
      await mcp.close();
      await kube.close();
      await store.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
