/** Classifies errors from @kubernetes/client-node calls into what the adapters need to decide. */
import { errors, isVteamError, type VteamError } from '../errors.ts';

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
