/**
 * Running one health probe under a shared deadline: jira-status must answer while the user is still
 * looking, so a probe that hangs is abandoned (and aborted through its signal) and reported as
 * "timed out" instead of holding the whole reply.
 */
import { isVteamError } from '../errors.ts';

export type ProbeResult<T> =
  { state: 'done'; value: T; ms: number } | { state: 'timed-out'; afterMs: number } | { state: 'failed'; reason: string; ms: number };

/** Runs `probe` until `deadline` (epoch ms); never throws. */
export async function runProbe<T>(
  deadline: number,
  probe: (signal: AbortSignal) => Promise<T>,
  now: () => number = Date.now,
): Promise<ProbeResult<T>> {
  const started = now();
  const budget = Math.max(0, deadline - started);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timed-out'>((resolve) => {
    timer = setTimeout(() => resolve('timed-out'), budget);
  });
  try {
    const work = probe(controller.signal);
    work.catch(() => undefined); // an abandoned probe may still fail later
    const outcome = await Promise.race([work, timedOut]);
    if (outcome === 'timed-out') {
      controller.abort(new Error('probe deadline passed'));
      return { state: 'timed-out', afterMs: budget };
    }
    return { state: 'done', value: outcome as T, ms: Math.round(now() - started) };
  } catch (error) {
    return { state: 'failed', reason: describeFailure(error), ms: Math.round(now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  ClientClosedError: 'connection closed',
};

/**
 * A short reason a user may see. Built from error codes and statuses rather than raw messages, which
 * can carry request details; a free-text message is clipped and scrubbed of anything token-like.
 */
export function describeFailure(error: unknown): string {
  if (isVteamError(error)) return error.userMessage;
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 4; depth += 1) {
    const { code, name } = current as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && NETWORK_CODES[code] !== undefined) return NETWORK_CODES[code];
    if (typeof name === 'string' && NETWORK_CODES[name] !== undefined) return NETWORK_CODES[name];
    if (typeof code === 'number' && code >= 100 && code < 600) return `HTTP ${code}`;
    if (name === 'AbortError' || name === 'TimeoutError') return 'timed out';
    current = (current as { cause?: unknown }).cause;
  }
  if (error instanceof Error) return scrub(error.message) || error.name;
  return 'failed';
}

const TOKEN_LIKE = [
  /\b(bearer|basic|token)\s+[^\s,;"']+/gi,
  /\bxox[a-z]-[A-Za-z0-9-]+/g,
  /\bxapp-[A-Za-z0-9-]+/g,
  /\beyJ[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]+){0,2}/g,
  /(:\/\/)[^/@\s]+@/g,
];

/** Clips a message to one short line and replaces token-like fragments. */
export function scrub(message: string, max = 160): string {
  let text = message.replace(/\s+/g, ' ').trim();
  for (const pattern of TOKEN_LIKE)
    text = text.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === 'string' && prefix.startsWith('://') ? '://***@' : '[redacted]',
    );
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
