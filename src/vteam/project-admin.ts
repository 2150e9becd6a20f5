/**
 * Writes to a project's `projectsettings` singleton: the Slack channel binding and the Jira settings,
 * both annotations. Every write is a JSON patch that first `test`s the resourceVersion it was computed
 * from, so a concurrent change (kubectl, GitOps, another replica) is never overwritten: the patch fails,
 * the object is read again and the change re-planned. Other annotations and fields are never touched.
 * Who may write is decided by the cluster (SubjectAccessReview), see access-review.ts.
 */
import type { Logger } from 'pino';
import { VteamError } from '../errors.ts';
import { createAccessReviewer, type ClusterIdentity } from './access-review.ts';
import type { KubeClients } from './kube-clients.ts';
import { isConflict, isNotFound, kubeStatusCode, toKubeError } from './kube-errors.ts';
import { formatIssueTypes } from './jira-settings.ts';
import { parseChannels } from './projects.ts';
import {
  ANNOTATIONS,
  MANAGED_NAMESPACE_SELECTOR,
  PROJECT_SETTINGS,
  PROJECT_SETTINGS_NAME,
  VTEAM_GROUP,
  VTEAM_VERSION,
} from './resources.ts';
import { isRecord } from './workflow-mapping.ts';

export type ProjectState =
  /** No namespace by that name. */
  | { kind: 'missing' }
  /** A namespace, but not labelled ambient-code.io/managed=true. */
  | { kind: 'unmanaged' }
  /** A project whose `projectsettings` singleton does not exist (yet). */
  | { kind: 'no-settings' }
  | { kind: 'ready'; annotations: Record<string, string>; resourceVersion: string };

export type UnavailableProject = Exclude<ProjectState, { kind: 'ready' }>;

/** Annotations to set (add or replace) and to delete. */
export interface AnnotationChange {
  set?: Record<string, string>;
  remove?: string[];
}

/** What to write given the current annotations (no `change` = write nothing) and what to report. */
export interface AnnotationPlan<T> {
  change?: AnnotationChange | undefined;
  value: T;
}

export type UpdateResult<T> =
  { ok: true; value: T; written: boolean; annotations: Record<string, string> } | { ok: false; state: UnavailableProject };

export interface ProjectAdmin {
  /** The project as the cluster has it now (never cached). */
  inspect(namespace: string): Promise<ProjectState>;
  /** Whether the cluster lets `identity` patch this project's `projectsettings` (SubjectAccessReview). */
  mayEdit(identity: ClusterIdentity, namespace: string): Promise<boolean>;
  /**
   * Read → plan → JSON patch guarded by the read resourceVersion, repeated on conflict. `plan` runs on
   * fresh annotations each attempt, so "already bound" is decided on what is actually written.
   */
  updateAnnotations<T>(namespace: string, plan: (annotations: Record<string, string>) => AnnotationPlan<T>): Promise<UpdateResult<T>>;
}

export interface ProjectAdminDeps {
  kube: Pick<KubeClients, 'core' | 'customObjects' | 'authorization' | 'callOptions'>;
  /** The cached directory the publish path reads; dropped after each write so the change shows at once. */
  projects?: { invalidate(): void } | undefined;
  logger?: Logger | undefined;
  /** Attempts before giving up on a constantly changing object. Default 5. */
  maxAttempts?: number;
}

interface SettingsRead {
  annotations: Record<string, string>;
  /** Whether metadata.annotations exists at all (a JSON patch cannot add into a missing map). */
  hasAnnotationMap: boolean;
  resourceVersion: string;
}

export function createProjectAdmin(deps: ProjectAdminDeps): ProjectAdmin {
  const { core, customObjects, callOptions } = deps.kube;
  const reviewer = createAccessReviewer(deps.kube);
  const maxAttempts = deps.maxAttempts ?? 5;
  const logger = deps.logger;

  /** `list` with a field selector, not `get`: the bot's ClusterRole grants list (and patch) only. */
  async function namespaceState(namespace: string): Promise<'missing' | 'unmanaged' | 'managed'> {
    try {
      const list = await core.listNamespace({ fieldSelector: `metadata.name=${namespace}` }, callOptions);
      const ns = list.items.find((item) => item.metadata?.name === namespace);
      if (!ns) return 'missing';
      const [key, value] = MANAGED_NAMESPACE_SELECTOR.split('=') as [string, string];
      return ns.metadata?.labels?.[key] === value ? 'managed' : 'unmanaged';
    } catch (error) {
      throw toKubeError(error);
    }
  }

  async function readSettings(namespace: string): Promise<SettingsRead | undefined> {
    let list: unknown;
    try {
      list = await customObjects.listNamespacedCustomObject(
        {
          group: VTEAM_GROUP,
          version: VTEAM_VERSION,
          namespace,
          plural: PROJECT_SETTINGS,
          fieldSelector: `metadata.name=${PROJECT_SETTINGS_NAME}`,
        },
        callOptions,
      );
    } catch (error) {
      if (isNotFound(error)) return undefined; // the CRD is not installed
      throw toKubeError(error);
    }
    const items: unknown[] = isRecord(list) && Array.isArray(list.items) ? list.items : [];
    const item = items.find((i) => isRecord(i) && isRecord(i.metadata) && i.metadata.name === PROJECT_SETTINGS_NAME);
    if (!isRecord(item) || !isRecord(item.metadata) || typeof item.metadata.resourceVersion !== 'string') return undefined;
    const raw = item.metadata.annotations;
    const annotations = isRecord(raw)
      ? Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string'))
      : {};
    return { annotations, hasAnnotationMap: isRecord(raw), resourceVersion: item.metadata.resourceVersion };
  }

  async function load(namespace: string): Promise<UnavailableProject | ({ kind: 'ready' } & SettingsRead)> {
    if (!isProjectName(namespace)) return { kind: 'missing' };
    const [ns, settings] = await Promise.all([namespaceState(namespace), readSettings(namespace)]);
    if (ns !== 'managed') return { kind: ns };
    if (!settings) return { kind: 'no-settings' };
    return { kind: 'ready', ...settings };
  }

  return {
    async inspect(namespace) {
      const loaded = await load(namespace);
      return loaded.kind === 'ready' ? { kind: 'ready', annotations: loaded.annotations, resourceVersion: loaded.resourceVersion } : loaded;
    },

    mayEdit: (identity, namespace) => reviewer.mayEditProjectSettings(identity, namespace),

    async updateAnnotations(namespace, plan) {
      for (let attempt = 1; ; attempt++) {
        const settings = await load(namespace);
        if (settings.kind !== 'ready') return { ok: false, state: settings };
        const planned = plan({ ...settings.annotations });
        const operations = annotationPatch(settings, planned.change);
        if (operations.length === 0) {
          return { ok: true, value: planned.value, written: false, annotations: settings.annotations };
        }
        try {
          const updated: unknown = await customObjects.patchNamespacedCustomObject(
            {
              group: VTEAM_GROUP,
              version: VTEAM_VERSION,
              namespace,
              plural: PROJECT_SETTINGS,
              name: PROJECT_SETTINGS_NAME,
              body: [{ op: 'test', path: '/metadata/resourceVersion', value: settings.resourceVersion }, ...operations],
            },
            callOptions,
          );
          deps.projects?.invalidate();
          logger?.info({ namespace, annotations: changedKeys(planned.change), attempt }, 'projectsettings annotations updated');
          return {
            ok: true,
            value: planned.value,
            written: true,
            annotations: annotationsOf(updated) ?? applyChange(settings.annotations, planned.change),
          };
        } catch (error) {
          if (isNotFound(error)) return { ok: false, state: { kind: 'no-settings' } };
          if (!isStaleWrite(error)) throw toKubeError(error);
          logger?.debug({ namespace, attempt }, 'projectsettings changed while writing; reading it again');
          if (attempt >= maxAttempts) {
            throw new VteamError(
              'KUBERNETES_UNAVAILABLE',
              `The settings of project \`${namespace}\` kept changing while I was saving them; please try again.`,
              { cause: error },
            );
          }
        }
      }
    },
  };
}

/**
 * A failed `test` of the resourceVersion is the API server's 422 "test failed"; a plain 409 can come
 * from the server's own retry of the patch. Both mean "someone else wrote first".
 */
function isStaleWrite(error: unknown): boolean {
  if (isConflict(error)) return true;
  if (kubeStatusCode(error) !== 422) return false;
  const body = (error as { body?: unknown }).body;
  return /test failed/i.test(typeof body === 'string' ? body : JSON.stringify(body ?? ''));
}

/** RFC 6902 operations for `change` against what was read; nothing when the change changes nothing. */
export function annotationPatch(
  read: { annotations: Record<string, string>; hasAnnotationMap: boolean },
  change: AnnotationChange | undefined,
): { op: string; path: string; value?: unknown }[] {
  const set = Object.entries(change?.set ?? {}).filter(([key, value]) => read.annotations[key] !== value);
  const remove = (change?.remove ?? []).filter((key) => key in read.annotations && !(key in (change?.set ?? {})));
  if (!read.hasAnnotationMap) {
    return set.length > 0 ? [{ op: 'add', path: '/metadata/annotations', value: Object.fromEntries(set) }] : [];
  }
  return [
    ...set.map(([key, value]) => ({ op: 'add', path: `/metadata/annotations/${pointerToken(key)}`, value })),
    ...remove.map((key) => ({ op: 'remove', path: `/metadata/annotations/${pointerToken(key)}` })),
  ];
}

function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function applyChange(annotations: Record<string, string>, change: AnnotationChange | undefined): Record<string, string> {
  const result = { ...annotations, ...change?.set };
  for (const key of change?.remove ?? []) if (!(key in (change?.set ?? {}))) delete result[key];
  return result;
}

function annotationsOf(object: unknown): Record<string, string> | undefined {
  if (!isRecord(object) || !isRecord(object.metadata)) return undefined;
  const raw = object.metadata.annotations;
  if (raw === undefined) return {};
  if (!isRecord(raw)) return undefined;
  return Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function changedKeys(change: AnnotationChange | undefined): string[] {
  return [...Object.keys(change?.set ?? {}), ...(change?.remove ?? [])];
}

// ── Pure helpers for the binding and the admin's kubectl fallback ──

/** A Kubernetes namespace name (DNS-1123 label); anything else cannot be a project. */
export function isProjectName(name: string): boolean {
  return name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name);
}

/** The channels bound by these annotations, normalised as the directory reads them. */
export function boundChannels(annotations: Record<string, string>): string[] {
  return [...new Set(parseChannels(annotations[ANNOTATIONS.slackChannels]))];
}

/** The binding annotation after adding a channel; `already` when it was bound. */
export function withChannel(annotations: Record<string, string>, channelId: string): { already: boolean; channels: string[] } {
  const channels = boundChannels(annotations);
  const channel = channelId.trim().toUpperCase();
  return channels.includes(channel) ? { already: true, channels } : { already: false, channels: [...channels, channel] };
}

/** The binding annotation after removing a channel; `absent` when it was not bound. */
export function withoutChannel(annotations: Record<string, string>, channelId: string): { absent: boolean; channels: string[] } {
  const channels = boundChannels(annotations);
  const channel = channelId.trim().toUpperCase();
  return channels.includes(channel) ? { absent: false, channels: channels.filter((c) => c !== channel) } : { absent: true, channels };
}

/** The change that writes a channel list; an empty list removes the annotation. */
export function channelsChange(channels: string[]): AnnotationChange {
  return channels.length > 0 ? { set: { [ANNOTATIONS.slackChannels]: channels.join(',') } } : { remove: [ANNOTATIONS.slackChannels] };
}

/** The change that stores a project's Jira settings (site, project key, issue types per phase). */
export function jiraSettingsChange(values: {
  siteUrl: string;
  projectKey: string;
  issueTypes: { default: string } & Partial<Record<string, string>>;
}): AnnotationChange {
  return {
    set: {
      [ANNOTATIONS.jiraSite]: values.siteUrl,
      [ANNOTATIONS.jiraProject]: values.projectKey,
      [ANNOTATIONS.jiraIssueTypes]: formatIssueTypes(values.issueTypes),
    },
  };
}

/**
 * The `kubectl annotate` command that makes the same change: `key=value` sets (with --overwrite),
 * `key-` removes. Values are shell-quoted, so the command can be pasted as is.
 */
export function annotateCommand(namespace: string, change: AnnotationChange): string {
  const args = [
    ...Object.entries(change.set ?? {}).map(([key, value]) => shellQuote(`${key}=${value}`)),
    ...(change.remove ?? []).map((key) => shellQuote(`${key}-`)),
  ];
  const overwrite = Object.keys(change.set ?? {}).length > 0 ? ' --overwrite' : '';
  return `kubectl annotate ${PROJECT_SETTINGS} ${PROJECT_SETTINGS_NAME} -n ${shellQuote(namespace)} ${args.join(' ')}${overwrite}`;
}

/** POSIX single quotes unless the word is made only of characters no shell treats specially. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_,./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
