import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiServerOf, createKubeClients } from '../../src/vteam/kube-clients.ts';
import { KubernetesNotConfiguredError } from '../../src/vteam/kube-errors.ts';
import { writeKubeconfig } from '../support/kubeconfig.ts';

let connections = 0;
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ major: '1', minor: '31', gitVersion: 'v1.31.0' }));
});
server.on('connection', () => {
  connections += 1;
});
let dir = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dir = await mkdtemp(join(tmpdir(), 'kube-clients-'));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

it('reuses one connection for many API calls instead of opening one per request', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kube = createKubeClients({ kubeconfigPath: await writeKubeconfig(dir, url, 'token') });
  for (let i = 0; i < 20; i++) await kube.ping();
  // undici may keep a second socket while the previous response is still being released; without
  // reuse this was one connection (and one TLS handshake, in-cluster) per call.
  expect(connections).toBeLessThanOrEqual(2);
});

describe('no cluster configured', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('no KUBECONFIG, no ~/.kube/config, not in a pod: every call fails saying so, before anything is sent', async () => {
    const home = await mkdtemp(join(tmpdir(), 'kube-home-'));
    vi.stubEnv('KUBECONFIG', undefined);
    vi.stubEnv('HOME', home);
    try {
      const kube = createKubeClients();
      expect({ configured: kube.configured, source: kube.source, server: kube.server }).toEqual({
        configured: false,
        source: 'none',
        server: 'none',
      });
      await expect(kube.ping()).rejects.toBeInstanceOf(KubernetesNotConfiguredError);
      await expect(kube.ping()).rejects.toThrow(/no Kubernetes cluster configured \(no KUBECONFIG, no ~\/\.kube\/config/);
      const connectionsBefore = connections;
      await expect(kube.coordination.readNamespacedLease({ namespace: 'default', name: 'x' }, kube.callOptions)).rejects.toBeInstanceOf(
        KubernetesNotConfiguredError,
      );
      expect(connections).toBe(connectionsBefore);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('~/.kube/config or KUBECONFIG: configured, and logs name the server without credentials', async () => {
    const home = await mkdtemp(join(tmpdir(), 'kube-home-'));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await writeKubeconfig(join(home, '.kube'), url, 'token');
    await rename(join(home, '.kube', 'kubeconfig'), join(home, '.kube', 'config'));
    vi.stubEnv('KUBECONFIG', undefined);
    vi.stubEnv('HOME', home);
    try {
      const kube = createKubeClients();
      expect({ configured: kube.configured, source: kube.source, server: kube.server }).toEqual({
        configured: true,
        source: 'home',
        server: url,
      });
      await kube.ping();
      vi.stubEnv('KUBECONFIG', join(home, '.kube', 'config'));
      expect(createKubeClients().source).toBe('file');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
    const named = (server: string) => apiServerOf({ getCurrentCluster: () => ({ name: 'c', server, skipTLSVerify: false }) });
    expect(named('https://user:secret@rancher.example/k8s/clusters/c-1?x=1')).toBe('https://rancher.example/k8s/clusters/c-1');
    expect(named('https://10.0.0.1:6443/')).toBe('https://10.0.0.1:6443');
  });
});
