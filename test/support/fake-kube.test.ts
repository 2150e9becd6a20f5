/** The fake API server's wire behaviour, which the adapters and the end-to-end tests rely on. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKube } from './fake-kube.ts';
import { writeKubeconfig } from './kubeconfig.ts';

const RFE = '/apis/vteam.ambient-code/v1alpha1';

describe('fake Kubernetes API server', () => {
  let kube: FakeKube;
  beforeEach(async () => {
    kube = await startFakeKube({ bookmarkIntervalMs: 0 });
    kube.addProject('proj');
    kube.addRfeWorkflow(
      'proj',
      'rfe-1',
      { title: 'T', description: 'D', jiraLinks: [{ path: 'a.md', jiraKey: 'P-1' }] },
      { status: { phase: 'Ready' } },
    );
  });
  afterEach(() => kube.close());

  const call = async (method: string, path: string, body?: unknown, contentType = 'application/json', token = kube.token) => {
    const response = await fetch(`${kube.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': contentType }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const rfe = (name = 'rfe-1') => `${RFE}/namespaces/proj/rfeworkflows/${name}`;

  it('refuses a wrong token with a 401 Status', async () => {
    expect(await call('GET', rfe(), undefined, undefined, 'wrong')).toEqual({
      status: 401,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      },
    });
  });

  it('answers 404 NotFound Status objects', async () => {
    expect(await call('GET', rfe('nope'))).toEqual({
      status: 404,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
        message: 'rfeworkflows.vteam.ambient-code "nope" not found',
        details: { name: 'nope', group: 'vteam.ambient-code', kind: 'rfeworkflows' },
      },
    });
    expect((await call('GET', '/api/v1/namespaces/proj/secrets/s')).body.message).toBe('secrets "s" not found');
  });

  it('rejects a PUT with a stale resourceVersion with the exact 409 Conflict Status', async () => {
    const { body: current } = await call('GET', rfe());
    kube.modify('rfeworkflows', 'proj', 'rfe-1', (o) => {
      (o.spec as { title: string }).title = 'changed';
    });
    const result = await call('PUT', rfe(), current);
    expect(result).toEqual({
      status: 409,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        reason: 'Conflict',
        code: 409,
        message:
          'Operation cannot be fulfilled on rfeworkflows.vteam.ambient-code "rfe-1": the object has been modified; please apply your changes to the latest version and try again',
        details: { name: 'rfe-1', group: 'vteam.ambient-code', kind: 'rfeworkflows' },
      },
    });
  });

  it('bumps a global resourceVersion on writes only, keeps status on main-resource PUTs and needs a resourceVersion for custom resources', async () => {
    const { body: current } = await call('GET', rfe());
    const noop = await call('PUT', rfe(), current);
    expect(noop.body.metadata.resourceVersion).toBe(current.metadata.resourceVersion);

    const updated = await call('PUT', rfe(), { ...current, spec: { ...current.spec, title: 'New' }, status: { phase: 'Initializing' } });
    expect(updated.status).toBe(200);
    expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(current.metadata.resourceVersion));
    expect(updated.body.metadata.generation).toBe(2);
    expect(updated.body.status).toEqual({ phase: 'Ready' });

    const viaStatus = await call('PUT', `${rfe()}/status`, {
      ...updated.body,
      spec: { title: 'ignored' },
      status: { phase: 'Initializing' },
    });
    expect(viaStatus.body.spec.title).toBe('New');
    expect(viaStatus.body.status).toEqual({ phase: 'Initializing' });

    const {
      metadata: { resourceVersion: _rv, ...meta },
      ...rest
    } = viaStatus.body;
    expect((await call('PUT', rfe(), { ...rest, metadata: meta })).status).toBe(422);
  });

  it('applies JSON patches with test preconditions and merge patches', async () => {
    const { body: current } = await call('GET', rfe());
    const rv = current.metadata.resourceVersion as string;
    const patch = [
      { op: 'test', path: '/metadata/resourceVersion', value: rv },
      { op: 'add', path: '/spec/jiraLinks/-', value: { path: 'b.md', jiraKey: 'P-2' } },
    ];
    const patched = await call('PATCH', rfe(), patch, 'application/json-patch+json');
    expect(patched.body.spec.jiraLinks).toEqual([
      { path: 'a.md', jiraKey: 'P-1' },
      { path: 'b.md', jiraKey: 'P-2' },
    ]);
    const stale = await call('PATCH', rfe(), patch, 'application/json-patch+json');
    expect(stale.status).toBe(422);
    expect(stale.body.reason).toBe('Invalid');

    const merged = await call('PATCH', rfe(), { spec: { jiraLinks: [{ path: 'c.md', jiraKey: 'P-3' }] } }, 'application/merge-patch+json');
    expect(merged.body.spec.jiraLinks).toEqual([{ path: 'c.md', jiraKey: 'P-3' }]);
    expect((await call('PATCH', rfe(), { metadata: { resourceVersion: rv } }, 'application/merge-patch+json')).status).toBe(409);
    expect((await call('PATCH', rfe(), {}, 'application/strategic-merge-patch+json')).status).toBe(415);
  });

  it('filters lists by label selector, across namespaces too', async () => {
    kube.addNamespace('plain');
    kube.addProject('other', { labels: { tier: 'gold' } });
    kube.addRfeWorkflow('other', 'rfe-2', { title: 'x', description: '' });
    const names = async (path: string) => (await call('GET', path)).body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    expect(await names('/api/v1/namespaces?labelSelector=ambient-code.io%2Fmanaged%3Dtrue')).toEqual(['other', 'proj']);
    expect(await names('/api/v1/namespaces?labelSelector=tier%20in%20(gold,silver),!missing')).toEqual(['other']);
    expect(await names(`${RFE}/rfeworkflows`)).toEqual(['rfe-2', 'rfe-1']);
    expect(await names(`${RFE}/rfeworkflows?labelSelector=project%3Dproj`)).toEqual(['rfe-1']);
    const list = await call('GET', `${RFE}/namespaces/proj/rfeworkflows`);
    expect(list.body).toMatchObject({
      apiVersion: 'vteam.ambient-code/v1alpha1',
      kind: 'RFEWorkflowList',
      metadata: { resourceVersion: kube.resourceVersion() },
    });
  });

  it('streams watch events, bookmarks, resumes from a resourceVersion and answers 410 when too old', async () => {
    const start = kube.resourceVersion();
    const watch = await openWatch(`${RFE}/namespaces/proj/rfeworkflows?watch=true&allowWatchBookmarks=true&resourceVersion=${start}`);
    kube.modify('rfeworkflows', 'proj', 'rfe-1', (o) => {
      (o.spec as { title: string }).title = 'changed';
    });
    kube.addRfeWorkflow('proj', 'rfe-2', { title: 'x', description: '' });
    kube.remove('rfeworkflows', 'proj', 'rfe-2');
    kube.sendBookmarks();
    const events = await watch.next(4);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`)).toEqual([
      'MODIFIED rfe-1',
      'ADDED rfe-2',
      'DELETED rfe-2',
      'BOOKMARK ',
    ]);
    expect(events[3]!.object.metadata.resourceVersion).toBe(kube.resourceVersion());

    expect(kube.activeWatches()).toBe(1);
    expect(kube.dropWatches()).toBe(1);
    expect(await watch.ended).toBe(true);

    const resumed = await openWatch(`${RFE}/namespaces/proj/rfeworkflows?watch=true&resourceVersion=${start}`);
    expect((await resumed.next(3)).map((e) => e.type)).toEqual(['MODIFIED', 'ADDED', 'DELETED']);
    resumed.cancel();

    const fresh = await openWatch(`${RFE}/namespaces/proj/rfeworkflows?watch=true`);
    expect((await fresh.next(1)).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED rfe-1']);
    fresh.cancel();

    kube.compactHistory();
    const expired = await openWatch(`${RFE}/namespaces/proj/rfeworkflows?watch=true&resourceVersion=${start}`);
    const [error] = await expired.next(1);
    expect(error).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(await expired.ended).toBe(true);
  });

  it('serves discovery, and hides a resource whose CRD is "uninstalled"', async () => {
    const discovery = await call('GET', RFE);
    expect(discovery.body.resources.map((r: { name: string }) => r.name)).toEqual([
      'rfeworkflows',
      'rfeworkflows/status',
      'projectsettings',
    ]);
    kube.setServed('rfeworkflows', false);
    expect((await call('GET', RFE)).body.resources.map((r: { name: string }) => r.name)).toEqual(['projectsettings']);
    expect((await call('GET', rfe())).body.message).toBe('the server could not find the requested resource');
  });

  it('answers SubjectAccessReviews from the configured rules', async () => {
    kube.setAccessRules([
      { user: 'alice', namespace: 'proj', verb: 'update', resource: 'rfeworkflows', allowed: true, reason: 'admin' },
      { groups: ['viewers'], verb: 'get', allowed: true },
    ]);
    const review = (spec: object) =>
      call('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec,
      });
    const allowed = await review({
      user: 'alice',
      resourceAttributes: { namespace: 'proj', verb: 'update', group: 'vteam.ambient-code', resource: 'rfeworkflows' },
    });
    expect(allowed.status).toBe(201);
    expect(allowed.body.status).toEqual({ allowed: true, reason: 'admin' });
    expect(
      (await review({ user: 'bob', groups: ['viewers'], resourceAttributes: { namespace: 'proj', verb: 'get', resource: 'secrets' } })).body
        .status.allowed,
    ).toBe(true);
    expect(
      (await review({ user: 'bob', resourceAttributes: { namespace: 'proj', verb: 'update', resource: 'rfeworkflows' } })).body.status,
    ).toEqual({ allowed: false });
    expect(kube.accessReviews).toHaveLength(3);
  });

  it('stores leases with optimistic concurrency', async () => {
    const path = '/apis/coordination.k8s.io/v1/namespaces/proj/leases';
    const created = await call('POST', path, {
      metadata: { name: 'publish-lock' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 30 },
    });
    expect(created.status).toBe(201);
    expect((await call('POST', path, { metadata: { name: 'publish-lock' }, spec: {} })).body.reason).toBe('AlreadyExists');
    const taken = await call('PUT', `${path}/publish-lock`, { ...created.body, spec: { holderIdentity: 'b' } });
    expect(taken.status).toBe(200);
    expect((await call('PUT', `${path}/publish-lock`, { ...created.body, spec: { holderIdentity: 'c' } })).status).toBe(409);
    expect((await call('DELETE', `${path}/publish-lock`)).body.status).toBe('Success');
  });

  it('counts requests by verb and resource, and injects failures', async () => {
    kube.resetRequests();
    kube.failNext({ verb: 'get', resource: 'rfeworkflows' }, { status: 503 }, 2);
    expect((await call('GET', rfe())).status).toBe(503);
    expect((await call('GET', rfe())).body.reason).toBe('ServiceUnavailable');
    expect((await call('GET', rfe())).status).toBe(200);
    expect(kube.counts()).toEqual({ 'get rfeworkflows': 3 });
    expect(kube.count('get', 'rfeworkflows')).toBe(3);
  });

  it('speaks the watch protocol @kubernetes/client-node expects, ending the stream when watches are dropped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fake-kube-'));
    try {
      const config = new KubeConfig();
      config.loadFromFile(await writeKubeconfig(dir, kube.url, kube.token));
      const seen: string[] = [];
      let done!: (err: unknown) => void;
      const finished = new Promise<unknown>((resolve) => {
        done = resolve;
      });
      let sawAdded!: () => void;
      const added = new Promise<void>((resolve) => {
        sawAdded = resolve;
      });
      await new Watch(config).watch(
        `${RFE}/namespaces/proj/rfeworkflows`,
        { allowWatchBookmarks: true },
        (phase, object: { metadata: { name?: string } }) => {
          seen.push(`${phase} ${object.metadata.name ?? ''}`);
          if (phase === 'ADDED') sawAdded();
        },
        done,
      );
      await added;
      kube.modify('rfeworkflows', 'proj', 'rfe-1', (o) => {
        o.metadata.labels = { ...o.metadata.labels, x: 'y' };
      });
      kube.sendBookmarks();
      while (seen.length < 3) await new Promise((r) => setTimeout(r, 5));
      kube.dropWatches();
      await finished;
      expect(seen).toEqual(['ADDED rfe-1', 'MODIFIED rfe-1', 'BOOKMARK ']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  async function openWatch(path: string) {
    const controller = new AbortController();
    const response = await fetch(`${kube.url}${path}`, { headers: { Authorization: `Bearer ${kube.token}` }, signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let resolveEnded!: (value: boolean) => void;
    const ended = new Promise<boolean>((resolve) => {
      resolveEnded = resolve;
    });
    const events: { type: string; object: { metadata: { name?: string; resourceVersion?: string }; [k: string]: unknown } }[] = [];
    let consumed = 0;
    const pump = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += value;
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buffer.slice(0, newline)));
            buffer = buffer.slice(newline + 1);
          }
        }
      } catch {
        // aborted or reset
      }
      resolveEnded(true);
    })();
    return {
      ended,
      cancel: () => controller.abort(),
      async next(count: number) {
        while (events.length < consumed + count) {
          if (
            (await Promise.race([ended, new Promise((r) => setTimeout(() => r(false), 10))])) === true &&
            events.length < consumed + count
          )
            break;
        }
        void pump;
        const batch = events.slice(consumed, consumed + count);
        consumed += count;
        return batch;
      },
    };
  }
});
