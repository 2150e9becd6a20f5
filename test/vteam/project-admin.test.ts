import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import { createProjectDirectory } from '../../src/vteam/projects.ts';
import {
  annotateCommand,
  annotationPatch,
  channelsChange,
  createProjectAdmin,
  isProjectName,
  jiraSettingsChange,
  shellQuote,
  withChannel,
  withoutChannel,
} from '../../src/vteam/project-admin.ts';
import { startKubeFixture, type KubeFixture } from './kube-fixture.ts';

const CHANNELS = 'vteam.ambient-code/slack-channels';
const OTHER = 'example.com/owner';

describe('project administration over Kubernetes', () => {
  let fx: KubeFixture;
  beforeEach(async () => {
    fx = await startKubeFixture();
    fx.kube.addProject('team-a');
    fx.kube.addProjectSettings('team-a', { annotations: { [CHANNELS]: 'C111', [OTHER]: 'platform' } });
    fx.kube.addNamespace('plain');
    fx.kube.addProjectSettings('plain');
    fx.kube.addProject('fresh');
  });
  afterEach(() => fx.close());

  const admin = (opts = {}) => createProjectAdmin({ kube: fx.clients, ...opts });
  const annotations = (ns: string) => fx.kube.get('projectsettings', ns, 'projectsettings')?.metadata.annotations;

  it('tells a project from an unknown name, an unmanaged namespace and a project without projectsettings', async () => {
    const a = admin();
    expect(await a.inspect('team-a')).toMatchObject({ kind: 'ready', annotations: { [CHANNELS]: 'C111', [OTHER]: 'platform' } });
    expect(await a.inspect('nope')).toEqual({ kind: 'missing' });
    expect(await a.inspect('plain')).toEqual({ kind: 'unmanaged' });
    expect(await a.inspect('fresh')).toEqual({ kind: 'no-settings' });
    expect(await a.inspect('../etc')).toEqual({ kind: 'missing' });
  });

  it('reads with list calls only (the bot is granted list and patch, not get)', async () => {
    fx.kube.resetRequests();
    await admin().inspect('team-a');
    expect(fx.kube.counts()).toEqual({ 'list namespaces': 1, 'list projectsettings': 1 });
  });

  it('asks a SubjectAccessReview for patch on the projectsettings singleton, as the mapped user and groups', async () => {
    fx.kube.setAccessRules([
      {
        user: 'alice@example.com',
        namespace: 'team-a',
        verb: 'patch',
        group: 'vteam.ambient-code',
        resource: 'projectsettings',
        name: 'projectsettings',
        allowed: true,
      },
    ]);
    const a = admin();
    expect(await a.mayEdit({ user: 'alice@example.com', groups: ['system:authenticated'] }, 'team-a')).toBe(true);
    expect(await a.mayEdit({ user: 'alice@example.com', groups: [] }, 'other')).toBe(false);
    expect(await a.mayEdit({ user: 'bob@example.com', groups: [] }, 'team-a')).toBe(false);
    expect(fx.kube.accessReviews[0]).toEqual({
      user: 'alice@example.com',
      groups: ['system:authenticated'],
      resourceAttributes: {
        namespace: 'team-a',
        verb: 'patch',
        group: 'vteam.ambient-code',
        resource: 'projectsettings',
        name: 'projectsettings',
      },
    });
  });

  it('writes with a JSON patch that tests the resourceVersion, keeping other annotations', async () => {
    fx.kube.resetRequests();
    const result = await admin().updateAnnotations('team-a', (current) => ({
      change: channelsChange(withChannel(current, 'C222').channels),
      value: 'ok',
    }));
    expect(result).toMatchObject({ ok: true, value: 'ok', written: true });
    expect(annotations('team-a')).toEqual({ [CHANNELS]: 'C111,C222', [OTHER]: 'platform' });
    const patch = fx.kube.requests.find((r) => r.verb === 'patch');
    expect(patch?.contentType).toMatch(/^application\/json-patch\+json/);
  });

  it('re-reads and re-plans when someone else wrote in between, keeping their change', async () => {
    fx.kube.injectConflicts(2, {
      verb: 'patch',
      match: { resource: 'projectsettings', namespace: 'team-a' },
      mutate: (object, nth) => {
        object.metadata.annotations = {
          ...object.metadata.annotations,
          [CHANNELS]: `${object.metadata.annotations?.[CHANNELS]},C90${nth}`,
        };
      },
    });
    const seen: string[] = [];
    const result = await admin().updateAnnotations('team-a', (current) => {
      seen.push(current[CHANNELS] ?? '');
      return { change: channelsChange(withChannel(current, 'C222').channels), value: undefined };
    });
    expect(result.ok).toBe(true);
    expect(seen).toEqual(['C111', 'C111,C901', 'C111,C901,C902']);
    expect(annotations('team-a')).toEqual({ [CHANNELS]: 'C111,C901,C902,C222', [OTHER]: 'platform' });
    expect(fx.kube.count('patch', 'projectsettings')).toBe(3);
  });

  it('gives up with one clear sentence when the object keeps changing', async () => {
    fx.kube.injectConflicts(10, { verb: 'patch', match: { resource: 'projectsettings' } });
    const error = await admin({ maxAttempts: 3 })
      .updateAnnotations('team-a', () => ({ change: { set: { [CHANNELS]: 'C1' } }, value: undefined }))
      .catch((e: unknown) => e);
    expect(isVteamError(error, 'KUBERNETES_UNAVAILABLE')).toBe(true);
    expect(fx.kube.count('patch', 'projectsettings')).toBe(3);
  });

  it('writes nothing when the plan has no change, and reports a project that is not there', async () => {
    fx.kube.resetRequests();
    const a = admin();
    expect(await a.updateAnnotations('team-a', () => ({ value: 'none' }))).toMatchObject({ ok: true, written: false, value: 'none' });
    expect(await a.updateAnnotations('team-a', (c) => ({ change: { set: { [CHANNELS]: c[CHANNELS]! } }, value: 1 }))).toMatchObject({
      ok: true,
      written: false,
    });
    expect(await a.updateAnnotations('plain', () => ({ change: { set: { a: 'b' } }, value: 1 }))).toEqual({
      ok: false,
      state: { kind: 'unmanaged' },
    });
    expect(await a.updateAnnotations('fresh', () => ({ change: { set: { a: 'b' } }, value: 1 }))).toEqual({
      ok: false,
      state: { kind: 'no-settings' },
    });
    expect(fx.kube.count('patch', 'projectsettings')).toBe(0);
  });

  it('creates the annotation map when the object has none, and removes the binding when the last channel goes', async () => {
    fx.kube.addProject('bare');
    fx.kube.addProjectSettings('bare');
    const a = admin();
    await a.updateAnnotations('bare', (c) => ({ change: channelsChange(withChannel(c, 'c333').channels), value: undefined }));
    expect(annotations('bare')).toEqual({ [CHANNELS]: 'C333' });
    await a.updateAnnotations('bare', (c) => ({ change: channelsChange(withoutChannel(c, 'C333').channels), value: undefined }));
    expect(annotations('bare') ?? {}).toEqual({});
  });

  it('makes its own write visible to the cached directory at once', async () => {
    const projects = createProjectDirectory(fx.clients, { cacheTtlMs: 60_000 });
    expect(await projects.isBound('team-a', 'C222')).toBe(false);
    await createProjectAdmin({ kube: fx.clients, projects }).updateAnnotations('team-a', (c) => ({
      change: channelsChange(withChannel(c, 'C222').channels),
      value: undefined,
    }));
    expect(await projects.isBound('team-a', 'C222')).toBe(true);
  });

  it('stores Jira settings as three annotations the directory reads back', async () => {
    const projects = createProjectDirectory(fx.clients, { cacheTtlMs: 0 });
    await admin().updateAnnotations('team-a', () => ({
      change: jiraSettingsChange({
        siteUrl: 'https://acme.atlassian.net',
        projectKey: 'PROJ',
        issueTypes: { default: 'Task', specify: 'Feature Request' },
      }),
      value: undefined,
    }));
    expect(annotations('team-a')).toMatchObject({
      'vteam.ambient-code/jira-site': 'https://acme.atlassian.net',
      'vteam.ambient-code/jira-project': 'PROJ',
      'vteam.ambient-code/jira-issue-types': '{"default":"Task","specify":"Feature Request"}',
      [OTHER]: 'platform',
    });
    expect((await projects.jiraSettings('team-a')).settings).toMatchObject({
      siteUrl: 'https://acme.atlassian.net',
      projectKey: 'PROJ',
      source: 'annotations',
      issueTypes: { default: 'Task', specify: 'Feature Request' },
    });
  });
});

describe('binding arithmetic and the kubectl fallback (pure)', () => {
  it('adds and removes one channel, keeping the others in order', () => {
    const a = { [CHANNELS]: 'C111, c222' };
    expect(withChannel(a, 'C333')).toEqual({ already: false, channels: ['C111', 'C222', 'C333'] });
    expect(withChannel(a, 'C222')).toEqual({ already: true, channels: ['C111', 'C222'] });
    expect(withoutChannel(a, 'C111')).toEqual({ absent: false, channels: ['C222'] });
    expect(withoutChannel(a, 'C999')).toEqual({ absent: true, channels: ['C111', 'C222'] });
    expect(withChannel({}, 'C1')).toEqual({ already: false, channels: ['C1'] });
  });

  it('prints the exact kubectl annotate command with the full resulting list', () => {
    expect(annotateCommand('team-a', channelsChange(['C111', 'C222']))).toBe(
      'kubectl annotate projectsettings projectsettings -n team-a vteam.ambient-code/slack-channels=C111,C222 --overwrite',
    );
    expect(annotateCommand('team-a', channelsChange([]))).toBe(
      'kubectl annotate projectsettings projectsettings -n team-a vteam.ambient-code/slack-channels-',
    );
    expect(
      annotateCommand(
        'team-a',
        jiraSettingsChange({
          siteUrl: 'https://acme.atlassian.net',
          projectKey: 'PROJ',
          issueTypes: { default: "Bob's Task", plan: 'Story' },
        }),
      ),
    ).toBe(
      `kubectl annotate projectsettings projectsettings -n team-a vteam.ambient-code/jira-site=https://acme.atlassian.net vteam.ambient-code/jira-project=PROJ 'vteam.ambient-code/jira-issue-types={"default":"Bob'\\''s Task","plan":"Story"}' --overwrite`,
    );
  });

  it('quotes for a POSIX shell only when needed', () => {
    expect(shellQuote('a=b,c')).toBe('a=b,c');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
  });

  it('accepts only namespace names as projects', () => {
    expect(isProjectName('team-a')).toBe(true);
    for (const bad of ['', 'Team', '-a', 'a-', 'a_b', 'a/b', 'a'.repeat(64), 'a b']) expect(isProjectName(bad), bad).toBe(false);
  });

  it('builds JSON patch operations with escaped keys, and none for a no-op', () => {
    const read = { annotations: { [CHANNELS]: 'C1', x: 'y' }, hasAnnotationMap: true };
    expect(annotationPatch(read, { set: { [CHANNELS]: 'C1,C2' }, remove: ['x', 'absent'] })).toEqual([
      { op: 'add', path: '/metadata/annotations/vteam.ambient-code~1slack-channels', value: 'C1,C2' },
      { op: 'remove', path: '/metadata/annotations/x' },
    ]);
    expect(annotationPatch(read, { set: { [CHANNELS]: 'C1' } })).toEqual([]);
    expect(annotationPatch({ annotations: {}, hasAnnotationMap: false }, { remove: [CHANNELS] })).toEqual([]);
  });
});
