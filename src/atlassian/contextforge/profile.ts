/**
 * MCP Context Forge's own answers, told apart from Jira's (reference Part D):
 *  - `Please authorize <gateway> first. Visit /oauth/authorize/<id> …`: the user never linked
 *    Atlassian in MCF (or MCF dropped a refused token); the id is remembered for the Connect flow;
 *  - `Access denied` as a tool result: the user's team may not run this server's tools;
 *  - HTTP 401/403/404 from MCF itself: the bot's token, the user's provisioning or the configured
 *    server is wrong: a problem for admins, never "Jira authentication expired".
 * The upstream's own 401 relayed by MCF (`Client error '401 Unauthorized' …`) is left to the
 * general classification: it means "authorize again", as an expired token does without a gateway.
 */
import { errors } from '../../errors.ts';
import type { McpGatewayProfile } from '../gateway-profile.ts';

/** MCF's own sentence, from its start: Jira text relayed inside a tool error cannot pose as it. */
const AUTHORIZE_FIRST = /^\s*(?:Tool invocation failed:\s*)?Please authorize \S.{0,200}? first\b/i;
/** The gateway id, whole: followed by the end of the path (a space, the sentence's dot, or the end). */
const AUTHORIZE_PATH = /\sVisit\s+\S*?\/oauth\/authorize\/([A-Za-z0-9_-]{1,128})(?=\.?(?:\s|$))/i;
const ACCESS_DENIED = /^\s*(?:Tool invocation failed:\s*)?Access denied\.?\s*$/i;
const NOT_TEAM_MEMBER = /no longer a member of the associated team/i;
const UNKNOWN_USER = /User not found/i;

export interface ContextForgeProfileOptions {
  teamId: string | undefined;
  /** MCF named the gateway a user must authorize at (validated: letters, digits, - and _). */
  onGatewayId?: (gatewayId: string) => void;
}

export function contextForgeProfile(options: ContextForgeProfileOptions): McpGatewayProfile {
  return {
    name: 'MCP Context Forge',
    upstreamRequestsPerCall: 4,
    toolFailure(message) {
      if (AUTHORIZE_FIRST.test(message)) {
        const gatewayId = AUTHORIZE_PATH.exec(message)?.[1];
        if (gatewayId !== undefined) options.onGatewayId?.(gatewayId);
        return errors.notLinked();
      }
      if (ACCESS_DENIED.test(message)) return errors.gatewayAccessDenied(options.teamId);
      return undefined;
    },
    httpRefusal(status, body) {
      const detail = new Error(`MCP Context Forge answered HTTP ${status}: ${detailOf(body)}`);
      if (status === 401) return UNKNOWN_USER.test(body) ? errors.gatewayUnknownUser(detail) : errors.gatewayMisconfigured(detail);
      if (status === 403)
        return NOT_TEAM_MEMBER.test(body) ? errors.gatewayAccessDenied(options.teamId) : errors.gatewayMisconfigured(detail);
      // MCF knows no such virtual server (or gateway): ATLASSIAN_MCP_URL is wrong.
      if (status === 404) return errors.gatewayMisconfigured(detail);
      return undefined;
    },
  };
}

/** MCF's `{"detail": "…"}`, bounded and on one line, for logs and jira-status (it never echoes a token). */
export function detailOf(body: string): string {
  const json = /\{[^]*\}/.exec(body)?.[0];
  let detail: string | undefined;
  if (json !== undefined) {
    try {
      const parsed = JSON.parse(json) as { detail?: unknown };
      if (typeof parsed.detail === 'string') detail = parsed.detail;
    } catch {
      // not JSON: use the text
    }
  }
  const text = (detail ?? body).replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 199)}…` : text || '(no detail)';
}
