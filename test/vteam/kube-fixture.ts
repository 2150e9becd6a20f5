/** A fake API server plus real clients pointed at it through a kubeconfig file, as in production. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClients, type KubeClients } from '../../src/vteam/kube-clients.ts';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../support/fake-kube.ts';
import { writeKubeconfig } from '../support/kubeconfig.ts';

export interface KubeFixture {
  kube: FakeKube;
  clients: KubeClients;
  kubeconfigPath: string;
  close(): Promise<void>;
}

export async function startKubeFixture(options: FakeKubeOptions = {}): Promise<KubeFixture> {
  const kube = await startFakeKube({ bookmarkIntervalMs: 0, ...options });
  const dir = await mkdtemp(join(tmpdir(), 'vteam-kube-'));
  const kubeconfigPath = await writeKubeconfig(dir, kube.url, kube.token);
  const clients = createKubeClients({ kubeconfigPath });
  return {
    kube,
    clients,
    kubeconfigPath,
    async close() {
      await kube.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
