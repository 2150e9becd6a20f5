import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SlackUserRef } from '../../src/publishing/model.ts';
import { parseKeyRing } from '../../src/storage/crypto.ts';
import { createStore } from '../../src/storage/store.ts';
import { createTokenStore } from '../../src/storage/tokens.ts';
import { freePort, startApp, type AppProcess, type SpawnOptions } from './app-process.ts';
import { startFakeAtlassianApi, type FakeAtlassianApi } from './fake-atlassian-api.ts';
import { startFakeContextForge, type FakeContextForge } from './fake-contextforge.ts';
import { startFakeGitHub, type FakeGitHub } from './fake-github.ts';
import { startFakeKube, type FakeKube } from './fake-kube.ts';
import { startFakeMcp, type FakeDialect, type FakeMcp } from './fake-mcp/index.ts';
import { startFakeSlack, type FakeSlack } from './fake-slack.ts';
import { startAuthServer, type AuthServerHandle } from './auth-server/index.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { buttonClickBody, postToSlackEvents, slashCommandBody } from './slack-requests.ts';

export const SITE = 'https://acme.atlassian.net';
export const CHANNEL = 'C0001';
export const PROJECT = 'team-a';
export const WORKFLOW = 'rfe-1760000000';
export const SPEC = 'specs/001-dark-mode/spec.md';
export const PLAN = 'specs/001-dark-mode/plan.md';
export const TASKS = 'specs/001-dark-mode/tasks.md';
export const ALICE: SlackUserRef = { teamId: 'T0001', userId: 'U0001' };
export const ALICE_TOKEN = 'atl-access-alice-0123456789';
const SIGNING_SECRET = 'test-signing-secret';
const BOT_TOKEN = 'xoxb-test-token';

export interface Environment {
  slack: FakeSlack;
  kube: FakeKube;
  github: FakeGitHub;
  mcp: FakeMcp;
  /** A real OAuth 2.1 authorization server (oidc-provider) for the MCP endpoint, when asked for. */
  auth: AuthServerHandle | undefined;
  /** Atlassian's API gateway (ATLASSIAN_API_URL), with `classic`: where the bot lists a token's sites. */
  atlassianApi: FakeAtlassianApi | undefined;
  /** MCP Context Forge in front of the MCP server, with `contextforge`. */
  contextForge: FakeContextForge | undefined;
  app: AppProcess;
  signingSecret: string;
  /** Sends `/vteam <text>` as a signed slash command; returns the HTTP answer and the response_url used. */
  command(
    text: string,
    options?: { userId?: string; channelId?: string; app?: AppProcess },
  ): Promise<{ status: number; body: string; ms: number; responseId: string }>;
  click(
    actionId: string,
    value: string,
    options?: { userId?: string; channelId?: string; ephemeral?: boolean; messageTs?: string; app?: AppProcess },
  ): Promise<{ status: number; ms: number; responseId: string }>;
  /** The environment the app runs with (without PORT), to start more replicas. */
  appEnv(): Record<string, string>;
  /** Links a Slack user's Atlassian account the way the OAuth flow would store it. */
  link(user: SlackUserRef, accessToken: string, cloudId?: string): Promise<void>;
  workflowLinks(name?: string): { path: string; jiraKey: string }[];
  startApp(extraEnv?: Record<string, string>): Promise<AppProcess>;
  close(): Promise<void>;
}

let responseCounter = 0;

/**
 * A whole world on loopback: Slack Web API, Kubernetes API, GitHub and the Atlassian MCP server, with
 * one bound project, one RFE workflow with three documents, and the app started as users run it.
 */
export async function startEnvironment(
  options: {
    dialect?: FakeDialect;
    appEnv?: Record<string, string>;
    /** MCP-native OAuth 2.1 (discovery, dynamic registration) against a real authorization server. */
    oauth?: boolean;
    /**
     * A classic 3LO app (confidential client, `audience` = Atlassian's API gateway) against a real
     * authorization server, the sites read from a test gateway at ATLASSIAN_API_URL: the self-hosted setup.
     */
    classic?: boolean;
    /**
     * IBM MCP Context Forge in front of the Rovo server (MCP_GATEWAY=contextforge): MCF holds each
     * user's Atlassian tokens (Alice is linked there already) and users authorize at a real
     * authorization server through MCF's redirect. MCF users: Alice (U0001) and Bob (U0002) in the
     * team, Carol (U0003) in none.
     */
    contextforge?: boolean;
    /** How the app process is started: src/main.ts by default, or e.g. the production build (dist/main.js). */
    appSpawn?: SpawnOptions;
  } = {},
): Promise<Environment> {
  const dir = await mkdtemp(join(tmpdir(), 'vteam-e2e-'));
  const encryptionKey = randomBytes(32).toString('base64');
  const storeUrl = options.appEnv?.STORE_URL ?? `sqlite://${join(dir, 'store.sqlite')}`;
  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  const kube = await startFakeKube();
  const github = await startFakeGitHub();
  const mcp = await startFakeMcp({
    dialect: options.dialect ?? 'rovo-v1',
    sites: [
      { id: 'cloud-acme', url: SITE, name: 'acme' },
      { id: 'cloud-other', url: 'https://other.atlassian.net', name: 'other' },
    ],
    projects: [
      { site: SITE, key: 'PROJ' },
      { site: SITE, key: 'LOCKED' },
    ],
    tokens: [{ token: ALICE_TOKEN, sites: [SITE], account: { name: 'Alice' } }],
  });
  const kubeconfig = await writeKubeconfig(dir, kube.url, kube.token);
  const appPort = await freePort();
  const classic = options.classic === true ? await startClassicAtlassian(mcp, appPort) : undefined;
  const auth = options.oauth || options.contextforge ? await startAuthServer({ resource: mcp.url }) : classic?.auth;
  if ((options.oauth || options.contextforge) && auth)
    mcp.setAuthorization({ issuer: auth.issuer, verify: (token) => auth.verifyAccessToken(token), sites: [SITE] });
  const contextForge = options.contextforge && auth ? await startContextForgeFor(mcp, auth) : undefined;

  kube.addNamespace('vteam-slack'); // the bot's own namespace, for its Lease
  // What the bot's ServiceAccount may do, as its RBAC grants it (SelfSubjectAccessReviews answer from this).
  kube.setAccessRules([
    { user: 'system:serviceaccount:ambient-code:vteam-slack', resource: 'rfeworkflows', allowed: true },
    { user: 'system:serviceaccount:ambient-code:vteam-slack', resource: 'projectsettings', verb: 'patch', allowed: true },
  ]);
  kube.addProject(PROJECT);
  kube.addProjectSettings(PROJECT, { annotations: { 'vteam.ambient-code/slack-channels': `${CHANNEL}, C0002` } });
  kube.addSecret(PROJECT, 'ambient-runner-secrets', {
    JIRA_URL: `${SITE}/`,
    JIRA_PROJECT: 'PROJ',
    GIT_TOKEN: 'ghp-team-a',
    JIRA_API_TOKEN: 'legacy-shared-token-never-used',
  });
  kube.addRfeWorkflow(PROJECT, WORKFLOW, {
    title: 'Dark mode',
    description: 'Allow users to switch themes',
    branchName: 'ambient-dark-mode',
    umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
    jiraLinks: [{ path: 'specs/000-old/spec.md', jiraKey: 'OLD-1' }],
    customField: 'kept',
  });
  github.addRepo('org', 'spec-repo', { private: true, readers: ['ghp-team-a'] });
  github.setFiles('org', 'spec-repo', 'ambient-dark-mode', {
    'rfe.md': '# Dark mode RFE',
    [SPEC]: '# Dark mode spec\n\nUsers can pick a theme.',
    [PLAN]: '# Plan\n\n1. Tokens\n2. Toggle',
    [TASKS]: '# Tasks\n\n- [ ] T1',
    'specs/001-dark-mode/notes.txt': 'not markdown',
  });

  const baseEnv = (): Record<string, string> => ({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    ATLASSIAN_MCP_URL: mcp.url,
    STORE_URL: storeUrl,
    TOKEN_ENCRYPTION_KEY: encryptionKey,
    KUBECONFIG: kubeconfig,
    GITHUB_API_URL: github.apiUrl,
    ...classic?.appEnv,
    ...(contextForge === undefined ? {} : contextForgeEnv(contextForge)),
    PUBLISH_LEASE_SECONDS: '2',
    LEADER_ELECTION_NAMESPACE: 'vteam-slack',
    LEADER_ELECTION_LEASE_SECONDS: '3',
    ...options.appEnv,
  });

  const env: Environment = {
    slack,
    kube,
    github,
    mcp,
    auth,
    atlassianApi: classic?.api,
    contextForge,
    app: undefined as unknown as AppProcess,
    signingSecret: SIGNING_SECRET,
    async command(text, { app, ...opts } = {}) {
      const responseId = `cmd${++responseCounter}`;
      const body = slashCommandBody({ text, responseUrl: slack.responseUrl(responseId), ...opts });
      return { ...(await postToSlackEvents((app ?? env.app).url, SIGNING_SECRET, body)), responseId };
    },
    async click(actionId, value, { app, ...opts } = {}) {
      const responseId = `click${++responseCounter}`;
      const body = buttonClickBody({ actionId, value, responseUrl: slack.responseUrl(responseId), ...opts });
      const result = await postToSlackEvents((app ?? env.app).url, SIGNING_SECRET, body);
      return { status: result.status, ms: result.ms, responseId };
    },
    appEnv: baseEnv,
    async link(user, accessToken, cloudId) {
      const store = await createStore(storeUrl);
      try {
        await createTokenStore(store, parseKeyRing(encryptionKey)).put(user, {
          accessToken,
          refreshToken: undefined,
          expiresAt: Date.now() + 3600_000,
          linkedAt: Date.now(),
          cloudId,
          sites: [{ id: 'cloud-acme', url: SITE, name: 'acme' }],
          accountName: 'Alice Example',
        });
      } finally {
        await store.close();
      }
    },
    workflowLinks(name = WORKFLOW) {
      const object = kube.get('rfeworkflows', PROJECT, name) as { spec?: { jiraLinks?: { path: string; jiraKey: string }[] } } | undefined;
      return object?.spec?.jiraLinks ?? [];
    },
    async startApp(extraEnv = {}) {
      // The first start uses the port the classic client's redirect URI was registered with.
      const port = env.app === undefined ? appPort : await freePort();
      env.app = await startApp(
        { ...baseEnv(), PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, ...extraEnv },
        undefined,
        options.appSpawn,
      );
      return env.app;
    },
    async close() {
      await env.app?.kill('SIGKILL');
      await Promise.allSettled([contextForge?.close()]);
      await Promise.allSettled([slack.close(), kube.close(), github.close(), mcp.close(), auth?.close(), classic?.api.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (contextForge !== undefined) contextForge.linkUser(ALICE_EMAIL, ALICE_TOKEN);
  else await env.link(ALICE, ALICE_TOKEN, options.dialect === 'self-hosted' ? 'cloud-acme' : undefined);
  await env.startApp();
  return env;
}

export const CONTEXTFORGE = { secret: 'mcf-jwt-secret-0123456789abcdef0123', team: 'team-vteam-0001' };
/** The fake Slack's users.info answers `<user id lowercased>@example.com`. */
export const ALICE_EMAIL = 'u0001@example.com';

/** MCF in front of the Rovo server; it registers itself with the authorization server users sign in at. */
async function startContextForgeFor(mcp: FakeMcp, auth: AuthServerHandle): Promise<FakeContextForge> {
  return startFakeContextForge({
    upstreamUrl: mcp.url,
    catalogToken: ALICE_TOKEN,
    jwtSecret: CONTEXTFORGE.secret,
    users: {
      [ALICE_EMAIL]: { teams: [CONTEXTFORGE.team] },
      'u0002@example.com': { teams: [CONTEXTFORGE.team] },
      'u0003@example.com': {},
    },
    // The upstream URL as resource (as newer MCF sends it): the audience the MCP server already accepts.
    // `prompt=consent` only makes the test authorization server issue a refresh token, as Atlassian's does anyway.
    authorization: { issuer: auth.issuer, resource: 'url', extraParams: { prompt: 'consent' } },
  });
}

function contextForgeEnv(mcf: FakeContextForge): Record<string, string> {
  return {
    MCP_GATEWAY: 'contextforge',
    ATLASSIAN_MCP_URL: mcf.mcpUrl,
    CONTEXTFORGE_JWT_SECRET: CONTEXTFORGE.secret,
    CONTEXTFORGE_TEAM_ID: CONTEXTFORGE.team,
  };
}

export const CLASSIC_CLIENT = { id: 'classic-3lo-app', secret: 'classic-3lo-secret-0123456789abcdef' };

/**
 * The self-hosted setup's Atlassian side: an authorization server with the bot's classic 3LO app
 * registered (tokens bound to the API gateway's audience, as `audience=api.atlassian.com` does), and
 * the API gateway answering accessible-resources for those tokens. The MCP server accepts them too.
 */
async function startClassicAtlassian(mcp: FakeMcp, appPort: number) {
  const audience = 'https://api.atlassian.test/';
  const auth = await startAuthServer({
    defaultResource: audience,
    clients: [
      {
        client_id: CLASSIC_CLIENT.id,
        client_secret: CLASSIC_CLIENT.secret,
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: [`http://127.0.0.1:${appPort}/oauth/callback`],
        grant_types: ['authorization_code', 'refresh_token'],
      },
    ],
  });
  mcp.setAuthorization({ issuer: auth.issuer, verify: (token) => auth.verifyAccessToken(token), sites: [SITE], audience });
  const sites = mcp.jira.sites.map(({ id, url, name }) => ({ id, url, name }));
  const api = await startFakeAtlassianApi({
    // The other site first: the bot must pick the project's site, not the first grant.
    sitesFor: async (token) => ((await auth.verifyAccessToken(token))?.aud === audience ? [...sites].reverse() : undefined),
  });
  const appEnv = {
    ATLASSIAN_OAUTH_CLIENT_ID: CLASSIC_CLIENT.id,
    ATLASSIAN_OAUTH_CLIENT_SECRET: CLASSIC_CLIENT.secret,
    ATLASSIAN_OAUTH_ISSUER: auth.issuer,
    ATLASSIAN_API_URL: api.url,
  };
  return { auth, api, appEnv };
}

/** The JSON of a Publish/Update button for a document of the standard workflow. */
export function buttonValue(path: string, namespace = PROJECT, name = WORKFLOW): string {
  return JSON.stringify({ v: 1, ns: namespace, wf: name, p: path });
}
