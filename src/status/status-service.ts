/**
 * `/vteam jira-status`'s engine: every probe runs at once under one deadline, so the reply comes
 * within Slack's patience even when a dependency hangs (that probe is then "timed out").
 */
import type { Logger } from 'pino';
import type { AtlassianCredential, AtlassianCredentials } from '../atlassian/credentials.ts';
import type { McpGatewayProfile } from '../atlassian/gateway-profile.ts';
import type { GatewayAccessCheck } from '../atlassian/jira-gateway.ts';
import type { FetchLike } from '../atlassian/http.ts';
import type { JiraLimits } from '../atlassian/limits.ts';
import { isVteamError } from '../errors.ts';
import type { SlackUserRef } from '../publishing/model.ts';
import type { ProjectDirectory } from '../publishing/ports.ts';
import type { ChannelProblems } from '../storage/channel-problems.ts';
import type { TokenStore } from '../storage/tokens.ts';
import type { AtlassianLink, KeyValueStore } from '../storage/types.ts';
import type { FailureLog } from './failure-log.ts';
import { probeKubernetes, type KubeProbeClients } from './kube-probe.ts';
import { probeMcpAsUser, probeMcpUnauthenticated } from './mcp-probe.ts';
import { runProbe } from './probe.ts';
import { failureScope } from './failure-scope.ts';
import { findProjectProblems } from './project-config.ts';
import type { LimitsStatus, LinkStatus, McpStatus, StatusReport } from './report.ts';

export interface StatusServiceOptions {
  mcpUrl: string;
  /** Where the caller's fresh credential comes from (the token refresher). */
  credentials: Pick<AtlassianCredentials, 'current'>;
  tokens: Pick<TokenStore, 'get'>;
  store: Pick<KeyValueStore, 'ping'>;
  kube: KubeProbeClients;
  failures: Pick<FailureLog, 'recent'>;
  /** The rate limiter; without it the budget section says so. */
  limits?: JiraLimits | undefined;
  /** Which projects bind the caller's channel (what a non-administrator may see) and, for administrators, every binding. */
  projects?: Pick<ProjectDirectory, 'bindings' | 'jiraSettings' | 'projectsBoundTo'> | undefined;
  channelProblems?: Pick<ChannelProblems, 'list'> | undefined;
  /** Budget of every probe, measured from the start of the report. Default 1.5 s. */
  timeoutMs?: number;
  /** Recent failures shown. Default 5. */
  failureCount?: number;
  fetch?: FetchLike | undefined;
  logger?: Logger | undefined;
  now?: () => number;
  /**
   * A gateway holding users' Atlassian tokens (MCP Context Forge): the link section is what it
   * answers to a read call as the caller, not what the token store holds.
   */
  gateway?: { profile: Pick<McpGatewayProfile, 'name'>; checkAccess(user: SlackUserRef): Promise<GatewayAccessCheck> } | undefined;
}

export interface StatusService {
  /**
   * `isAdmin` may be a promise: the admin check then runs alongside the other probes. A non-admin sees
   * only the failures of projects bound to `channelId` (the channel they asked in) and their own.
   */
  report(user: SlackUserRef, options: { isAdmin: boolean | Promise<boolean>; channelId: string }): Promise<StatusReport>;
}

export function createStatusService(options: StatusServiceOptions): StatusService {
  const timeoutMs = options.timeoutMs ?? 1500;
  const now = options.now ?? Date.now;
  const mcpOptions = { mcpUrl: options.mcpUrl, fetch: options.fetch, logger: options.logger, gateway: options.gateway?.profile };

  async function mcpProbe(user: SlackUserRef, signal: AbortSignal): Promise<McpStatus> {
    let credential: AtlassianCredential | undefined;
    let note: string | undefined;
    try {
      credential = await options.credentials.current(user);
      if (credential === undefined) note = 'you have not connected an Atlassian account';
    } catch (error) {
      // A broken link (or a refresh that cannot happen now) still lets us check the server.
      note = isVteamError(error, 'AUTH_EXPIRED')
        ? 'your Atlassian link needs reconnecting'
        : isVteamError(error)
          ? error.userMessage
          : 'your Atlassian token could not be refreshed';
    }
    if (signal.aborted) throw signal.reason;
    return credential === undefined ? probeMcpUnauthenticated(mcpOptions, signal, note) : probeMcpAsUser(mcpOptions, credential, signal);
  }

  function linkStatus(link: AtlassianLink | undefined): LinkStatus {
    if (link === undefined) return { state: 'missing', sites: [], refreshable: false };
    return {
      state: link.broken ? 'broken' : 'linked',
      accountName: link.accountName,
      sites: (link.sites ?? []).map(({ name, url }) => ({ name, url })),
      linkedAt: link.linkedAt,
      expiresAt: link.expiresAt,
      refreshable: link.refreshToken !== undefined,
      scope: link.scope,
    };
  }

  /** Behind a gateway: what it answers to a read call as the caller. */
  async function gatewayLinkStatus(gateway: NonNullable<StatusServiceOptions['gateway']>, user: SlackUserRef): Promise<LinkStatus> {
    const heldBy = gateway.profile.name;
    try {
      const access = await gateway.checkAccess(user);
      if (access.state === 'unauthorized') return { state: 'missing', sites: [], refreshable: false, heldBy };
      return { state: 'linked', sites: (access.sites ?? []).map(({ name, url }) => ({ name, url })), refreshable: true, heldBy };
    } catch (error) {
      if (isVteamError(error, 'GATEWAY_REFUSED') || isVteamError(error, 'GATEWAY_ACCESS_DENIED')) {
        return { state: 'broken', sites: [], refreshable: false, heldBy, refusal: error.userMessage };
      }
      throw error;
    }
  }

  async function limitsOf(statusPromise: Promise<LinkStatus>): Promise<LimitsStatus> {
    const limits = options.limits;
    if (limits === undefined) return { sites: [], note: 'no rate limiter is configured' };
    const link = await statusPromise;
    const sites = [...new Set(link.sites.map((site) => site.url))].slice(0, 5);
    if (sites.length === 0)
      return {
        sites: [],
        note: link.state === 'missing' ? "connect your Atlassian account to see your site's budget" : 'your Atlassian link names no site',
      };
    return { sites: await Promise.all(sites.map((site) => limits.status(site))) };
  }

  /** Every recent failure for administrators; otherwise only what concerns the caller (see failureScope). */
  async function visibleFailures(user: SlackUserRef, channelId: string, adminAllowed: Promise<boolean>) {
    const count = options.failureCount ?? 5;
    // Asked alongside the admin check, so a non-admin's answer does not wait for both in turn.
    const bound = options.projects === undefined ? Promise.resolve([]) : options.projects.projectsBoundTo(channelId);
    bound.catch(() => undefined);
    if (await adminAllowed) return options.failures.recent(count);
    return options.failures.recent(count, failureScope(user.userId, await bound));
  }

  return {
    async report(user, { isAdmin, channelId }) {
      const generatedAt = now();
      const deadline = generatedAt + timeoutMs;
      const probe = <T>(fn: (signal: AbortSignal) => Promise<T>) => runProbe(deadline, fn, now);

      const linkPromise: Promise<LinkStatus> =
        options.gateway === undefined ? options.tokens.get(user).then(linkStatus) : gatewayLinkStatus(options.gateway, user);
      linkPromise.catch(() => undefined);

      // An admin check that fails or misses the deadline counts as "not an administrator".
      let adminTimer: NodeJS.Timeout | undefined;
      const adminAllowed = Promise.race([
        Promise.resolve(isAdmin).catch(() => false),
        new Promise<false>((resolve) => {
          adminTimer = setTimeout(() => resolve(false), Math.max(0, deadline - now()));
        }),
      ]).finally(() => clearTimeout(adminTimer));

      const admin = (async () => {
        if (!(await adminAllowed)) return undefined;
        const { projects, channelProblems } = options;
        const [projectProblems, channels] = await Promise.all([
          probe(async (signal) => (projects === undefined ? [] : findProjectProblems(projects, signal))),
          probe(async () => (channelProblems === undefined ? [] : (await channelProblems.list()).sort((a, b) => b.at - a.at))),
        ]);
        return { projects: projectProblems, channels };
      })();

      const [mcp, link, limits, kubernetes, store, failures, adminSections] = await Promise.all([
        probe((signal) => mcpProbe(user, signal)),
        probe(() => linkPromise),
        probe(() => limitsOf(linkPromise)),
        probe((signal) => probeKubernetes(options.kube, signal)),
        probe(async () => {
          const started = performance.now();
          await options.store.ping();
          return { rttMs: Math.round(performance.now() - started) };
        }),
        probe(() => visibleFailures(user, channelId, adminAllowed)),
        admin,
      ]);
      const report: StatusReport = { generatedAt, timeoutMs, mcp, link, limits, kubernetes, store, failures, admin: adminSections };
      options.logger?.debug(
        {
          mcp: mcp.state,
          link: link.state,
          limits: limits.state,
          kubernetes: kubernetes.state,
          store: store.state,
          admin: adminSections !== undefined,
        },
        'jira-status report built',
      );
      return report;
    },
  };
}
