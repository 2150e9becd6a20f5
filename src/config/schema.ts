import { z } from 'zod';

/**
 * The typed configuration schema. Every variable of PRODUCT.md §7 plus a few operational knobs.
 * Secrets are listed in SECRET_KEYS so they are masked wherever the configuration is described.
 */
export const SECRET_KEYS = [
  'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'ATLASSIAN_OAUTH_CLIENT_SECRET',
  'TOKEN_ENCRYPTION_KEY', 'GITHUB_TOKEN',
] as const;

const optionalString = z.string().trim().min(1).optional();
const url = (what: string) =>
  z.string().trim().refine((v) => isHttpUrl(v), { message: `must be an http(s) URL (${what})` });
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
  SLACK_BOT_TOKEN: z.string({ error: 'is required: the bot token (xoxb-…) from your Slack app\'s "OAuth & Permissions" page' })
    .trim().regex(/^xox[bp]-/, 'must be a Slack bot token starting with xoxb- (from "OAuth & Permissions")'),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: z.string().trim().regex(/^xapp-/, 'must be an app-level token starting with xapp- (from "Basic Information → App-Level Tokens", scope connections:write)').optional(),
  SLACK_API_URL: optionalUrl('the Slack Web API base, e.g. https://slack.com/api/'),
  PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(3000),
  PUBLIC_URL: optionalUrl('where browsers reach this bot, e.g. https://vteam-slack.example.com'),
  ATLASSIAN_MCP_URL: url('the Atlassian MCP endpoint').default('https://mcp.atlassian.com/v1/mcp/authv2'),
  ATLASSIAN_OAUTH_CLIENT_ID: optionalString,
  ATLASSIAN_OAUTH_CLIENT_SECRET: optionalString,
  ATLASSIAN_OAUTH_ISSUER: optionalUrl('the OAuth issuer, e.g. https://auth.atlassian.com'),
  /** Space-separated; default: what the server advertises (MCP) or Jira read/write + offline_access (classic). */
  ATLASSIAN_OAUTH_SCOPES: optionalString,
  STORE_URL: z.string().trim()
    .regex(/^(sqlite:|redis:\/\/|rediss:\/\/)/, 'must start with sqlite: (embedded, one replica) or redis:// / rediss:// (several replicas)')
    .default('sqlite://./data/vteam-slack.sqlite'),
  TOKEN_ENCRYPTION_KEY: optionalString,
  KUBECONFIG: optionalString,
  GITHUB_API_URL: optionalUrl('the GitHub REST API base, e.g. https://github.example.com/api/v3'),
  GITHUB_TOKEN: optionalString,
  CONTENT_SERVICE_URL: z.string().trim().includes('{namespace}', { message: 'must contain {namespace}, e.g. http://ambient-content.{namespace}.svc:8080' })
    .default('http://ambient-content.{namespace}.svc:8080'),
  VTEAM_URL: optionalUrl('the vTeam UI base, e.g. https://vteam.example.com'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long a publish holds its lease before another replica may take over after a crash. */
  PUBLISH_LEASE_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  /** Longest a publish waits in total for Jira's rate limit before giving up. */
  RATE_LIMIT_MAX_WAIT_SECONDS: z.coerce.number().int().min(1).max(3600).default(600),
});

export type Env = z.infer<typeof envSchema>;
