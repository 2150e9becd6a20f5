/**
 * Exponential backoff for retry loops: `initialMs` after the first failure, doubling up to `maxMs`,
 * each delay shortened by up to `jitter` of itself (0.2: 80–100 %) so replicas do not retry in step.
 * With jitter < 0.5 every delay before the cap is longer than the one before it.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Fraction of each delay that is random, 0–1. Default 0.2. */
  jitter?: number;
}

/** The delay after the `failures`-th consecutive failure (1 = the first). */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, Math.min(failures, 64) - 1));
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.2));
  return Math.round(base * (1 - jitter * random()));
}

/** "600 ms", "6 s", "1.5 s", "5 min": a delay as an operator reads it in a log line. */
export function formatDelay(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms >= 120_000) return `${Math.round(ms / 60_000)} min`;
  if (ms >= 10_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 100) / 10} s`;
}
