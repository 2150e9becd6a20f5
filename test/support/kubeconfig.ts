/** Writes a kubeconfig that points a real Kubernetes client (or kubectl) at a fake API server. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** `namespace: null` writes a context that names no namespace (kubectl then uses `default`). */
export async function writeKubeconfig(dir: string, url: string, token: string, namespace: string | null = 'default'): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'kubeconfig');
  // JSON is valid YAML, and every kubeconfig loader accepts it.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    // @kubernetes/client-node 2.x refuses plain http unless TLS verification is explicitly skipped.
    clusters: [{ name: 'fake', cluster: { server: url, ...(url.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}) } }],
    users: [{ name: 'fake-user', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user', ...(namespace === null ? {} : { namespace }) } }],
    'current-context': 'fake',
  };
  await writeFile(path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return path;
}
