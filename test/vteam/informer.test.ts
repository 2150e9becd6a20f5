import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.ts';
import type { Workflow } from '../../src/publishing/model.ts';
import { createInformer, type Informer, type InformerEvent } from '../../src/vteam/informer.ts';
import { toWorkflow } from '../../src/vteam/workflow-mapping.ts';
import { startKubeFixture, type KubeFixture } from './kube-fixture.ts';

const PATH = '/apis/vteam.ambient-code/v1alpha1/rfeworkflows';

describe('informer', () => {
  let fx: KubeFixture;
  let informer: Informer<Workflow> | undefined;
  let events: InformerEvent<Workflow>[];
  const metrics = createMetrics();

  beforeEach(async () => {
    fx = await startKubeFixture({ bookmarkIntervalMs: 0 });
    fx.kube.addProject('team-a');
    fx.kube.addProject('team-b');
    events = [];
  });
  afterEach(async () => {
    await informer?.stop();
    await fx.close();
  });

  function start(pageSize = 500, logger?: Logger): Informer<Workflow> {
    informer = createInformer<Workflow>({
      logger,
      kubeConfig: fx.clients.kubeConfig,
      path: PATH,
      resource: 'rfeworkflows',
      list: ({ limit, continueToken }) =>
        fx.clients.customObjects.listCustomObjectForAllNamespaces(
          {
            group: 'vteam.ambient-code',
            version: 'v1alpha1',
            resourcePlural: 'rfeworkflows',
            limit,
            ...(continueToken ? { _continue: continueToken } : {}),
          },
          fx.clients.callOptions,
        ),
      map: toWorkflow,
      onEvent: (e) => events.push(e),
      metrics,
      pageSize,
      backoff: { initialMs: 20, maxMs: 100 },
      notServedRetryMs: 100,
    });
    informer.start();
    return informer;
  }

  const until = async (predicate: () => boolean) => {
    for (let i = 0; i < 400 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(predicate()).toBe(true);
  };

  it('lists every namespace in pages, then follows changes through the watch with bookmarks', async () => {
    for (let i = 0; i < 7; i++) fx.kube.addRfeWorkflow(i % 2 ? 'team-a' : 'team-b', `rfe-${i}`, { title: `T${i}` });
    const inf = start(3);
    await inf.whenSynced();
    expect(inf.size()).toBe(7);
    expect(fx.kube.count('list', 'rfeworkflows')).toBe(3);
    const watch = fx.kube.requests.find((r) => r.verb === 'watch');
    await until(() => fx.kube.activeWatches() === 1);
    expect(fx.kube.requests.find((r) => r.verb === 'watch')?.query).toMatchObject({ allowWatchBookmarks: 'true' });
    expect(watch === undefined || watch.namespace === undefined).toBe(true);

    fx.kube.modify('rfeworkflows', 'team-a', 'rfe-1', (o) => {
      (o.spec as Record<string, unknown>).title = 'Changed';
    });
    fx.kube.remove('rfeworkflows', 'team-b', 'rfe-0');
    await until(() => inf.get('team-a/rfe-1')?.title === 'Changed' && inf.get('team-b/rfe-0') === undefined);
    expect(events.slice(7).map((e) => [e.type, e.key])).toEqual([
      ['modified', 'team-a/rfe-1'],
      ['deleted', 'team-b/rfe-0'],
    ]);

    // A bookmark moves the resume point past unrelated writes.
    fx.kube.addSecret('team-a', 'x', { a: 'b' });
    fx.kube.sendBookmarks();
    await until(() => inf.stats().resourceVersion === fx.kube.resourceVersion());
  });

  it('resumes a dropped watch from its resourceVersion without relisting', async () => {
    fx.kube.addRfeWorkflow('team-a', 'rfe-1', { title: 'One' });
    const inf = start();
    await inf.whenSynced();
    await until(() => fx.kube.activeWatches() === 1);
    fx.kube.dropWatches();
    fx.kube.addRfeWorkflow('team-a', 'rfe-2', { title: 'Two' });
    await until(() => inf.get('team-a/rfe-2') !== undefined);
    fx.kube.failNext({ verb: 'watch', resource: 'rfeworkflows' }, { status: 500 }, 2);
    fx.kube.dropWatches();
    fx.kube.addRfeWorkflow('team-a', 'rfe-3', { title: 'Three' });
    await until(() => inf.get('team-a/rfe-3') !== undefined);
    expect(fx.kube.count('list', 'rfeworkflows')).toBe(1);
    expect(inf.stats().restarts).toBeGreaterThanOrEqual(3);
    expect(events.filter((e) => e.type === 'added').map((e) => e.key)).toEqual(['team-a/rfe-1', 'team-a/rfe-2', 'team-a/rfe-3']);
  });

  it('relists on 410 Gone and reports what changed while it was away', async () => {
    fx.kube.addRfeWorkflow('team-a', 'rfe-1', { title: 'One' });
    fx.kube.addRfeWorkflow('team-a', 'rfe-2', { title: 'Two' });
    const inf = start();
    await inf.whenSynced();
    await until(() => fx.kube.activeWatches() === 1);
    // Hold the reconnection off, change things, and forget the history meanwhile.
    fx.kube.failNext({ verb: 'watch', resource: 'rfeworkflows' }, 'reset', 1);
    fx.kube.dropWatches();
    fx.kube.remove('rfeworkflows', 'team-a', 'rfe-1');
    fx.kube.addRfeWorkflow('team-b', 'rfe-9', { title: 'Nine' });
    fx.kube.compactHistory();
    await until(() => inf.get('team-b/rfe-9') !== undefined && inf.get('team-a/rfe-1') === undefined);
    expect(fx.kube.count('list', 'rfeworkflows')).toBe(2);
    expect(
      events
        .slice(2)
        .map((e) => [e.type, e.key])
        .sort(),
    ).toEqual([
      ['added', 'team-b/rfe-9'],
      ['deleted', 'team-a/rfe-1'],
    ]);
  });

  it('stays idle while the collection is not served, then starts', async () => {
    fx.kube.setServed('rfeworkflows', false);
    const inf = start();
    await until(() => !inf.served());
    expect(inf.synced()).toBe(false);
    fx.kube.addRfeWorkflow('team-a', 'rfe-1', { title: 'One' });
    fx.kube.setServed('rfeworkflows', true);
    await inf.whenSynced();
    expect(inf.served()).toBe(true);
    expect(inf.size()).toBe(1);
  });

  it('an unreachable API server: one warning naming it and the cause, retries at debug, then one line when the watch works again', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    fx.kube.addRfeWorkflow('team-a', 'rfe-1', { title: 'One' });
    const i = start(500, logger);
    await i.whenSynced();
    await fx.kube.setReachable(false);
    const failures = () => lines.filter((l) => typeof l.retryInMs === 'number');
    await until(() => failures().length >= 4);
    const [first, ...rest] = failures();
    expect(first).toMatchObject({ level: 40, kubernetes: fx.clients.server, cause: 'ECONNREFUSED', resource: 'rfeworkflows' });
    expect(first!.msg).toMatch(
      /^rfeworkflows: (watch connection|list) failed: Kubernetes API at http:\/\/127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\); retrying in \d+ ms$/,
    );
    expect(rest.every((l) => l.level === 20)).toBe(true);
    expect(lines.some((l) => 'err' in l)).toBe(false);

    await fx.kube.setReachable(true);
    fx.kube.addRfeWorkflow('team-a', 'rfe-2', { title: 'Two' });
    await until(() => i.get('team-a/rfe-2') !== undefined);
    await until(() => lines.some((l) => l.level === 30 && /^rfeworkflows: (watch|list) works again$/.test(String(l.msg))));
    expect(lines.filter((l) => l.level === 30 && /works again/.test(String(l.msg)))).toHaveLength(1);
  });
});
