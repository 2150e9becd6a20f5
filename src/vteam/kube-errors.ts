/** Classifies errors from @kubernetes/client-node calls into what the adapters need to decide. */
import { errors, isVteamError, type VteamError } from '../errors.ts';
import { innermostMessage, isTimeoutError, networkErrorCode } from '../lib/network-errors.ts';

/** The HTTP status of an API-server answer (ApiException), or undefined for transport failures. */
export function kubeStatusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

export const isNotFound = (error: unknown) => kubeStatusCode(error) === 404;
export const isConflict = (error: unknown) => kubeStatusCode(error) === 409;

/**
 * Anything not handled by the caller: the cluster is unreachable, overloaded or timing out →
 * KUBERNETES_UNAVAILABLE; the API server refused the bot (401/403, bad request) → INTERNAL, because
 * only an operator can fix the bot's credentials or RBAC. The original error stays as `cause`.
 */
export function toKubeError(error: unknown): VteamError {
  if (isVteamError(error)) return error;
  const code = kubeStatusCode(error);
  if (code === undefined || code === 429 || code >= 500) return errors.kubernetesUnavailable(error);
  return errors.internal(error);
}

/** Every Kubernetes call fails with this when no cluster is configured (see kube-clients.ts). */
export class KubernetesNotConfiguredError extends Error {
  readonly code = 'KUBERNETES_NOT_CONFIGURED';
  constructor() {
    super('no Kubernetes cluster configured (no KUBECONFIG, no ~/.kube/config, not running in a cluster)');
    this.name = 'KubernetesNotConfiguredError';
  }
}

/** Why a Kubernetes call failed, for a log line an operator can act on (no stack trace, no secrets). */
export interface KubeFailure {
  /** The API server the call went to (see apiServerOf), `none` when no cluster is configured. */
  kubernetes: string;
  /** ECONNREFUSED, ENOTFOUND, timeout, a TLS code, `HTTP 403`, `not configured`, or a short message. */
  cause: string;
  /**
   * not-configured: no cluster at all; unreachable: no answer (connection, DNS, TLS, timeout);
   * answered: the API server answered with an error status; other: anything else (worth a stack trace).
   */
  kind: 'not-configured' | 'unreachable' | 'answered' | 'other';
}

export function describeKubeFailure(error: unknown, kubernetes: string): KubeFailure {
  let inner = error;
  // A VteamError (toKubeError) carries the client's error as its cause.
  for (let depth = 0; depth < 3 && isVteamError(inner) && inner.cause !== undefined; depth += 1) inner = inner.cause;
  if (inner instanceof KubernetesNotConfiguredError) return { kubernetes: 'none', cause: 'not configured', kind: 'not-configured' };
  // ApiException carries the status as `code`; a refused watch as `statusCode`.
  const status = kubeStatusCode(inner) ?? watchStatusCode(inner);
  if (status !== undefined) return { kubernetes, cause: `HTTP ${status}`, kind: 'answered' };
  if (isTimeoutError(inner)) return { kubernetes, cause: 'timeout', kind: 'unreachable' };
  const code = networkErrorCode(inner);
  if (code !== undefined) return { kubernetes, cause: code, kind: 'unreachable' };
  const message = innermostMessage(inner);
  // undici's `fetch failed` whose cause has no code (e.g. `bad port`: a port fetch refuses to use).
  if (inner instanceof TypeError && inner.message === 'fetch failed')
    return { kubernetes, cause: clip(message ?? 'fetch failed'), kind: 'unreachable' };
  return { kubernetes, cause: clip(message ?? String(inner)), kind: 'other' };
}

/** One sentence: `Kubernetes API at https://… unreachable (ECONNREFUSED)`, `… answered HTTP 403`. */
export function kubeFailureSummary(failure: KubeFailure): string {
  switch (failure.kind) {
    case 'not-configured':
      return 'No Kubernetes cluster configured';
    case 'unreachable':
      return `Kubernetes API at ${failure.kubernetes} unreachable (${failure.cause})`;
    case 'answered':
      return `Kubernetes API at ${failure.kubernetes} answered ${failure.cause}`;
    case 'other':
      return `Kubernetes API call to ${failure.kubernetes} failed (${failure.cause})`;
  }
}

/** Log fields for a failed call: host and cause; the error itself (with its stack) only when unexpected. */
export function kubeFailureFields(failure: KubeFailure, error: unknown): Record<string, unknown> {
  const { kubernetes, cause } = failure;
  return failure.kind === 'other' ? { kubernetes, cause, err: error } : { kubernetes, cause };
}

function watchStatusCode(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 100 && status < 600 ? status : undefined;
}

function clip(text: string): string {
  const line = text.split('\n')[0]!.trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
