/**
 * What the cards watch: every RFEWorkflow (mapped to the small domain model, description clipped to
 * what a card shows) and every projectsettings' channel annotation, cluster-wide; plus the managed
 * namespaces, listed when bindings are recomputed.
 */
import type { Logger } from 'pino';
import type { Workflow } from '../publishing/model.ts';
import { createInformer, type Informer, type InformerOptions } from '../vteam/informer.ts';
import type { KubeClients } from '../vteam/kube-clients.ts';
import { parseChannels } from '../vteam/projects.ts';
import {
  ANNOTATIONS,
  MANAGED_NAMESPACE_SELECTOR,
  PROJECT_SETTINGS,
  PROJECT_SETTINGS_NAME,
  RFE_WORKFLOWS,
  VTEAM_GROUP,
  VTEAM_VERSION,
} from '../vteam/resources.ts';
import { isRecord, toWorkflow } from '../vteam/workflow-mapping.ts';

/** A card shows 280 characters of the description; the cache keeps a little more and no more. */
const DESCRIPTION_KEPT = 300;

type Common<T> = Pick<
  InformerOptions<T>,
  'onEvent' | 'onSynced' | 'logger' | 'metrics' | 'backoff' | 'notServedRetryMs' | 'pageSize' | 'watchTimeoutSeconds'
>;
type Clients = Pick<KubeClients, 'kubeConfig' | 'customObjects' | 'core' | 'callOptions'>;

/** Where an informer lists and watches a vTeam custom resource across all namespaces. */
function clusterWide(kube: Clients, plural: string) {
  return {
    kubeConfig: kube.kubeConfig,
    path: `/apis/${VTEAM_GROUP}/${VTEAM_VERSION}/${plural}`,
    resource: plural,
    list: ({ limit, continueToken }: { limit: number; continueToken?: string | undefined }) =>
      kube.customObjects.listCustomObjectForAllNamespaces(
        {
          group: VTEAM_GROUP,
          version: VTEAM_VERSION,
          resourcePlural: plural,
          limit,
          ...(continueToken ? { _continue: continueToken } : {}),
        },
        kube.callOptions,
      ),
  };
}

export function workflowInformer(kube: Clients, options: Common<Workflow>): Informer<Workflow> {
  const shared = stringPool(10_000);
  return createInformer<Workflow>({
    ...options,
    ...clusterWide(kube, RFE_WORKFLOWS),
    map: (raw) => compact(toWorkflow(raw), shared),
  });
}

/**
 * The cached copy holds no more than a card needs, and no hidden references: a `slice` of a long
 * string keeps the whole original alive in V8, so the excerpt is copied; strings repeated across
 * thousands of workflows (namespace, repository, its branch) are shared.
 */
function compact(workflow: Workflow | undefined, shared: (text: string) => string): Workflow | undefined {
  if (!workflow) return undefined;
  // Publishes in flight do not show on cards; dropping them keeps their writes from re-rendering one.
  delete workflow.inFlight;
  if (workflow.description.length > DESCRIPTION_KEPT) workflow.description = copy(`${workflow.description.slice(0, DESCRIPTION_KEPT)}…`);
  workflow.namespace = shared(workflow.namespace);
  if (workflow.umbrellaRepo)
    workflow.umbrellaRepo = { url: shared(workflow.umbrellaRepo.url), branch: shared(workflow.umbrellaRepo.branch) };
  return workflow;
}

const copy = (text: string) => Buffer.from(text, 'utf8').toString('utf8');
/** One instance per distinct value (bounded: beyond that, values are simply kept as they are). */
function stringPool(limit: number): (text: string) => string {
  const strings = new Map<string, string>();
  return (text) => {
    const known = strings.get(text);
    if (known !== undefined) return known;
    if (strings.size < limit) strings.set(text, text);
    return text;
  };
}

/** The channels a project's projectsettings binds (before the managed-namespace check). */
export interface ChannelBinding {
  namespace: string;
  channels: string[];
}

export function bindingInformer(kube: Clients, options: Common<ChannelBinding>): Informer<ChannelBinding> {
  return createInformer<ChannelBinding>({
    ...options,
    ...clusterWide(kube, PROJECT_SETTINGS),
    map: (raw) => {
      if (!isRecord(raw) || !isRecord(raw.metadata)) return undefined;
      const { name, namespace, annotations } = raw.metadata;
      // Only the singleton counts, as for ProjectDirectory.
      if (name !== PROJECT_SETTINGS_NAME || typeof namespace !== 'string') return undefined;
      const value = isRecord(annotations) ? annotations[ANNOTATIONS.slackChannels] : undefined;
      return { namespace, channels: parseChannels(typeof value === 'string' ? value : undefined) };
    },
  });
}

/** Namespaces labelled as vTeam projects (one list call). */
export async function managedNamespaces(kube: Clients, logger?: Logger): Promise<Set<string>> {
  const list = await kube.core.listNamespace({ labelSelector: MANAGED_NAMESPACE_SELECTOR }, kube.callOptions);
  const names = new Set(list.items.flatMap((ns) => (ns.metadata?.name ? [ns.metadata.name] : [])));
  logger?.debug({ count: names.size }, 'managed namespaces listed');
  return names;
}
