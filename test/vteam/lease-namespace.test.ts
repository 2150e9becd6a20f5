/**
 * Which namespace the leader-election Lease goes to, in a pod and out of a cluster (`npm start` with a
 * kubeconfig): configured, else the pod's own, else the current context's, else `default`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseLeaseNamespace, kubeconfigNamespace, leaseNamespace } from '../../src/vteam/lease-namespace.ts';
import { writeKubeconfig } from '../support/kubeconfig.ts';

describe('chooseLeaseNamespace', () => {
  it('takes the first of configured, pod, kubeconfig context, then default', () => {
    expect(chooseLeaseNamespace({ configured: 'ops', pod: 'vteam-slack', kubeconfig: 'dev' })).toBe('ops');
    expect(chooseLeaseNamespace({ pod: 'vteam-slack', kubeconfig: 'dev' })).toBe('vteam-slack');
    expect(chooseLeaseNamespace({ kubeconfig: 'dev' })).toBe('dev');
    expect(chooseLeaseNamespace({})).toBe('default');
  });

  it('skips blank values and trims the one it takes (the service account file ends with a newline)', () => {
    expect(chooseLeaseNamespace({ configured: '', pod: '  \n', kubeconfig: 'dev' })).toBe('dev');
    expect(chooseLeaseNamespace({ pod: 'vteam-slack\n' })).toBe('vteam-slack');
  });
});

describe('leaseNamespace', () => {
  let dir: string;
  let noPod: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lease-ns-'));
    noPod = join(dir, 'no-service-account-namespace');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const kubeconfigFrom = async (namespace: string | null) => {
    const kc = new KubeConfig();
    kc.loadFromFile(await writeKubeconfig(join(dir, 'kube'), 'https://127.0.0.1:6443', 'token', namespace));
    return kc;
  };

  it('out of a cluster, uses the namespace of the kubeconfig current context', async () => {
    expect(await leaseNamespace(undefined, await kubeconfigFrom('team-dev'), noPod)).toBe('team-dev');
  });

  it('out of a cluster, with a context that names no namespace, uses default (as kubectl does)', async () => {
    expect(await leaseNamespace(undefined, await kubeconfigFrom(null), noPod)).toBe('default');
  });

  it('in a pod, uses the service account namespace over the kubeconfig context', async () => {
    const podFile = join(dir, 'namespace');
    await writeFile(podFile, 'vteam-slack\n');
    expect(await leaseNamespace(undefined, await kubeconfigFrom('team-dev'), podFile)).toBe('vteam-slack');
  });

  it('always prefers LEADER_ELECTION_NAMESPACE', async () => {
    const podFile = join(dir, 'namespace');
    await writeFile(podFile, 'vteam-slack\n');
    expect(await leaseNamespace('ops', await kubeconfigFrom('team-dev'), podFile)).toBe('ops');
  });
});

describe('kubeconfigNamespace', () => {
  it('reads the current context, not the first one listed', () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
      users: [{ name: 'u', token: 't' }],
      contexts: [
        { name: 'prod', cluster: 'c', user: 'u', namespace: 'prod-ns' },
        { name: 'dev', cluster: 'c', user: 'u', namespace: 'dev-ns' },
      ],
      currentContext: 'dev',
    });
    expect(kubeconfigNamespace(kc)).toBe('dev-ns');
  });
});
