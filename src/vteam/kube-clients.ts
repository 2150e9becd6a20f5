/**
 * The Kubernetes API clients the vteam adapters share, built from one kubeconfig. Every call made with
 * `callOptions` is bounded by a timeout, so a hung API server cannot hang a publish.
 */
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
import { VTEAM_GROUP, VTEAM_VERSION, RFE_WORKFLOWS } from './resources.ts';

export interface KubeClientsOptions {
  /** A kubeconfig file; when absent: $KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
  kubeconfigPath?: string | undefined;
  /** Per-request timeout. Default 10 s. */
  requestTimeoutMs?: number;
}

export interface KubeClients {
  kubeConfig: KubeConfig;
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
  if (options.kubeconfigPath) kubeConfig.loadFromFile(options.kubeconfigPath);
  else kubeConfig.loadFromDefault();
  reuseConnections(kubeConfig);

  const callOptions: ConfigurationOptions = {
    middleware: [timeoutMiddleware(options.requestTimeoutMs ?? 10_000)],
    middlewareMergeStrategy: 'append',
  };
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const version = kubeConfig.makeApiClient(VersionApi);

  return {
    kubeConfig,
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
