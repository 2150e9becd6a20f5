/** What a failed network call (fetch, undici, node:net) says about why it failed, whatever wraps it. */

/**
 * The socket-level code of a failed request: undici wraps it as
 * `TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })`, AggregateErrors carry it in
 * `errors[0]`, and callers may wrap all that again (`cause`). The first string `code` found, depth ≤ 5.
 */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const errorsList = (current as { errors?: unknown }).errors;
    if (Array.isArray(errorsList) && errorsList.length > 0) current = errorsList[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether the request was abandoned for taking too long (AbortSignal.timeout, undici's own timeouts). */
export function isTimeoutError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const { name, code } = current as { name?: unknown; code?: unknown };
    if (name === 'TimeoutError') return true;
    if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * undici's `fetch failed` with a cause that has no code (e.g. `bad port`, for ports fetch refuses):
 * the innermost message, which says more than "fetch failed".
 */
export function innermostMessage(error: unknown): string | undefined {
  let message: string | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const text = (current as { message?: unknown }).message;
    if (typeof text === 'string' && text !== '') message = text;
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}
