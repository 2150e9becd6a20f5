/**
 * The Kubernetes API clients the vteam adapters share, built from one kubeconfig. Every call made with
 * `callOptions` is bounded by a timeout, so a hung API server cannot hang a publish.
 *
 * With no cluster configured at all (no KUBECONFIG, no ~/.kube/config, not in a pod), client-node
 * falls back to http://localhost:8080 and every call fails with "HTTP protocol is not allowed when
 * skipTLSVerify is not set or false", which names nothing the operator did. Here that case is told
 * apart (`configured: false`) and every call fails with KubernetesNotConfiguredError instead.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  VersionApi,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { KubernetesNotConfiguredError } from './kube-errors.ts';
import { VTEAM_GROUP, VTEAM_VERSION, RFE_WORKFLOWS } from './resources.ts';

/** Said once at start when no cluster is configured (the app keeps serving Slack). */
export const NO_CLUSTER_WARNING =
  'No Kubernetes cluster configured (no KUBECONFIG, no ~/.kube/config, not running in a cluster): workflow cards, publishing and channel bindings need one; Slack commands answer, and /vteam jira-status reports it. Set KUBECONFIG or run in the cluster.';

/** Where the kubeconfig came from: KUBECONFIG (or an explicit path), ~/.kube/config, the pod's service account, nowhere. */
export type KubeconfigSource = 'file' | 'home' | 'in-cluster' | 'none';

export interface KubeClientsOptions {
  /** A kubeconfig file; when absent: $KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
  kubeconfigPath?: string | undefined;
  /** Per-request timeout. Default 10 s. */
  requestTimeoutMs?: number;
}

export interface KubeClients {
  kubeConfig: KubeConfig;
  /** False when no cluster is configured: every call then fails with KubernetesNotConfiguredError. */
  configured: boolean;
  source: KubeconfigSource;
  /** The API server, for logs (apiServerOf). */
  server: string;
  core: CoreV1Api;
  customObjects: CustomObjectsApi;
  authorization: AuthorizationV1Api;
  coordination: CoordinationV1Api;
  /** Pass as the last argument of every call (adds the request timeout). */
  callOptions: ConfigurationOptions;
  /** Resolves when the API server answers; throws otherwise. */
  ping(): Promise<void>;
  /** Whether the cluster serves rfeworkflows (vTeam platform ≤ v0.0.7, or the CRD applied by hand). */
  rfeWorkflowsServed(): Promise<boolean>;
}

export function createKubeClients(options: KubeClientsOptions = {}): KubeClients {
  const kubeConfig = new KubeConfig();
  const source = loadKubeconfig(kubeConfig, options.kubeconfigPath);
  if (source === 'none') refuseCalls(kubeConfig);
  else reuseConnections(kubeConfig);

  const callOptions: ConfigurationOptions = {
    middleware: [timeoutMiddleware(options.requestTimeoutMs ?? 10_000)],
    middlewareMergeStrategy: 'append',
  };
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const version = kubeConfig.makeApiClient(VersionApi);

  return {
    kubeConfig,
    configured: source !== 'none',
    source,
    server: apiServerOf(kubeConfig),
    core: kubeConfig.makeApiClient(CoreV1Api),
    customObjects,
    authorization: kubeConfig.makeApiClient(AuthorizationV1Api),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    callOptions,
    async ping() {
      await version.getCode(undefined, callOptions);
    },
    async rfeWorkflowsServed() {
      try {
        const list = await customObjects.getAPIResources({ group: VTEAM_GROUP, version: VTEAM_VERSION }, callOptions);
        return list.resources.some((r) => r.name === RFE_WORKFLOWS);
      } catch (error) {
        if ((error as { code?: unknown }).code === 404) return false;
        throw error;
      }
    },
  };
}

/** client-node's last resort when nothing else is found (KubeConfig.loadFromDefault). */
const FALLBACK_SERVER = 'http://localhost:8080';
const unconfigured = new WeakSet<KubeConfig>();

/**
 * Loads as kubectl would (an explicit path, else $KUBECONFIG, ~/.kube/config, the in-cluster service
 * account) and says which one it was. `none` is client-node's localhost fallback: neither a kubeconfig
 * file nor a service account was found.
 */
export function loadKubeconfig(kubeConfig: KubeConfig, kubeconfigPath?: string): KubeconfigSource {
  // loadFromDefault reads process.env itself; so does this.
  const env = process.env;
  if (kubeconfigPath) {
    kubeConfig.loadFromFile(kubeconfigPath);
    return 'file';
  }
  kubeConfig.loadFromDefault();
  if (env.KUBECONFIG) return 'file';
  if (kubeConfig.getCurrentContext() === 'inClusterContext') return 'in-cluster';
  const home = env.HOME || env.USERPROFILE;
  const homeConfig = home !== undefined && home !== '' && existsSync(join(home, '.kube', 'config'));
  // Both conditions: a kubeconfig found some other way (e.g. through WSL) is never mistaken for none.
  return !homeConfig && kubeConfig.getCurrentCluster()?.server === FALLBACK_SERVER ? 'none' : 'home';
}

/** Every request, watches included, fails before it is sent: there is no cluster to send it to. */
function refuseCalls(kubeConfig: KubeConfig): void {
  unconfigured.add(kubeConfig);
  const refuse = async (): Promise<never> => {
    throw new KubernetesNotConfiguredError();
  };
  kubeConfig.applySecurityAuthentication = refuse;
  kubeConfig.applyToHTTPSOptions = refuse;
}

/**
 * The API server a kubeconfig points at, as logs name it: scheme, host, port and path, never
 * credentials or a query. `none` when no cluster is configured.
 */
export function apiServerOf(kubeConfig: Pick<KubeConfig, 'getCurrentCluster'>): string {
  if (unconfigured.has(kubeConfig as KubeConfig)) return 'none';
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) return 'unknown';
  try {
    const url = new URL(server);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'invalid server URL';
  }
}

/**
 * client-node 2.0 builds a new undici Agent for every request whenever TLS options exist (always,
 * in-cluster: the service-account CA), so each API call opened a fresh TLS connection and the agents
 * piled up. One dispatcher per distinct option set keeps connections alive and reused.
 */
function reuseConnections(kubeConfig: KubeConfig): void {
  // A private method of 2.0.x (the lockfile pins it); test/vteam/kube-clients.test.ts notices if it changes.
  const target = kubeConfig as unknown as { createDispatcher?: DispatcherFactory };
  const original = target.createDispatcher?.bind(kubeConfig);
  if (!original) return;
  const cache = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = JSON.stringify([cluster?.name, cluster?.server, agentOptions]);
    if (!cache.has(key)) cache.set(key, original(cluster, agentOptions));
    return cache.get(key);
  };
}

type DispatcherFactory = (cluster: { name?: string; server?: string } | null | undefined, agentOptions: unknown) => unknown;

function timeoutMiddleware(timeoutMs: number) {
  return {
    pre(context: RequestContext): Observable<RequestContext> {
      // A caller-provided signal (e.g. a watch) is kept; only plain requests get the timeout.
      if (!context.getSignal()) context.setSignal(AbortSignal.timeout(timeoutMs));
      return new Observable(Promise.resolve(context));
    },
    post(context: ResponseContext): Observable<ResponseContext> {
      return new Observable(Promise.resolve(context));
    },
  };
}
