import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import { createProjectDirectory } from '../../src/vteam/projects.ts';
import { startKubeFixture, type KubeFixture } from './kube-fixture.ts';

const CHANNELS = 'vteam.ambient-code/slack-channels';

describe('Kubernetes ProjectDirectory', () => {
  let fx: KubeFixture;
  beforeEach(async () => {
    fx = await startKubeFixture();
  });
  afterEach(() => fx.close());

  const directory = (opts = {}) => createProjectDirectory(fx.clients, { cacheTtlMs: 0, ...opts });

  describe('channel bindings', () => {
    beforeEach(() => {
      fx.kube.addProject('alpha');
      fx.kube.addProject('beta');
      fx.kube.addNamespace('unmanaged');
      fx.kube.addProject('gamma');
      fx.kube.addProjectSettings('alpha', { annotations: { [CHANNELS]: 'C111, C222' } });
      fx.kube.addProjectSettings('beta', { annotations: { [CHANNELS]: ' c222 ,,' } });
      fx.kube.addProjectSettings('unmanaged', { annotations: { [CHANNELS]: 'C222' } });
      fx.kube.addProjectSettings('gamma', { name: 'not-the-singleton', annotations: { [CHANNELS]: 'C222' } });
    });

    it('finds every managed project whose projectsettings lists the channel', async () => {
      expect(await directory().projectsBoundTo('C222')).toEqual(['alpha', 'beta']);
      expect(await directory().projectsBoundTo('C111')).toEqual(['alpha']);
      expect(await directory().projectsBoundTo('C999')).toEqual([]);
    });

    it('answers isBound consistently, ignoring unmanaged namespaces', async () => {
      const projects = directory();
      expect(await projects.isBound('alpha', 'C111')).toBe(true);
      expect(await projects.isBound('beta', 'C111')).toBe(false);
      expect(await projects.isBound('unmanaged', 'C222')).toBe(false);
      expect(await projects.isBound('gamma', 'C222')).toBe(false);
      expect(await projects.isBound('missing', 'C222')).toBe(false);
    });

    it('uses two list calls per lookup, and none while the cache is fresh', async () => {
      let now = 1_000;
      const projects = directory({ cacheTtlMs: 5_000, now: () => now });
      fx.kube.resetRequests();
      await projects.projectsBoundTo('C222');
      expect(fx.kube.counts()).toEqual({ 'list namespaces': 1, 'list projectsettings': 1 });
      await projects.isBound('alpha', 'C111');
      await projects.projectsBoundTo('C111');
      expect(fx.kube.requests).toHaveLength(2);
      expect(fx.kube.requests.find((r) => r.resource === 'namespaces')?.query.labelSelector).toBe('ambient-code.io/managed=true');

      fx.kube.modify('projectsettings', 'beta', 'projectsettings', (o) => {
        o.metadata.annotations = { [CHANNELS]: 'C999' };
      });
      now += 5_001;
      expect(await projects.projectsBoundTo('C999')).toEqual(['beta']);
      expect(fx.kube.requests).toHaveLength(4);
    });

    it('does not cache failures', async () => {
      const projects = directory({ cacheTtlMs: 60_000 });
      fx.kube.failNext({ resource: 'projectsettings' }, { status: 500 });
      const error = await projects.projectsBoundTo('C111').catch((e: unknown) => e);
      expect(isVteamError(error, 'KUBERNETES_UNAVAILABLE')).toBe(true);
      expect(await projects.projectsBoundTo('C111')).toEqual(['alpha']);
    });

    it('binds nothing when the cluster does not serve projectsettings', async () => {
      fx.kube.setServed('projectsettings', false);
      expect(await directory().projectsBoundTo('C111')).toEqual([]);
    });
  });

  describe('Jira settings', () => {
    beforeEach(() => {
      fx.kube.addProject('proj');
    });

    it('reads the annotations first, without touching the Secret', async () => {
      fx.kube.addProjectSettings('proj', {
        annotations: {
          'vteam.ambient-code/jira-site': 'https://acme.atlassian.net/',
          'vteam.ambient-code/jira-project': 'abc',
          'vteam.ambient-code/jira-issue-types': '{"specify":"Feature Request","tasks":"Epic","default":"Feature"}',
        },
      });
      fx.kube.addSecret('proj', 'ambient-runner-secrets', { JIRA_URL: 'https://other.atlassian.net', JIRA_PROJECT: 'OTHER' });
      fx.kube.resetRequests();
      expect(await directory().jiraSettings('proj')).toEqual({
        settings: {
          siteUrl: 'https://acme.atlassian.net',
          projectKey: 'ABC',
          issueTypes: { specify: 'Feature Request', tasks: 'Epic', default: 'Feature' },
          source: 'annotations',
          secretName: 'ambient-runner-secrets',
        },
        secretName: 'ambient-runner-secrets',
      });
      expect(fx.kube.count('get', 'secrets')).toBe(0);
    });

    it('falls back to JIRA_URL / JIRA_PROJECT in the runner Secret named by the ProjectSettings', async () => {
      fx.kube.addProjectSettings('proj', {
        spec: { groupAccess: [], runnerSecretsName: 'my-runner' },
        annotations: { 'vteam.ambient-code/jira-issue-types': 'specify=Feature Request, plan = Feature' },
      });
      fx.kube.addSecret('proj', 'my-runner', {
        JIRA_URL: 'https://jira.example.com/',
        JIRA_PROJECT: 'RHAI',
        JIRA_API_TOKEN: 'secret',
        GIT_TOKEN: ' ghp_project ',
      });
      const projects = directory();
      expect(await projects.jiraSettings('proj')).toEqual({
        settings: {
          siteUrl: 'https://jira.example.com',
          projectKey: 'RHAI',
          issueTypes: { specify: 'Feature Request', plan: 'Feature', default: 'Task' },
          source: 'runner-secret',
          secretName: 'my-runner',
        },
        secretName: 'my-runner',
      });
      expect(await projects.gitToken('proj')).toBe('ghp_project');
    });

    it('uses the default Secret name and Task for every phase when nothing else is configured', async () => {
      fx.kube.addSecret('proj', 'ambient-runner-secrets', { JIRA_URL: 'https://acme.atlassian.net', JIRA_PROJECT: 'ABC' });
      const result = await directory().jiraSettings('proj');
      expect(result.settings).toMatchObject({
        source: 'runner-secret',
        secretName: 'ambient-runner-secrets',
        issueTypes: { default: 'Task' },
      });
    });

    it('uses the Secret when the annotations are incomplete or invalid', async () => {
      fx.kube.addProjectSettings('proj', {
        annotations: { 'vteam.ambient-code/jira-site': 'ftp://acme', 'vteam.ambient-code/jira-project': 'ABC' },
      });
      fx.kube.addSecret('proj', 'ambient-runner-secrets', { JIRA_URL: 'https://acme.atlassian.net', JIRA_PROJECT: 'ABC' });
      expect((await directory().jiraSettings('proj')).settings?.source).toBe('runner-secret');
    });

    it('is absent when neither source is complete, naming the Secret for the error message', async () => {
      expect(await directory().jiraSettings('proj')).toEqual({ settings: undefined, secretName: 'ambient-runner-secrets' });
      fx.kube.addProjectSettings('proj', { spec: { groupAccess: [], runnerSecretsName: 'runner' } });
      fx.kube.addSecret('proj', 'runner', { JIRA_URL: 'not a url', JIRA_PROJECT: 'ABC' });
      expect(await directory().jiraSettings('proj')).toEqual({ settings: undefined, secretName: 'runner' });
      expect(await directory().gitToken('proj')).toBeUndefined();
    });

    it('maps an unreachable API server to KUBERNETES_UNAVAILABLE', async () => {
      fx.kube.failNext({ resource: 'secrets' }, 'reset');
      const error = await directory()
        .jiraSettings('proj')
        .catch((e: unknown) => e);
      expect(isVteamError(error, 'KUBERNETES_UNAVAILABLE')).toBe(true);
    });
  });
});
