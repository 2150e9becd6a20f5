/**
 * What differs when an MCP gateway stands between the bot and the Atlassian MCP server: some of its
 * answers are its own, not Jira's, and each tool call may cost the upstream several requests.
 * Without a gateway there is no profile and every answer is the server's.
 */
import type { VteamError } from '../errors.ts';

export interface McpGatewayProfile {
  /** Shown in logs and jira-status. */
  readonly name: string;
  /** A tool failure that is the gateway speaking (user not authorized there, no access), or undefined. */
  toolFailure(message: string): VteamError | undefined;
  /** An HTTP refusal by the gateway itself (bad token, unknown user, unknown server), or undefined. */
  httpRefusal(status: number, body: string): VteamError | undefined;
  /** Requests one tool call costs the upstream server (what its rate limit counts). */
  readonly upstreamRequestsPerCall: number;
}
