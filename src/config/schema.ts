import { z } from 'zod';

/**
 * The typed configuration schema. Every variable of PRODUCT.md §7 plus a few operational knobs.
 * Secrets are listed in SECRET_KEYS so they are masked wherever the configuration is described.
 */
export const SECRET_KEYS = [
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'ATLASSIAN_OAUTH_CLIENT_SECRET',
  'TOKEN_ENCRYPTION_KEY',
  'GITHUB_TOKEN',
  'CONTEXTFORGE_JWT_SECRET',
] as const;

const optionalString = z.string().trim().min(1).optional();
const url = (what: string) =>
  z
    .string()
    .trim()
    .refine((v) => isHttpUrl(v), { message: `must be an http(s) URL (${what})` });
const optionalUrl = (what: string) => url(what).optional();

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  SLACK_BOT_TOKEN: z
    .string({ error: 'is required: the bot token (xoxb-…) from your Slack app\'s "OAuth & Permissions" page' })
    .trim()
    .regex(/^xox[bp]-/, 'must be a Slack bot token starting with xoxb- (from "OAuth & Permissions")'),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: z
    .string()
    .trim()
    .regex(
      /^xapp-/,
      'must be an app-level token starting with xapp- (from "Basic Information → App-Level Tokens", scope connections:write)',
    )
    .optional(),
  SLACK_API_URL: optionalUrl('the Slack Web API base, e.g. https://slack.com/api/'),
  PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(3000),
  PUBLIC_URL: optionalUrl('where browsers reach this bot, e.g. https://vteam-slack.example.com'),
  ATLASSIAN_MCP_URL: url('the Atlassian MCP endpoint').default('https://mcp.atlassian.com/v1/mcp/authv2'),
  /** Atlassian's API gateway: classic 3LO apps read a token's sites at /oauth/token/accessible-resources here. */
  ATLASSIAN_API_URL: url('the Atlassian API gateway, e.g. https://api.atlassian.com').default('https://api.atlassian.com'),
  ATLASSIAN_OAUTH_CLIENT_ID: optionalString,
  ATLASSIAN_OAUTH_CLIENT_SECRET: optionalString,
  ATLASSIAN_OAUTH_ISSUER: optionalUrl('the OAuth issuer, e.g. https://auth.atlassian.com'),
  /** Space-separated; default: what the server advertises (MCP) or Jira read/write + read:me + offline_access (classic). */
  ATLASSIAN_OAUTH_SCOPES: optionalString,
  /**
   * `required`: an account links only if its Atlassian email is the Slack user's profile email (so a
   * Connect link opened by someone else links nothing). `off` skips that check and weakens the protection.
   */
  ATLASSIAN_LINK_EMAIL_MATCH: z
    .enum(['required', 'off'], {
      error: 'must be required (an Atlassian account links only if its email is the Slack profile email) or off (no such check)',
    })
    .default('required'),
  /**
   * `contextforge`: ATLASSIAN_MCP_URL is a virtual server of IBM MCP Context Forge, which holds each
   * user's Atlassian tokens; the bot signs a short-lived JWT per user instead of running OAuth itself.
   */
  MCP_GATEWAY: z
    .enum(['none', 'contextforge'], {
      error: 'must be none (the bot talks to the Atlassian MCP server itself) or contextforge (through IBM MCP Context Forge)',
    })
    .default('none'),
  /** MCF's JWT_SECRET_KEY (HS256): whoever holds it can act as any MCF user, so it comes from a Secret. */
  CONTEXTFORGE_JWT_SECRET: optionalString,
  CONTEXTFORGE_JWT_ISSUER: z.string().trim().min(1).default('mcpgateway'),
  CONTEXTFORGE_JWT_AUDIENCE: z.string().trim().min(1).default('mcpgateway-api'),
  /** The MCF team whose members may run the server's tools; carried in every user's token. */
  CONTEXTFORGE_TEAM_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,128}$/, "must be an MCF team id (letters, digits, - and _), as shown in MCF's Admin UI under Teams")
    .optional(),
  /** Slack profile email → MCF user email: {email}, {local}, {domain}, as CLUSTER_USER_TEMPLATE. */
  CONTEXTFORGE_USER_TEMPLATE: z
    .string()
    .trim()
    .refine(
      (v) => /\{(email|local)\}/.test(v) && /@/.test(v.replace(/\{email\}/g, '@')),
      'must yield an email, e.g. {email} or {local}@corp.example.com',
    )
    .default('{email}'),
  /** Lifetime of the JWTs the bot signs for users. */
  CONTEXTFORGE_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
  /** The id of the Atlassian gateway in MCF (for /oauth/authorize/<id>); learned from MCF's answers when unset. */
  CONTEXTFORGE_GATEWAY_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be an MCF gateway id (letters, digits, - and _)')
    .optional(),
  STORE_URL: z
    .string()
    .trim()
    .regex(
      /^(sqlite:|redis:\/\/|rediss:\/\/)/,
      'must start with sqlite: (embedded, one replica) or redis:// / rediss:// (several replicas)',
    )
    .default('sqlite://./data/vteam-slack.sqlite'),
  TOKEN_ENCRYPTION_KEY: optionalString,
  KUBECONFIG: optionalString,
  GITHUB_API_URL: optionalUrl('the GitHub REST API base, e.g. https://github.example.com/api/v3'),
  GITHUB_TOKEN: optionalString,
  /** GitHub Enterprise hosts whose repositories may be read with a token (github.com always may). */
  GITHUB_ALLOWED_HOSTS: z
    .string()
    .trim()
    .regex(
      /^[A-Za-z0-9.-]+(:\d{1,5})?(\s*,\s*[A-Za-z0-9.-]+(:\d{1,5})?)*$/,
      'must be host names separated by commas, e.g. github.example.com,ghe.internal:8443',
    )
    .optional(),
  CONTENT_SERVICE_URL: z
    .string()
    .trim()
    .includes('{namespace}', { message: 'must contain {namespace}, e.g. http://ambient-content.{namespace}.svc:8080' })
    .default('http://ambient-content.{namespace}.svc:8080'),
  VTEAM_URL: optionalUrl('the vTeam UI base, e.g. https://vteam.example.com'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Slack user ids (comma-separated) who see every project's problems in /vteam jira-status. */
  ADMIN_SLACK_USERS: z
    .string()
    .trim()
    .regex(/^[UW][A-Z0-9]+(\s*,\s*[UW][A-Z0-9]+)*$/, 'must be Slack user ids separated by commas, e.g. U0123ABC,U0456DEF')
    .optional(),
  /** Or a Slack user group whose members are admins (needs usergroups:read). */
  ADMIN_SLACK_USERGROUP: z
    .string()
    .trim()
    .regex(/^S[A-Z0-9]+$/, 'must be a Slack user group id, e.g. S0123ABC')
    .optional(),
  /** Maps a Slack profile email to the cluster user checked by SubjectAccessReview: {email}, {local}, {domain}. */
  CLUSTER_USER_TEMPLATE: z
    .string()
    .trim()
    .refine((v) => /\{(email|local)\}/.test(v), 'must contain {email} or {local}, e.g. {email} or oidc:{local}')
    .default('{email}'),
  /** Groups added to every SubjectAccessReview (comma-separated), e.g. system:authenticated. */
  CLUSTER_USER_GROUPS: optionalString,
  /** Concurrent MCP calls per Atlassian site (well under the ~20 that trigger 429s). */
  RATE_LIMIT_CONCURRENCY: z.coerce.number().int().min(1).max(50).default(4),
  /** Requests to the MCP server per Atlassian site per hour (a gateway may make several per call). */
  RATE_LIMIT_HOURLY_BUDGET: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /** Lease for electing the one replica that posts workflow cards (coordination.k8s.io, own namespace). */
  LEADER_ELECTION_NAMESPACE: optionalString,
  LEADER_ELECTION_LEASE: z.string().trim().default('vteam-slack-cards'),
  LEADER_ELECTION_LEASE_SECONDS: z.coerce.number().int().min(2).max(300).default(15),
  /** This replica's identity in the Lease; the Deployment sets it from the pod name. */
  POD_NAME: optionalString,
  /** Slow periodic resync of workflow cards (new documents appear without a CR change). */
  CARDS_RESYNC_SECONDS: z.coerce.number().int().min(10).max(86_400).default(600),
  /** How long a publish holds its lease before another replica may take over after a crash. */
  PUBLISH_LEASE_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  /**
   * How long after a create whose outcome is unknown Jira's search may still miss the new issue: a
   * retry searches by label for this long before it creates.
   */
  PUBLISH_SEARCH_SETTLE_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  /** Longest a publish waits in total for Jira's rate limit before giving up. */
  RATE_LIMIT_MAX_WAIT_SECONDS: z.coerce.number().int().min(1).max(3600).default(600),
});

export type Env = z.infer<typeof envSchema>;
