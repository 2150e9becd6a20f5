/**
 * The card service as operators see it: log lines that name their component once (the composition
 * root binds it, the service adds none), and vteam_slack_cards_leader following the Lease.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.ts';
import { cardsIn, CHANNELS, startHarness, type Harness } from './harness.ts';

const [C1] = CHANNELS;

describe('the card service, observed', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('writes JSON log lines with one "component" each, as src/app.ts binds it', async () => {
    const raw: string[] = [];
    const root = pino({ level: 'debug' }, { write: (line: string) => raw.push(line) });
    h.addWorkflow('rfe-1');
    const service = h.service({ logger: root.child({ component: 'cards' }) });
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length === 1);
    await service.idle();
    await service.stop();

    expect(raw.length).toBeGreaterThan(0);
    expect(raw.some((line) => line.includes('became the leader'))).toBe(true);
    for (const line of raw) {
      expect(line.match(/"component":/g), line).toHaveLength(1);
      expect((JSON.parse(line) as { component?: string }).component).toBe('cards');
    }
  });

  it('reports vteam_slack_cards_leader: 1 on the replica holding the Lease, 0 on the others', async () => {
    const gauge = async (metrics: ReturnType<typeof createMetrics>) =>
      (await metrics.registry.getSingleMetric('vteam_slack_cards_leader')!.get()).values[0]?.value;
    const [m1, m2] = [createMetrics(), createMetrics()];
    const first = h.service({ identity: 'replica-1', metrics: m1 });
    expect(await gauge(m1)).toBe(0);
    await first.start();
    await h.slack.waitFor(() => first.isLeader());
    const second = h.service({ identity: 'replica-2', metrics: m2 });
    await second.start();
    expect(await gauge(m1)).toBe(1);
    expect(await gauge(m2)).toBe(0);

    await first.stop(); // releases the Lease: the other replica takes over
    await h.slack.waitFor(() => second.isLeader());
    expect(await gauge(m1)).toBe(0);
    expect(await gauge(m2)).toBe(1);
  });
});
