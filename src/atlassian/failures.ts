/**
 * Turning what went wrong under an MCP call into what the gateway does next: retry once with a
 * fresh credential, re-open a forgotten session once, or tell the user (VteamError).
 */
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { errors, isVteamError } from '../errors.ts';
import { networkErrorCode } from '../lib/network-errors.ts';
import type { VteamError } from '../errors.ts';
import type { CallProbe } from './http.ts';

/** The gateway handles these itself (once each); they never reach the user as such. */
export class RecoverableFailure extends Error {
  readonly kind: 'auth' | 'session-lost';
  /** For `auth`: false when the server only hinted at a rejected token (a bare `HTTPError`). */
  readonly certain: boolean;

  constructor(kind: 'auth' | 'session-lost', cause: unknown, certain = true) {
    super(kind === 'auth' ? 'The MCP server rejected the credential' : 'The MCP server forgot the session', { cause });
    this.name = 'RecoverableFailure';
    this.kind = kind;
    this.certain = certain;
  }
}

/** When the server does not say how long to wait, wait this long before the use case retries. */
export const DEFAULT_RETRY_AFTER_MS = 30_000;

/** Errors that prove the request never left this machine (nothing can have been created). */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
]);

/**
 * @param mutating the call creates or changes an issue, so "maybe sent" means "maybe done".
 */
export function classifyTransportError(error: unknown, probe: CallProbe, mutating: boolean): VteamError | RecoverableFailure {
  if (isVteamError(error) || error instanceof RecoverableFailure) return error;
  const mayHaveActed = mutating && probe.requestSent;

  if (probe.timedOut) return errors.mcpUnreachable(error, mayHaveActed);

  const status = error instanceof StreamableHTTPError ? error.code : undefined;
  if (status !== undefined && status > 0) {
    if (status === 401) return new RecoverableFailure('auth', error);
    if (status === 429) return errors.rateLimited(probe.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS, error);
    // The SDK server answers 404 for an unknown mcp-session-id, and 400 when the id is missing or stale.
    if (status === 404 || (status === 400 && /session/i.test(error instanceof Error ? error.message : ''))) {
      return new RecoverableFailure('session-lost', error);
    }
    if (status >= 500) return errors.mcpUnreachable(error, mayHaveActed);
    return errors.mcpUnreachable(error, false);
  }

  if (error instanceof McpError) {
    if (error.code === ErrorCode.RequestTimeout || error.code === ErrorCode.ConnectionClosed)
      return errors.mcpUnreachable(error, mayHaveActed);
    // A JSON-RPC error is an answer: the server refused the call (e.g. arguments it cannot accept).
    return errors.jiraRejected(error.message);
  }

  const code = networkErrorCode(error);
  return errors.mcpUnreachable(error, code !== undefined && NOT_SENT.has(code) ? false : mayHaveActed);
}

/**
 * Whether a failed MCP request means the server is down or broken (what the circuit breaker
 * counts): no connection, a timeout, a dropped stream or a 5xx. Any other answer — 4xx, a JSON-RPC
 * error, a tool error — proves the server is up.
 */
export function isOutage(error: unknown, probe: CallProbe): boolean {
  if (probe.timedOut) return true;
  if (isVteamError(error) || error instanceof RecoverableFailure) return false;
  const status = error instanceof StreamableHTTPError ? error.code : undefined;
  if (status !== undefined && status > 0) return status >= 500;
  if (error instanceof McpError) return error.code === ErrorCode.RequestTimeout || error.code === ErrorCode.ConnectionClosed;
  return true;
}

/** The socket error under undici's `fetch failed` (lives in src/lib/, shared with the Kubernetes adapters). */
export { networkErrorCode };
