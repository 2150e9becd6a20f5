import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.ts';
import { watchApiHealth } from '../../src/vteam/api-health.ts';

describe('the Kubernetes API probe', () => {
  it('keeps vteam_slack_kubernetes_up at 1 while the API answers, 0 while not, and logs only the changes', async () => {
    const metrics = createMetrics();
    const up = async () => (await metrics.registry.getSingleMetric('vteam_slack_kubernetes_up')!.get()).values[0]?.value;
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
    let answering = true;
    let pings = 0;
    const ping = async () => {
      pings += 1;
      if (!answering) throw new Error('connect ECONNREFUSED 10.0.0.1:443');
    };
    const health = watchApiHealth({ ping, metrics, intervalMs: 10, logger });
    try {
      await vi.waitFor(async () => expect(await up()).toBe(1));
      answering = false;
      await vi.waitFor(async () => expect(await up()).toBe(0));
      const seen = pings;
      await vi.waitFor(() => expect(pings).toBeGreaterThan(seen + 2)); // still failing: no more lines
      answering = true;
      await vi.waitFor(async () => expect(await up()).toBe(1));
    } finally {
      health.stop();
    }
    expect(lines.map((l) => l.msg)).toEqual([
      expect.stringMatching(/^the Kubernetes API does not answer.*ECONNREFUSED/),
      'the Kubernetes API answers again',
    ]);
    expect(lines[0]!.level).toBe(40);
    const stoppedAt = pings;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pings).toBe(stoppedAt);
  });
});
