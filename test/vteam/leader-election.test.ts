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

  it('steps down when it cannot renew', async () => {
    const a = elector('a', 600);
    a.start();
    await until(() => a.isLeader());
    fx.kube.failNext({ resource: 'leases' }, { status: 500 }, 1_000);
    await until(() => !a.isLeader());
  });
});
