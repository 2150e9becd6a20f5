/** What the fake Context Forge lets tests inspect. */

export type ToolCallOutcome =
  'relayed' | 'relayed-error' | 'access-denied' | 'unknown-tool' | 'not-authorized' | 'upstream-unauthorized' | 'upstream-failed';

export interface ContextForgeToolCall {
  email: string;
  listedName: string;
  upstreamName: string | undefined;
  outcome: ToolCallOutcome;
}

export type CallbackOutcome = 'linked' | 'provider-error' | 'missing-code' | 'invalid-state' | 'exchange-failed';

export interface ContextForgeCounters {
  /** Every request answered, by path (no query string) and status. */
  requests: { method: string; path: string; status: number }[];
  toolCalls: ContextForgeToolCall[];
  authorizeRequests: { email: string | undefined; gatewayId: string; status: number }[];
  callbacks: { email: string | undefined; status: number; outcome: CallbackOutcome }[];
  refreshes: { email: string; outcome: 'refreshed' | 'refused' | 'failed' }[];
}

export function emptyCounters(): ContextForgeCounters {
  return { requests: [], toolCalls: [], authorizeRequests: [], callbacks: [], refreshes: [] };
}
