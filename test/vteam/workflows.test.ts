import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import { createWorkflowRepository } from '../../src/vteam/workflows.ts';
import { startKubeFixture, type KubeFixture } from './kube-fixture.ts';

const noSleep = async () => {};

describe('KubeWorkflowRepository', () => {
  let fx: KubeFixture;
  beforeEach(async () => {
    fx = await startKubeFixture();
    fx.kube.addProject('proj-a');
    fx.kube.addProject('proj-b');
  });
  afterEach(() => fx.close());

  const repository = (opts = {}) => createWorkflowRepository(fx.clients, { sleep: noSleep, ...opts });

  describe('reading', () => {
    it('maps the final schema', async () => {
      fx.kube.addRfeWorkflow('proj-a', 'rfe-1760000000', {
        title: 'Dark mode',
        description: 'Allow users to switch themes',
        branchName: 'ambient-dark-mode',
        umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
        parentOutcome: 'RHASTRAT-456',
        jiraLinks: [{ path: 'specs/001-dark-mode/spec.md', jiraKey: 'PROJ-123' }],
      });
      const workflow = await repository().get({ namespace: 'proj-a', name: 'rfe-1760000000' });
      expect(workflow).toEqual({
        namespace: 'proj-a',
        name: 'rfe-1760000000',
        title: 'Dark mode',
        description: 'Allow users to switch themes',
        branchName: 'ambient-dark-mode',
        umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
        parentOutcome: 'RHASTRAT-456',
        jiraLinks: [{ path: 'specs/001-dark-mode/spec.md', jiraKey: 'PROJ-123' }],
        resourceVersion: fx.kube.get('rfeworkflows', 'proj-a', 'rfe-1760000000')!.metadata.resourceVersion,
      });
    });

    it('takes the umbrella repo from the legacy repositories list, defaulting its branch to main', async () => {
      fx.kube.addRfeWorkflow('proj-a', 'rfe-1', {
        title: 'Old',
        description: 'd',
        repositories: [
          { url: 'https://github.com/org/first', clonePath: 'first' },
          { url: 'https://github.com/org/second', branch: 'dev' },
        ],
        workspacePath: '/rfe-workflows/rfe-1/workspace',
      });
      const workflow = await repository().get({ namespace: 'proj-a', name: 'rfe-1' });
      expect(workflow?.umbrellaRepo).toEqual({ url: 'https://github.com/org/first', branch: 'main' });
      expect(workflow?.branchName).toBeUndefined();
    });

    it('tolerates missing and garbage fields, dropping only the bad parts', async () => {
      fx.kube.addRfeWorkflow('proj-a', 'rfe-2', {
        description: 42,
        branchName: '',
        umbrellaRepo: { branch: 'main' },
        parentOutcome: ['x'],
        jiraLinks: [{ path: 'specs/spec.md', jiraKey: 'P-1' }, { path: 'specs/plan.md' }, 'garbage', null, { path: '', jiraKey: 'P-2' }],
      });
      const workflow = await repository().get({ namespace: 'proj-a', name: 'rfe-2' });
      expect(workflow).toMatchObject({
        title: 'rfe-2',
        description: '',
        branchName: undefined,
        umbrellaRepo: undefined,
        parentOutcome: undefined,
      });
      expect(workflow?.jiraLinks).toEqual([{ path: 'specs/spec.md', jiraKey: 'P-1' }]);
    });

    it('returns undefined for a workflow that does not exist', async () => {
      expect(await repository().get({ namespace: 'proj-a', name: 'nope' })).toBeUndefined();
    });

    it('lists the workflows of several namespaces and nothing else', async () => {
      fx.kube.addProject('proj-c');
      fx.kube.addRfeWorkflow('proj-a', 'rfe-a', { title: 'A', description: '' });
      fx.kube.addRfeWorkflow('proj-b', 'rfe-b', { title: 'B', description: '' });
      fx.kube.addRfeWorkflow('proj-c', 'rfe-c', { title: 'C', description: '' });
      const workflows = await repository().list(['proj-a', 'proj-b', 'proj-a']);
      expect(workflows.map((w) => `${w.namespace}/${w.name}`).sort()).toEqual(['proj-a/rfe-a', 'proj-b/rfe-b']);
    });

    it('lists nothing when the cluster no longer serves rfeworkflows', async () => {
      fx.kube.addRfeWorkflow('proj-a', 'rfe-a', { title: 'A', description: '' });
      fx.kube.setServed('rfeworkflows', false);
      expect(await repository().list(['proj-a'])).toEqual([]);
      expect(await fx.clients.rfeWorkflowsServed()).toBe(false);
      fx.kube.setServed('rfeworkflows', true);
      expect(await fx.clients.rfeWorkflowsServed()).toBe(true);
    });
  });

  describe('upsertJiraLink', () => {
    const ref = { namespace: 'proj-a', name: 'rfe-1' };
    beforeEach(() => {
      fx.kube.addRfeWorkflow(
        'proj-a',
        'rfe-1',
        {
          title: 'Dark mode',
          description: 'd',
          branchName: 'ambient-dark-mode',
          umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
          supportingRepos: [{ url: 'https://github.com/org/lib', branch: 'main' }],
          futureField: { keep: true },
          jiraLinks: [{ path: 'specs/001-dark-mode/spec.md', jiraKey: 'PROJ-1', note: 'unknown entry field' }],
        },
        { annotations: { 'example.com/keep': 'yes' }, status: { phase: 'Ready' } },
      );
      fx.kube.resetRequests();
    });

    it('appends a new path with one read and one full replace, keeping every other field and entry', async () => {
      const before = fx.kube.get('rfeworkflows', 'proj-a', 'rfe-1')!;
      const { workflow, existingKey } = await repository().upsertJiraLink(ref, { path: 'specs/001-dark-mode/plan.md', jiraKey: 'PROJ-2' });
      expect(existingKey).toBeUndefined();
      expect(workflow.jiraLinks).toEqual([
        { path: 'specs/001-dark-mode/spec.md', jiraKey: 'PROJ-1' },
        { path: 'specs/001-dark-mode/plan.md', jiraKey: 'PROJ-2' },
      ]);
      const stored = fx.kube.get('rfeworkflows', 'proj-a', 'rfe-1')!;
      expect(stored.spec).toEqual({
        ...(before.spec as object),
        jiraLinks: [
          { path: 'specs/001-dark-mode/spec.md', jiraKey: 'PROJ-1', note: 'unknown entry field' },
          { path: 'specs/001-dark-mode/plan.md', jiraKey: 'PROJ-2' },
        ],
      });
      expect(stored.metadata.annotations).toEqual({ 'example.com/keep': 'yes' });
      expect(stored.metadata.labels).toEqual({ project: 'proj-a', 'rfe-workflow': 'rfe-1' });
      expect(stored.status).toEqual({ phase: 'Ready' });
      expect(fx.kube.counts()).toEqual({ 'get rfeworkflows': 1, 'update rfeworkflows': 1 });
      expect(workflow.resourceVersion).toBe(stored.metadata.resourceVersion);
    });

    it('keeps the existing key of a path that links another issue, writes nothing and names that key', async () => {
      const outcome = await repository().upsertJiraLink(ref, { path: 'specs/001-dark-mode/spec.md', jiraKey: 'PROJ-9' });
      expect(outcome.existingKey).toBe('PROJ-1');
      const spec = fx.kube.get('rfeworkflows', 'proj-a', 'rfe-1')!.spec as { jiraLinks: unknown[] };
      expect(spec.jiraLinks).toEqual([{ path: 'specs/001-dark-mode/spec.md', jiraKey: 'PROJ-1', note: 'unknown entry field' }]);
      expect(fx.kube.count('update', 'rfeworkflows')).toBe(0);
    });

    it('keeps a link someone else wrote for the same path between the read and the write (409 re-apply)', async () => {
      fx.kube.injectConflicts(1, {
        mutate: (object) => {
          (object.spec as { jiraLinks: unknown[] }).jiraLinks.push({ path: 'specs/001-dark-mode/plan.md', jiraKey: 'UI-7' });
        },
      });
      const outcome = await repository().upsertJiraLink(ref, { path: 'specs/001-dark-mode/plan.md', jiraKey: 'PROJ-2' });
      expect(outcome.existingKey).toBe('UI-7');
      expect(outcome.workflow.jiraLinks.filter((l) => l.path === 'specs/001-dark-mode/plan.md')).toEqual([
        { path: 'specs/001-dark-mode/plan.md', jiraKey: 'UI-7' },
      ]);
      const stored = fx.kube.get('rfeworkflows', 'proj-a', 'rfe-1')!.spec as { jiraLinks: { jiraKey: string }[] };
      expect(stored.jiraLinks.map((l) => l.jiraKey)).toEqual(['PROJ-1', 'UI-7']);
    });

    const planIntent = {
      path: 'specs/001-dark-mode/plan.md',
      since: 1_760_000_000_000,
      fence: 'host/1/abc',
      user: { teamId: 'T1', userId: 'U1' },
      replyTo: { channelId: 'C1', userId: 'U1' },
    };

    it('records an in-flight publish as an annotation, and the link write removes it in the same update', async () => {
      const intent = planIntent;
      const repo = repository();
      const { workflow: marked, changed } = await repo.markInFlight((await repo.get(ref))!, intent);
      expect(changed).toBe(false);
      expect(marked.inFlight).toEqual([intent]);
      const annotations = fx.kube.get('rfeworkflows', 'proj-a', 'rfe-1')!.metadata.annotations as Record<string, string>;
      expect(annotations['example.com/keep']).toBe('yes');
      expect(Object.keys(annotations).filter((k) => k.startsWith('jira-publish.vteam.ambient-code/'))).toHaveLength(1);
      const { workflow } = await repository().upsertJiraLink(marked, { path: intent.path, jiraKey: 'PROJ-2' });
      expect(workflow.inFlight ?? []).toEqual([]);
      expect(fx.kube.get('rfeworkflows', 'proj-a', 'rfe-1')!.metadata.annotations).toEqual({ 'example.com/keep': 'yes' });
      expect(fx.kube.count('update', 'rfeworkflows')).toBe(2);
    });

    it('writes the in-flight record over the version it was read from, without reading again', async () => {
      const repo = repository();
      const seen = (await repo.get(ref))!;
      fx.kube.resetRequests();
      const { changed } = await repo.markInFlight(seen, planIntent);
      expect(changed).toBe(false);
      expect(fx.kube.counts()).toEqual({ 'update rfeworkflows': 1 });
    });

    it('writes over a change to another document made since the read (409), but not over one to this document', async () => {
      const repo = repository();
      const seen = (await repo.get(ref))!;
      fx.kube.injectConflicts(1, {
        mutate: (object) =>
          (object.spec as { jiraLinks: unknown[] }).jiraLinks.push({ path: 'specs/001-dark-mode/tasks.md', jiraKey: 'PROJ-3' }),
      });
      const other = await repo.markInFlight(seen, planIntent);
      expect(other.changed).toBe(false);
      expect(other.workflow.inFlight).toEqual([planIntent]);
      expect(other.workflow.jiraLinks.map((l) => l.jiraKey)).toEqual(['PROJ-1', 'PROJ-3']);

      // Someone links the document itself between this read and the write: nothing is written, the caller decides again.
      const again = (await repo.get(ref))!;
      const research = { ...planIntent, path: 'specs/001-dark-mode/research.md' };
      fx.kube.injectConflicts(1, {
        mutate: (object) => (object.spec as { jiraLinks: unknown[] }).jiraLinks.push({ path: research.path, jiraKey: 'PROJ-4' }),
      });
      const updatesBefore = fx.kube.count('update', 'rfeworkflows');
      const same = await repo.markInFlight(again, research);
      expect(same.changed).toBe(true);
      expect(same.workflow.jiraLinks.find((l) => l.path === research.path)?.jiraKey).toBe('PROJ-4');
      expect(same.workflow.inFlight).toEqual([planIntent]);
      // The one refused PUT (the 409) and no other.
      expect(fx.kube.count('update', 'rfeworkflows')).toBe(updatesBefore + 1);
    });

    it("ignores in-flight annotations that are malformed or filed under another document's key", async () => {
      fx.kube.modify('rfeworkflows', 'proj-a', 'rfe-1', (o) => {
        (o.metadata as { annotations: Record<string, string> }).annotations = {
          'jira-publish.vteam.ambient-code/0000000000000000': JSON.stringify({
            path: 'specs/x.md',
            since: 1,
            fence: '',
            user: { teamId: 'T1', userId: 'U1' },
            replyTo: {},
          }),
          'jira-publish.vteam.ambient-code/zzz': '{not json',
        };
      });
      expect((await repository().get(ref))?.inFlight ?? []).toEqual([]);
    });

    it('does not write when the link is already recorded', async () => {
      const rv = fx.kube.resourceVersion();
      await repository().upsertJiraLink(ref, { path: 'specs/001-dark-mode/spec.md', jiraKey: 'PROJ-1' });
      expect(fx.kube.count('update', 'rfeworkflows')).toBe(0);
      expect(fx.kube.resourceVersion()).toBe(rv);
    });

    it('creates jiraLinks when the workflow has none', async () => {
      fx.kube.addRfeWorkflow('proj-a', 'rfe-empty', { title: 'T', description: '' });
      await repository().upsertJiraLink({ namespace: 'proj-a', name: 'rfe-empty' }, { path: 'specs/spec.md', jiraKey: 'P-1' });
      expect((fx.kube.get('rfeworkflows', 'proj-a', 'rfe-empty')!.spec as { jiraLinks: unknown }).jiraLinks).toEqual([
        { path: 'specs/spec.md', jiraKey: 'P-1' },
      ]);
    });

    it('survives concurrent writers: re-reads and re-applies on 409, keeping what they wrote', async () => {
      let n = 0;
      fx.kube.injectConflicts(3, {
        mutate: (object) => {
          const spec = object.spec as { jiraLinks: unknown[] };
          spec.jiraLinks.push({ path: `specs/other-${++n}.md`, jiraKey: `OTHER-${n}` });
        },
      });
      const { workflow } = await repository().upsertJiraLink(ref, { path: 'specs/001-dark-mode/tasks.md', jiraKey: 'PROJ-3' });
      expect(workflow.jiraLinks.map((l) => l.jiraKey)).toEqual(['PROJ-1', 'OTHER-1', 'OTHER-2', 'OTHER-3', 'PROJ-3']);
      expect(fx.kube.count('update', 'rfeworkflows')).toBe(4);
      expect(fx.kube.count('get', 'rfeworkflows')).toBe(4);
      expect(fx.kube.requests.filter((r) => r.verb === 'update').map((r) => r.status)).toEqual([409, 409, 409, 200]);
    });

    it('writes changes made at once on this replica together, without conflicting with itself', async () => {
      const repo = repository();
      const paths = Array.from({ length: 12 }, (_, i) => `specs/001-dark-mode/tasks.md#T${String(i + 1).padStart(3, '0')}`);
      const outcomes = await Promise.all(paths.map((path, i) => repo.upsertJiraLink(ref, { path, jiraKey: `PROJ-${100 + i}` })));
      const stored = (fx.kube.get('rfeworkflows', ref.namespace, ref.name)!.spec as { jiraLinks: { path: string }[] }).jiraLinks;
      expect(stored.map((l) => l.path)).toEqual(expect.arrayContaining(paths));
      // Every caller sees its own link in what it gets back, and none was told another issue was there.
      outcomes.forEach((outcome, i) => {
        expect(outcome.existingKey).toBeUndefined();
        expect(outcome.workflow.jiraLinks).toContainEqual({ path: paths[i], jiraKey: `PROJ-${100 + i}` });
      });
      const updates = fx.kube.requests.filter((r) => r.verb === 'update');
      expect(updates.every((r) => r.status === 200)).toBe(true);
      // The first write goes alone; the eleven that arrived meanwhile go in one more.
      expect(updates).toHaveLength(2);
    });

    it('a change in a group that must be decided again is told so, while the others are written', async () => {
      const repo = repository();
      const seen = (await repo.get(ref))!;
      // Someone links tasks.md between the read and the writes: only that document's record is refused.
      fx.kube.modify('rfeworkflows', ref.namespace, ref.name, (o) => {
        (o.spec as { jiraLinks: unknown[] }).jiraLinks.push({ path: 'specs/001-dark-mode/tasks.md', jiraKey: 'OTHER-9' });
      });
      const intent = (path: string) => ({ path, since: 1, fence: 'f', user: { teamId: 'T1', userId: 'U1' }, replyTo: {} });
      const [tasks, plan] = await Promise.all([
        repo.markInFlight(seen, intent('specs/001-dark-mode/tasks.md')),
        repo.markInFlight(seen, intent('specs/001-dark-mode/plan.md')),
      ]);
      expect(tasks.changed).toBe(true);
      expect(plan.changed).toBe(false);
      expect(plan.workflow.inFlight?.map((i) => i.path)).toEqual(['specs/001-dark-mode/plan.md']);
    });

    it('gives up after the configured attempts with KUBERNETES_UNAVAILABLE', async () => {
      fx.kube.injectConflicts(10);
      const error = await repository({ maxAttempts: 3 })
        .upsertJiraLink(ref, { path: 'specs/x.md', jiraKey: 'P-1' })
        .catch((e: unknown) => e);
      expect(isVteamError(error, 'KUBERNETES_UNAVAILABLE')).toBe(true);
      expect(fx.kube.count('update', 'rfeworkflows')).toBe(3);
    });

    it('N concurrent upserts of different paths all end up recorded', async () => {
      const repo = repository({
        maxAttempts: 50,
        sleep: (ms: number) => new Promise((r) => setTimeout(r, ms)),
        baseDelayMs: 1,
        maxDelayMs: 5,
      });
      const paths = Array.from({ length: 12 }, (_, i) => `specs/doc-${i}.md`);
      await Promise.all(paths.map((path, i) => repo.upsertJiraLink(ref, { path, jiraKey: `CON-${i}` })));
      const links = (fx.kube.get('rfeworkflows', 'proj-a', 'rfe-1')!.spec as { jiraLinks: { path: string; jiraKey: string }[] }).jiraLinks;
      expect(links).toHaveLength(13);
      for (const [i, path] of paths.entries()) expect(links).toContainEqual({ path, jiraKey: `CON-${i}` });
      expect(links[0]).toEqual({ path: 'specs/001-dark-mode/spec.md', jiraKey: 'PROJ-1', note: 'unknown entry field' });
    });

    it('maps a missing workflow to WORKFLOW_NOT_FOUND', async () => {
      const error = await repository()
        .upsertJiraLink({ namespace: 'proj-a', name: 'gone' }, { path: 'specs/spec.md', jiraKey: 'P-1' })
        .catch((e: unknown) => e);
      expect(isVteamError(error, 'WORKFLOW_NOT_FOUND')).toBe(true);
    });

    it('maps server errors and unreachable clusters to KUBERNETES_UNAVAILABLE', async () => {
      fx.kube.failNext({ verb: 'update', resource: 'rfeworkflows' }, { status: 503 });
      const unavailable = await repository()
        .upsertJiraLink(ref, { path: 'specs/y.md', jiraKey: 'P-1' })
        .catch((e: unknown) => e);
      expect(isVteamError(unavailable, 'KUBERNETES_UNAVAILABLE')).toBe(true);

      fx.kube.failNext({ verb: 'get', resource: 'rfeworkflows' }, 'reset');
      const reset = await repository()
        .get(ref)
        .catch((e: unknown) => e);
      expect(isVteamError(reset, 'KUBERNETES_UNAVAILABLE')).toBe(true);

      await fx.kube.close();
      const closed = await repository()
        .get(ref)
        .catch((e: unknown) => e);
      expect(isVteamError(closed, 'KUBERNETES_UNAVAILABLE')).toBe(true);
    });

    it('maps a refusal of the bot (403) to INTERNAL, since only an operator can fix RBAC', async () => {
      fx.kube.failNext({ verb: 'get', resource: 'rfeworkflows' }, { status: 403 });
      const error = await repository()
        .get(ref)
        .catch((e: unknown) => e);
      expect(isVteamError(error, 'INTERNAL')).toBe(true);
    });
  });
});

describe('KubeWorkflowRepository reuse of a fresh read', () => {
  let fx: KubeFixture;
  beforeEach(async () => {
    fx = await startKubeFixture();
    fx.kube.addProject('proj-a');
    fx.kube.addRfeWorkflow('proj-a', 'rfe-1', { title: 't', description: 'd', jiraLinks: [{ path: 'a.md', jiraKey: 'P-1' }] });
  });
  afterEach(() => fx.close());

  it('writes right after a get without reading again', async () => {
    const repository = createWorkflowRepository(fx.clients, { sleep: noSleep });
    const workflow = (await repository.get({ namespace: 'proj-a', name: 'rfe-1' }))!;
    fx.kube.resetRequests();
    await repository.upsertJiraLink(workflow, { path: 'b.md', jiraKey: 'P-2' });
    expect(fx.kube.count('get', 'rfeworkflows')).toBe(0);
    expect(fx.kube.count('update', 'rfeworkflows')).toBe(1);
  });

  it('a read gone stale meanwhile costs one conflict and a re-read, and loses nothing', async () => {
    const repository = createWorkflowRepository(fx.clients, { sleep: noSleep });
    const workflow = (await repository.get({ namespace: 'proj-a', name: 'rfe-1' }))!;
    fx.kube.modify('rfeworkflows', 'proj-a', 'rfe-1', (o) => {
      (o as unknown as { spec: { jiraLinks: unknown[] } }).spec.jiraLinks.push({ path: 'ui.md', jiraKey: 'P-9' });
    });
    const { workflow: updated } = await repository.upsertJiraLink(workflow, { path: 'b.md', jiraKey: 'P-2' });
    expect(updated.jiraLinks.map((l) => l.path)).toEqual(['a.md', 'ui.md', 'b.md']);
  });
});
