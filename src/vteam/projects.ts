/**
 * ProjectDirectory over Kubernetes: a project is a namespace labelled ambient-code.io/managed=true; its
 * Slack binding and Jira settings are annotations on its `projectsettings` singleton; the legacy Jira
 * keys and GIT_TOKEN live in its runner Secret. Reads are cached for a few seconds so steady-state
 * traffic is two list calls per TTL, not several reads per Slack event.
 */
import type { Logger } from 'pino';
import type { ProjectDirectory } from '../publishing/ports.ts';
import { resolveJiraSettings } from './jira-settings.ts';
import type { KubeClients } from './kube-clients.ts';
import { isNotFound, toKubeError } from './kube-errors.ts';
import {
  ANNOTATIONS,
  DEFAULT_RUNNER_SECRET,
  MANAGED_NAMESPACE_SELECTOR,
  PROJECT_SETTINGS,
  PROJECT_SETTINGS_NAME,
  VTEAM_GROUP,
  VTEAM_VERSION,
} from './resources.ts';
import { createTtlCache } from './ttl-cache.ts';
import { isRecord } from './workflow-mapping.ts';

export interface ProjectDirectoryOptions {
  logger?: Logger;
  /** How long namespace, ProjectSettings and Secret reads are reused. Default 5 s; 0 disables caching. */
  cacheTtlMs?: number;
  now?: () => number;
}

interface ProjectSettingsView {
  annotations: Record<string, string>;
  runnerSecretName: string;
}

type Clients = Pick<KubeClients, 'core' | 'customObjects' | 'callOptions'>;

/** The Kubernetes directory also lets a writer drop its cached reads, so its own change is seen at once. */
export interface KubeProjectDirectory extends ProjectDirectory {
  /** Forget every cached namespace, ProjectSettings and Secret read (after /vteam subscribe and friends write). */
  invalidate(): void;
}

export function createProjectDirectory(kube: Clients, options: ProjectDirectoryOptions = {}): KubeProjectDirectory {
  const { core, customObjects, callOptions } = kube;
  const logger = options.logger;
  const ttl = options.cacheTtlMs ?? 5_000;
  const managedCache = createTtlCache<Set<string>>(ttl, options.now);
  const settingsCache = createTtlCache<Map<string, ProjectSettingsView>>(ttl, options.now);
  const secretCache = createTtlCache<Record<string, string> | undefined>(ttl, options.now);

  const managedNamespaces = () =>
    managedCache.get('managed', async () => {
      try {
        const list = await core.listNamespace({ labelSelector: MANAGED_NAMESPACE_SELECTOR }, callOptions);
        return new Set(list.items.flatMap((ns) => (ns.metadata?.name ? [ns.metadata.name] : [])));
      } catch (error) {
        throw toKubeError(error);
      }
    });

  /** Every namespace's ProjectSettings, from one cluster-wide list. */
  const allSettings = () =>
    settingsCache.get('settings', async () => {
      let list: unknown;
      try {
        list = await customObjects.listCustomObjectForAllNamespaces(
          { group: VTEAM_GROUP, version: VTEAM_VERSION, resourcePlural: PROJECT_SETTINGS },
          callOptions,
        );
      } catch (error) {
        if (isNotFound(error)) {
          logger?.warn('projectsettings are not served by this cluster; no channel is bound to any project');
          return new Map();
        }
        throw toKubeError(error);
      }
      const result = new Map<string, ProjectSettingsView>();
      for (const item of isRecord(list) && Array.isArray(list.items) ? list.items : []) {
        const view = settingsView(item);
        if (view) result.set(view.namespace, view);
      }
      return result;
    });

  const secretData = (namespace: string, name: string) =>
    secretCache.get(`${namespace}/${name}`, async () => {
      try {
        const secret = await core.readNamespacedSecret({ namespace, name }, callOptions);
        return decodeSecretData(secret.data);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw toKubeError(error);
      }
    });

  const channelsOf = (view: ProjectSettingsView | undefined) => parseChannels(view?.annotations[ANNOTATIONS.slackChannels]);
  const secretNameOf = async (namespace: string) => (await allSettings()).get(namespace)?.runnerSecretName ?? DEFAULT_RUNNER_SECRET;

  return {
    invalidate() {
      managedCache.clear();
      settingsCache.clear();
      secretCache.clear();
    },

    async bindings() {
      const [managed, settings] = await Promise.all([managedNamespaces(), allSettings()]);
      return [...settings.entries()]
        .filter(([namespace]) => managed.has(namespace))
        .map(([namespace, view]) => ({ namespace, channels: channelsOf(view) }))
        .filter((b) => b.channels.length > 0);
    },
    async projectsBoundTo(channelId) {
      const channel = normaliseChannel(channelId);
      const [managed, settings] = await Promise.all([managedNamespaces(), allSettings()]);
      return [...settings.entries()]
        .filter(([namespace, view]) => managed.has(namespace) && channelsOf(view).includes(channel))
        .map(([namespace]) => namespace)
        .sort();
    },

    async isBound(namespace, channelId) {
      const [managed, settings] = await Promise.all([managedNamespaces(), allSettings()]);
      return managed.has(namespace) && channelsOf(settings.get(namespace)).includes(normaliseChannel(channelId));
    },

    async jiraSettings(namespace) {
      const view = (await allSettings()).get(namespace);
      const secretName = view?.runnerSecretName ?? DEFAULT_RUNNER_SECRET;
      const annotations = view?.annotations ?? {};
      const fromAnnotations = annotations[ANNOTATIONS.jiraSite] !== undefined && annotations[ANNOTATIONS.jiraProject] !== undefined;
      // The Secret is only read when the annotations do not already configure the project.
      const secret = fromAnnotations ? undefined : await secretData(namespace, secretName);
      let result = resolveJiraSettings({ annotations, secret, secretName });
      if (fromAnnotations && !result.settings)
        result = resolveJiraSettings({ annotations, secret: await secretData(namespace, secretName), secretName });
      for (const warning of result.warnings) logger?.warn({ namespace }, warning);
      return { settings: result.settings, secretName };
    },

    async gitToken(namespace) {
      const data = await secretData(namespace, await secretNameOf(namespace));
      const token = data?.GIT_TOKEN?.trim();
      return token ? token : undefined;
    },
  };
}

function settingsView(item: unknown): (ProjectSettingsView & { namespace: string }) | undefined {
  if (!isRecord(item) || !isRecord(item.metadata)) return undefined;
  const { name, namespace, annotations } = item.metadata;
  // Only the singleton counts; the CRD's CEL rule forbids other names, but a cluster may predate it.
  if (name !== PROJECT_SETTINGS_NAME || typeof namespace !== 'string') return undefined;
  const spec = isRecord(item.spec) ? item.spec : {};
  const secretName =
    typeof spec.runnerSecretsName === 'string' && spec.runnerSecretsName.trim() !== ''
      ? spec.runnerSecretsName.trim()
      : DEFAULT_RUNNER_SECRET;
  const stringAnnotations = isRecord(annotations)
    ? Object.fromEntries(Object.entries(annotations).filter((e): e is [string, string] => typeof e[1] === 'string'))
    : {};
  return { namespace, annotations: stringAnnotations, runnerSecretName: secretName };
}

/** `C0123, C0456 ,,` → [`C0123`, `C0456`]. Slack channel ids are upper-case; hand-typed ones may not be. */
export function parseChannels(annotation: string | undefined): string[] {
  return (annotation ?? '')
    .split(',')
    .map(normaliseChannel)
    .filter((c) => c !== '');
}

function normaliseChannel(channel: string): string {
  return channel.trim().toUpperCase();
}

function decodeSecretData(data: Record<string, string> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(data ?? {})) {
    if (typeof value === 'string') result[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return result;
}
