/**
 * What `/vteam jira-status` found, as plain data: the probes fill it, the Block Kit builder renders it.
 * It never holds a token — only facts about the credential (sites, expiry, broken).
 */
import type { JiraLimitsStatus } from '../atlassian/limits.ts';
import type { DialectFamily } from '../atlassian/dialect.ts';
import type { ChannelProblem } from '../storage/channel-problems.ts';
import type { PublishFailure } from './failure-log.ts';
import type { ProbeResult } from './probe.ts';

export interface McpStatus {
  url: string;
  /** Whether the probe spoke MCP as the caller (their token), or only proved the endpoint answers. */
  mode: 'authenticated' | 'unauthenticated';
  /** The endpoint answered over HTTP (a 401 with an auth challenge counts). */
  reachable: boolean;
  /** HTTP status of the unauthenticated probe or of a rejected authenticated one. */
  httpStatus?: number | undefined;
  /** The unauthenticated probe got an OAuth challenge (WWW-Authenticate). */
  authChallenge?: boolean | undefined;
  /** The caller's token was refused (401/403): they should reconnect. */
  tokenRejected?: boolean | undefined;
  /** Round trip of one request: tools/list when authenticated, the bare POST otherwise. */
  rttMs?: number | undefined;
  protocolVersion?: string | undefined;
  server?: { name: string; version: string } | undefined;
  dialect?: DialectFamily | undefined;
  toolCount?: number | undefined;
  /** The tool this server offers for creating issues, if any. */
  createTool?: string | undefined;
  /** Why no authenticated probe ran (not linked, link broken). */
  note?: string | undefined;
  /** The gateway in front of the server (MCP Context Forge), when there is one. */
  gateway?: string | undefined;
  /** The gateway refused the bot's token for the caller: its own words (`detail`), bounded. */
  gatewayRefusal?: string | undefined;
}

export interface LinkStatus {
  state: 'missing' | 'broken' | 'linked';
  accountName?: string | undefined;
  sites: { name: string; url: string }[];
  linkedAt?: number | undefined;
  expiresAt?: number | undefined;
  /** A refresh token is held, so an expired access token is renewed without the user. */
  refreshable: boolean;
  scope?: string | undefined;
  /** A gateway holds the Atlassian tokens (MCP Context Forge); the state is what it answered. */
  heldBy?: string | undefined;
  /** The gateway refused the caller (no team, not provisioned): what to do. */
  refusal?: string | undefined;
}

export interface LimitsStatus {
  /** Undefined when no rate limiter is wired. */
  sites: JiraLimitsStatus[];
  /** Why nothing is shown (not linked, no limiter). */
  note?: string | undefined;
}

export interface KubernetesStatus {
  rttMs: number;
  /** Whether the cluster serves the RFEWorkflow CRD; undefined when the check failed. */
  rfeWorkflowsServed: boolean | undefined;
  /** SelfSubjectAccessReview answers; undefined when the review itself failed. */
  permissions: { watchWorkflows: boolean | undefined; updateWorkflows: boolean | undefined; patchProjectSettings: boolean | undefined };
}

export interface StoreStatus {
  rttMs: number;
}

export interface ProjectProblem {
  namespace: string;
  channels: string[];
  problem: string;
}

export interface StatusReport {
  generatedAt: number;
  /** The per-probe budget, for "timed out after 1.5 s". */
  timeoutMs: number;
  mcp: ProbeResult<McpStatus>;
  link: ProbeResult<LinkStatus>;
  limits: ProbeResult<LimitsStatus>;
  kubernetes: ProbeResult<KubernetesStatus>;
  store: ProbeResult<StoreStatus>;
  failures: ProbeResult<PublishFailure[]>;
  /** Present only for administrators. */
  admin?:
    | {
        projects: ProbeResult<ProjectProblem[]>;
        channels: ProbeResult<ChannelProblem[]>;
      }
    | undefined;
}
