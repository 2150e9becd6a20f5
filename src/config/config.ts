import { hostname } from 'node:os';
import type { z } from 'zod';
import { SECRET_KEYS, envSchema, type Env } from './schema.ts';

export interface Config {
  env: Env['NODE_ENV'];
  slack: {
    botToken: string;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string | undefined;
    mode: 'http' | 'socket';
  };
  http: { port: number; publicUrl: string };
  atlassian: {
    mcpUrl: string;
    /** Atlassian's API gateway (classic 3LO: accessible-resources). */
    apiUrl: string;
    oauth: { clientId?: string | undefined; clientSecret?: string | undefined; issuer?: string | undefined; scopes?: string[] | undefined };
    /** Must a linked Atlassian account have the Slack user's email (ATLASSIAN_LINK_EMAIL_MATCH)? */
    linkEmailMatch: 'required' | 'off';
    /** An MCP gateway holding users' Atlassian tokens (MCP_GATEWAY), or none. */
    gateway: { kind: 'none' } | ContextForgeConfig;
  };
  store: { url: string; tokenEncryptionKey: string | undefined };
  kubernetes: { kubeconfigPath: string | undefined };
  documents: { githubApiUrl: string | undefined; githubToken: string | undefined; githubAllowedHosts: string[]; contentServiceUrl: string };
  vteamUrl: string | undefined;
  logLevel: Env['LOG_LEVEL'];
  publishing: { leaseMs: number; rateLimitMaxWaitMs: number; searchSettleMs: number };
  admins: { userIds: string[]; userGroupId: string | undefined };
  identity: { clusterUserTemplate: string; clusterUserGroups: string[] };
  rateLimit: { concurrency: number; hourlyBudget: number };
  leaderElection: { namespace: string | undefined; leaseName: string; leaseMs: number; identity: string };
  cards: { resyncMs: number };
}

export interface ContextForgeConfig {
  kind: 'contextforge';
  /** Where MCF itself is served: ATLASSIAN_MCP_URL without `/servers/<id>/mcp`. */
  baseUrl: string;
  /** The virtual server of ATLASSIAN_MCP_URL; users' tokens are limited to it. */
  serverId: string;
  jwt: { secret: string; issuer: string; audience: string; ttlMs: number };
  teamId: string | undefined;
  /** Slack profile email → MCF user email. */
  userTemplate: string;
  gatewayId: string | undefined;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      `vteam-slack cannot start, the configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSet these environment variables (see README "Configuration") and start again.`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads the whole configuration from the environment in one place, reporting every problem at once. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const source = Object.fromEntries(Object.entries(environment).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(source);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map(describeIssue);
  if (!parsed.success) throw new ConfigError(problems);
  const env = parsed.data;

  if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
    problems.push(
      'SLACK_SIGNING_SECRET is required in HTTP mode: copy the "Signing Secret" from your Slack app\'s "Basic Information" page (or set SLACK_APP_TOKEN for Socket Mode).',
    );
  }
  if (env.NODE_ENV === 'production' && !env.TOKEN_ENCRYPTION_KEY) {
    problems.push('TOKEN_ENCRYPTION_KEY is required in production: generate one with `openssl rand -base64 32`.');
  }
  if (env.NODE_ENV === 'production' && !env.PUBLIC_URL) {
    // The localhost default would put a link no user's browser can open into every Connect message.
    problems.push(
      "PUBLIC_URL is required in production: set it to the https URL where users' browsers reach this bot (the host of its Ingress or Route), e.g. https://vteam-slack.example.com.",
    );
  }
  if (env.ATLASSIAN_OAUTH_CLIENT_SECRET && !env.ATLASSIAN_OAUTH_CLIENT_ID) {
    problems.push(
      'ATLASSIAN_OAUTH_CLIENT_SECRET is set without ATLASSIAN_OAUTH_CLIENT_ID: set both (classic 3LO app) or neither (dynamic registration).',
    );
  }
  if (env.TOKEN_ENCRYPTION_KEY) {
    env.TOKEN_ENCRYPTION_KEY.split(',').forEach((key, i) => {
      if (Buffer.from(key.trim(), 'base64').length !== 32) {
        problems.push(`TOKEN_ENCRYPTION_KEY key #${i + 1} is not 32 bytes of base64: generate one with \`openssl rand -base64 32\`.`);
      }
    });
  }
  const gateway = env.MCP_GATEWAY === 'contextforge' ? contextForgeConfig(env, problems) : undefined;
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: env.NODE_ENV,
    slack: {
      botToken: env.SLACK_BOT_TOKEN,
      signingSecret: env.SLACK_SIGNING_SECRET,
      appToken: env.SLACK_APP_TOKEN,
      apiUrl: env.SLACK_API_URL,
      mode: env.SLACK_APP_TOKEN ? 'socket' : 'http',
    },
    http: { port: env.PORT, publicUrl: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '') },
    atlassian: {
      mcpUrl: env.ATLASSIAN_MCP_URL,
      apiUrl: env.ATLASSIAN_API_URL.replace(/\/+$/, ''),
      oauth: {
        clientId: env.ATLASSIAN_OAUTH_CLIENT_ID,
        clientSecret: env.ATLASSIAN_OAUTH_CLIENT_SECRET,
        issuer: env.ATLASSIAN_OAUTH_ISSUER,
        scopes: env.ATLASSIAN_OAUTH_SCOPES?.split(/\s+/).filter(Boolean),
      },
      linkEmailMatch: env.ATLASSIAN_LINK_EMAIL_MATCH,
      gateway: gateway ?? { kind: 'none' },
    },
    store: { url: env.STORE_URL, tokenEncryptionKey: env.TOKEN_ENCRYPTION_KEY },
    kubernetes: { kubeconfigPath: env.KUBECONFIG },
    documents: {
      githubApiUrl: env.GITHUB_API_URL,
      githubToken: env.GITHUB_TOKEN,
      githubAllowedHosts: (env.GITHUB_ALLOWED_HOSTS ?? '')
        .split(',')
        .map((host) => host.trim().toLowerCase())
        .filter(Boolean),
      contentServiceUrl: env.CONTENT_SERVICE_URL,
    },
    vteamUrl: env.VTEAM_URL?.replace(/\/+$/, ''),
    logLevel: env.LOG_LEVEL,
    publishing: {
      leaseMs: env.PUBLISH_LEASE_SECONDS * 1000,
      rateLimitMaxWaitMs: env.RATE_LIMIT_MAX_WAIT_SECONDS * 1000,
      searchSettleMs: env.PUBLISH_SEARCH_SETTLE_SECONDS * 1000,
    },
    admins: {
      userIds: (env.ADMIN_SLACK_USERS ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
      userGroupId: env.ADMIN_SLACK_USERGROUP,
    },
    identity: {
      clusterUserTemplate: env.CLUSTER_USER_TEMPLATE,
      clusterUserGroups: (env.CLUSTER_USER_GROUPS ?? '')
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean),
    },
    rateLimit: { concurrency: env.RATE_LIMIT_CONCURRENCY, hourlyBudget: env.RATE_LIMIT_HOURLY_BUDGET },
    leaderElection: {
      namespace: env.LEADER_ELECTION_NAMESPACE,
      leaseName: env.LEADER_ELECTION_LEASE,
      leaseMs: env.LEADER_ELECTION_LEASE_SECONDS * 1000,
      identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
    },
    cards: { resyncMs: env.CARDS_RESYNC_SECONDS * 1000 },
  };
}

/** MCP_GATEWAY=contextforge: the virtual server's URL, the JWT secret, and nothing of our own OAuth client. */
function contextForgeConfig(env: Env, problems: string[]): ContextForgeConfig | undefined {
  const endpoint = /^(.*?)\/servers\/([A-Za-z0-9_-]{1,128})\/mcp\/?$/.exec(new URL(env.ATLASSIAN_MCP_URL).pathname);
  if (endpoint === null) {
    problems.push(
      'ATLASSIAN_MCP_URL must be the virtual server endpoint of MCP Context Forge with MCP_GATEWAY=contextforge, e.g. https://mcf.example.com/servers/<server id>/mcp.',
    );
  }
  if (!env.CONTEXTFORGE_JWT_SECRET) {
    problems.push(
      "CONTEXTFORGE_JWT_SECRET is required with MCP_GATEWAY=contextforge: set it from a Secret holding MCP Context Forge's JWT_SECRET_KEY.",
    );
  }
  if (env.ATLASSIAN_OAUTH_CLIENT_ID || env.ATLASSIAN_OAUTH_CLIENT_SECRET) {
    problems.push(
      'ATLASSIAN_OAUTH_CLIENT_ID/SECRET are not used with MCP_GATEWAY=contextforge (MCP Context Forge holds the OAuth client): remove them.',
    );
  }
  if (env.RATE_LIMIT_HOURLY_BUDGET < 4) {
    problems.push(
      'RATE_LIMIT_HOURLY_BUDGET must be at least 4 with MCP_GATEWAY=contextforge: each tool call through MCP Context Forge costs the Atlassian server four requests.',
    );
  }
  if (endpoint === null || !env.CONTEXTFORGE_JWT_SECRET) return undefined;
  const base = new URL(env.ATLASSIAN_MCP_URL);
  return {
    kind: 'contextforge',
    baseUrl: `${base.origin}${endpoint[1] ?? ''}`,
    serverId: endpoint[2] ?? '',
    jwt: {
      secret: env.CONTEXTFORGE_JWT_SECRET,
      issuer: env.CONTEXTFORGE_JWT_ISSUER,
      audience: env.CONTEXTFORGE_JWT_AUDIENCE,
      ttlMs: env.CONTEXTFORGE_TOKEN_TTL_SECONDS * 1000,
    },
    teamId: env.CONTEXTFORGE_TEAM_ID,
    userTemplate: env.CONTEXTFORGE_USER_TEMPLATE,
    gatewayId: env.CONTEXTFORGE_GATEWAY_ID,
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const name = issue.path.join('.') || 'environment';
  // zod's default wording for a missing key is "Invalid input: expected string, received undefined".
  const message = issue.code === 'invalid_type' && /received undefined/.test(issue.message) ? 'is required' : issue.message;
  return `${name} ${message}`;
}

/** For the start-up log line: secrets reduced to "set"/"unset". */
export function describeConfig(environment: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const keys = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];
  return Object.fromEntries(
    keys.flatMap((key) => {
      const value = environment[key];
      if (value === undefined || value === '') return [];
      if ((SECRET_KEYS as readonly string[]).includes(key)) return [[key, '(set)']];
      return [[key, withoutCredentials(value)]];
    }),
  );
}

/** redis://user:password@host → redis://***@host, so URLs with passwords can be logged. */
function withoutCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}
