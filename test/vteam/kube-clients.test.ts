import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import { createKubeClients } from '../../src/vteam/kube-clients.ts';
import { createWorkflowRepository } from '../../src/vteam/workflows.ts';
import { startKubeFixture, type KubeFixture } from './kube-fixture.ts';

describe('createKubeClients', () => {
  let fx: KubeFixture;
  beforeEach(async () => {
    fx = await startKubeFixture();
  });
  afterEach(() => fx.close());

  it('connects with the given kubeconfig and its bearer token', async () => {
    await fx.clients.ping();
    expect(fx.clients.kubeConfig.getCurrentCluster()?.server).toBe(fx.kube.url);
    expect(await fx.clients.rfeWorkflowsServed()).toBe(true);
  });

  it('ping fails when the API server is gone', async () => {
    await fx.kube.close();
    await expect(fx.clients.ping()).rejects.toThrow();
  });

  it('bounds every call with the request timeout, so a hung API server reads as unavailable', async () => {
    const clients = createKubeClients({ kubeconfigPath: fx.kubeconfigPath, requestTimeoutMs: 100 });
    fx.kube.addProject('proj');
    fx.kube.failNext({ verb: 'get', resource: 'rfeworkflows' }, 'hang');
    const error = await createWorkflowRepository(clients).get({ namespace: 'proj', name: 'rfe-1' }).catch((e: unknown) => e);
    expect(isVteamError(error, 'KUBERNETES_UNAVAILABLE')).toBe(true);
  });
});
