import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLeaderElector, type LeaderElector } from '../../src/vteam/leader-election.ts';
import { startKubeFixture, type KubeFixture } from './kube-fixture.ts';

describe('leader election', () => {
  let fx: KubeFixture;
  const electors: LeaderElector[] = [];
  beforeEach(async () => {
    fx = await startKubeFixture();
    fx.kube.addNamespace('bots');
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop({ release: false })));
    await fx.close();
  });

  const elector = (identity: string, leaseMs = 1_000) => {
    const e = createLeaderElector({
      coordination: fx.clients.coordination,
      callOptions: fx.clients.callOptions,
      namespace: 'bots',
      name: 'cards',
      identity,
      leaseMs,
      retryMs: 50,
    });
    electors.push(e);
    return e;
  };
  const until = async (predicate: () => boolean, tries = 400) => {
    for (let i = 0; i < tries && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(predicate()).toBe(true);
  };
  const lease = () => fx.kube.get('leases', 'bots', 'cards') as { spec: Record<string, unknown> } | undefined;

  it('elects exactly one of several replicas and records it in the Lease', async () => {
    const all = ['a', 'b', 'c'].map((id) => elector(id));
    for (const e of all) e.start();
    await until(() => all.some((e) => e.isLeader()));
    await new Promise((r) => setTimeout(r, 300));
    expect(all.filter((e) => e.isLeader())).toHaveLength(1);
    const leader = all.find((e) => e.isLeader())!;
    expect(lease()?.spec).toMatchObject({ holderIdentity: leader.stats().identity, leaseDurationSeconds: 1 });
    expect(String(lease()?.spec.renewTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('hands over at once when the leader releases, and after the lease time when it dies', async () => {
    const a = elector('a');
    a.start();
    await until(() => a.isLeader());
    const b = elector('b');
    b.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(b.isLeader()).toBe(false);

    await a.stop(); // graceful: released
    expect(lease()?.spec.holderIdentity).toBe('');
    await until(() => b.isLeader(), 50); // within ~0.5 s, well under the 1 s lease

    const c = elector('c');
    c.start();
    await b.stop({ release: false }); // crash: the lease stays with b until it expires
    expect(lease()?.spec.holderIdentity).toBe('b');
    await until(() => c.isLeader());
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'c' });
    expect(Number(lease()?.spec.leaseTransitions)).toBeGreaterThanOrEqual(1);
  });

  it('an unreachable API server: one warning naming it and the cause, quiet retries with growing delays, then "reachable again"', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const server = fx.clients.server;
    await fx.kube.setReachable(false);
    const e = createLeaderElector({
      coordination: fx.clients.coordination,
      callOptions: fx.clients.callOptions,
      namespace: 'bots',
      name: 'cards',
      identity: 'a',
      leaseMs: 1_000,
      retryMs: 40,
      apiServer: server,
      backoff: { unreachableMaxMs: 400 },
      logger,
    });
    electors.push(e);
    e.start();
    const retries = () => lines.filter((l) => typeof l.retryInMs === 'number');
    await until(() => retries().length >= 6, 600);
    const [first, ...rest] = retries();
    expect(first).toMatchObject({ level: 40, kubernetes: server, cause: 'ECONNREFUSED', lease: 'bots/cards', attempt: 1 });
    expect(first!.msg).toBe(`Kubernetes API at ${server} unreachable (ECONNREFUSED); retrying in ${String(first!.retryInMs)} ms`);
    expect(rest.every((l) => l.level === 20 && l.cause === 'ECONNREFUSED')).toBe(true);
    const delays = rest.map((l) => l.retryInMs as number);
    expect(delays.slice(0, 3).every((d, i) => d > (i === 0 ? (first!.retryInMs as number) : delays[i - 1]!))).toBe(true);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(lines.some((l) => 'err' in l || JSON.stringify(l).includes('"stack"'))).toBe(false);

    await fx.kube.setReachable(true);
    await until(() => e.isLeader(), 200);
    expect(lines.find((l) => l.msg === 'Kubernetes API reachable again')).toMatchObject({
      level: 30,
      kubernetes: server,
      after: 'ECONNREFUSED',
    });
    expect(e.stats().failures).toBe(0);
  });

  it('steps down when it cannot renew', async () => {
    const a = elector('a', 600);
    a.start();
    await until(() => a.isLeader());
    fx.kube.failNext({ resource: 'leases' }, { status: 500 }, 1_000);
    await until(() => !a.isLeader());
  });
});
