/**
 * The HTTP edge under the MCP SDK transport. The transport fixes its headers at construction and
 * hides status details (`Retry-After`, whether anything was sent), so every request goes through
 * this wrapper: it adds the user's *current* credential and records what happened on the call's probe.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { AtlassianCredential } from './credentials.ts';

/** One MCP request as the gateway sees it; the wrapper finds it through AsyncLocalStorage. */
export interface CallProbe {
  /** Aborts the HTTP exchange when the call's deadline passes. */
  signal: AbortSignal;
  timedOut: boolean;
  /** A POST was handed to the network: from here on the server may have acted on it. */
  requestSent: boolean;
  status: number | undefined;
  retryAfterMs: number | undefined;
  /** The site this call acts on, for the self-hosted server's `X-Atlassian-Cloud-Id`; null: send none. */
  cloudId: string | null | undefined;
}

export function newProbe(signal: AbortSignal, cloudId?: string | null): CallProbe {
  return { signal, timedOut: false, requestSent: false, status: undefined, retryAfterMs: undefined, cloudId };
}

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface AuthorizingFetchOptions {
  fetch: FetchLike;
  /** Read on every request, so a refreshed token is used without rebuilding the transport. */
  credential: () => AtlassianCredential;
  probes: AsyncLocalStorage<CallProbe>;
}

export function createAuthorizingFetch(options: AuthorizingFetchOptions): FetchLike {
  return async (url, init = {}) => {
    const credential = options.credential();
    const probe = options.probes.getStore();
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${credential.accessToken}`);
    // The self-hosted server routes Bearer tokens to Jira Cloud only with this header; Rovo ignores it.
    const cloudId = probe?.cloudId === undefined ? credential.cloudId : probe.cloudId;
    if (cloudId !== undefined && cloudId !== null) headers.set('x-atlassian-cloud-id', cloudId);
    else headers.delete('x-atlassian-cloud-id');

    const signals = [init.signal, probe?.signal].filter((signal): signal is AbortSignal => signal != null);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    if (probe !== undefined && (init.method ?? 'GET').toUpperCase() === 'POST') probe.requestSent = true;

    const response = await options.fetch(url, { ...init, headers, ...(signal === undefined ? {} : { signal }) });
    if (probe !== undefined && (init.method ?? 'GET').toUpperCase() === 'POST') {
      probe.status = response.status;
      if (response.status === 429) probe.retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    }
    return response;
  };
}

/** `Retry-After` is delta-seconds or an HTTP date (RFC 9110 §10.2.3). Bounded to one hour. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d{1,7}$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
