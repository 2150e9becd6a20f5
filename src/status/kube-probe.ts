/**
 * Can the bot do its cluster work? The API server answers, the RFEWorkflow CRD is served, and
 * SelfSubjectAccessReviews say the bot's own identity may watch and update RFEWorkflows (cards and
 * spec.jiraLinks) and patch ProjectSettings (channel bindings, Jira settings).
 */
import { Observable, type ConfigurationOptions, type RequestContext, type ResponseContext } from '@kubernetes/client-node';
import type { KubeClients } from '../vteam/kube-clients.ts';
import { PROJECT_SETTINGS, RFE_WORKFLOWS, VTEAM_GROUP } from '../vteam/resources.ts';
import type { KubernetesStatus } from './report.ts';

export type KubeProbeClients = Pick<KubeClients, 'ping' | 'rfeWorkflowsServed' | 'authorization'>;

export async function probeKubernetes(kube: KubeProbeClients, signal: AbortSignal): Promise<KubernetesStatus> {
  const started = performance.now();
  await kube.ping();
  const rttMs = Math.round(performance.now() - started);
  const options = abortable(signal);
  const may = (verb: string, resource: string) => selfReview(kube, options, verb, resource).catch(() => undefined);
  const [served, watchWorkflows, updateWorkflows, patchProjectSettings] = await Promise.all([
    kube.rfeWorkflowsServed().catch(() => undefined),
    may('watch', RFE_WORKFLOWS),
    may('update', RFE_WORKFLOWS),
    may('patch', PROJECT_SETTINGS),
  ]);
  return { rttMs, rfeWorkflowsServed: served, permissions: { watchWorkflows, updateWorkflows, patchProjectSettings } };
}

/** Cluster-wide (no namespace): the bot watches every managed project. */
async function selfReview(kube: KubeProbeClients, options: ConfigurationOptions, verb: string, resource: string): Promise<boolean> {
  const review = await kube.authorization.createSelfSubjectAccessReview(
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { group: VTEAM_GROUP, resource, verb } },
      },
    },
    options,
  );
  return review.status?.allowed === true;
}

/** Per-call options that abort the request when the probe's deadline passes. */
function abortable(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre(context: RequestContext): Observable<RequestContext> {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post(context: ResponseContext): Observable<ResponseContext> {
          return new Observable(Promise.resolve(context));
        },
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}
