import { describe, expect, it } from 'vitest';
import { backoffDelay, formatDelay } from '../../src/lib/backoff.ts';
import { NOT_CONFIGURED_BACKOFF_MAX_MS, UNREACHABLE_BACKOFF_MAX_MS } from '../../src/vteam/leader-election.ts';

describe('backoff schedule', () => {
  it('doubles from the first delay up to the cap (no jitter)', () => {
    const policy = { initialMs: 3_000, maxMs: 300_000, jitter: 0 };
    const schedule = Array.from({ length: 10 }, (_, i) => backoffDelay(i + 1, policy));
    expect(schedule).toEqual([3_000, 6_000, 12_000, 24_000, 48_000, 96_000, 192_000, 300_000, 300_000, 300_000]);
  });

  it('the lease loop: 3 s → 30 s while a configured cluster is unreachable, 3 s → 5 min with none configured', () => {
    const capped = (maxMs: number) => Array.from({ length: 9 }, (_, i) => backoffDelay(i + 1, { initialMs: 3_000, maxMs, jitter: 0 }));
    expect(capped(UNREACHABLE_BACKOFF_MAX_MS)).toEqual([3_000, 6_000, 12_000, 24_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
    expect(capped(NOT_CONFIGURED_BACKOFF_MAX_MS).slice(-3)).toEqual([192_000, 300_000, 300_000]);
  });

  it('jitter only shortens a delay, by at most its fraction, so delays before the cap still grow', () => {
    const policy = { initialMs: 1_000, maxMs: 60_000, jitter: 0.2 };
    expect(backoffDelay(1, policy, () => 0)).toBe(1_000);
    expect(backoffDelay(1, policy, () => 0.999_999)).toBe(800);
    // Worst case for growth: the longest possible delay, then the shortest possible next one.
    for (let failures = 1; failures < 6; failures++) {
      expect(backoffDelay(failures + 1, policy, () => 0.999_999)).toBeGreaterThan(backoffDelay(failures, policy, () => 0));
    }
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(4, policy);
      expect(delay).toBeGreaterThanOrEqual(6_400);
      expect(delay).toBeLessThanOrEqual(8_000);
    }
  });

  it('never overflows, and treats 0 or fewer failures as the first', () => {
    expect(backoffDelay(10_000, { initialMs: 3_000, maxMs: 30_000, jitter: 0 })).toBe(30_000);
    expect(backoffDelay(0, { initialMs: 3_000, maxMs: 30_000, jitter: 0 })).toBe(3_000);
  });

  it('formats delays as an operator reads them', () => {
    expect(formatDelay(40)).toBe('40 ms');
    expect(formatDelay(1_500)).toBe('1.5 s');
    expect(formatDelay(2_876)).toBe('2.9 s');
    expect(formatDelay(6_000)).toBe('6 s');
    expect(formatDelay(30_000)).toBe('30 s');
    expect(formatDelay(300_000)).toBe('5 min');
  });
});
