/** Which namespace the leader-election Lease (leader-election.ts) lives in. */
import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
type KubeContexts = Pick<KubeConfig, 'getContextObject' | 'getCurrentContext'>;

/**
 * Where the Lease lives: the configured namespace, else the pod's own, else the namespace of the
 * kubeconfig's current context (the one kubectl would use, so `npm start` against a dev cluster
 * lands where the developer works), else `default`. Blank values count as absent.
 */
export function chooseLeaseNamespace(candidates: {
  configured?: string | undefined;
  pod?: string | undefined;
  kubeconfig?: string | undefined;
}): string {
  for (const candidate of [candidates.configured, candidates.pod, candidates.kubeconfig]) {
    const namespace = candidate?.trim();
    if (namespace) return namespace;
  }
  return 'default';
}

/** The namespace the kubeconfig's current context names, if any (what kubectl uses without -n). */
export function kubeconfigNamespace(kubeConfig: KubeContexts): string | undefined {
  return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
}

/** The Lease namespace for this process: see chooseLeaseNamespace. */
export async function leaseNamespace(
  configured: string | undefined,
  kubeConfig: KubeContexts,
  serviceAccountFile = SERVICE_ACCOUNT_NAMESPACE_FILE,
): Promise<string> {
  const pod = await readFile(serviceAccountFile, 'utf8').catch(() => undefined); // not in a pod: no such file
  return chooseLeaseNamespace({ configured, pod, kubeconfig: kubeconfigNamespace(kubeConfig) });
}
