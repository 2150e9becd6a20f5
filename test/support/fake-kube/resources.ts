/** The resource types the fake serves, with the properties that change API-server behaviour. */

export interface ResourceDefinition {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames?: string[];
  /** `status` subresource: the main resource ignores status changes and vice versa. */
  statusSubresource: boolean;
  /** Custom resources refuse an update without metadata.resourceVersion; built-in types allow it. */
  requireResourceVersionOnUpdate: boolean;
  /** Strategic merge patch exists only for built-in types. */
  strategicMergePatch: boolean;
  verbs: string[];
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const VTEAM_GROUP = 'vteam.ambient-code';
export const VTEAM_VERSION = 'v1alpha1';

export const RESOURCES: readonly ResourceDefinition[] = [
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    listKind: 'NamespaceList',
    namespaced: false,
    shortNames: ['ns'],
    statusSubresource: true,
    requireResourceVersionOnUpdate: false,
    strategicMergePatch: true,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    listKind: 'SecretList',
    namespaced: true,
    statusSubresource: false,
    requireResourceVersionOnUpdate: false,
    strategicMergePatch: true,
    verbs: ALL_VERBS,
  },
  {
    group: VTEAM_GROUP,
    version: VTEAM_VERSION,
    plural: 'rfeworkflows',
    singular: 'rfeworkflow',
    kind: 'RFEWorkflow',
    listKind: 'RFEWorkflowList',
    namespaced: true,
    shortNames: ['rfe'],
    statusSubresource: true,
    requireResourceVersionOnUpdate: true,
    strategicMergePatch: false,
    verbs: ALL_VERBS,
  },
  {
    group: VTEAM_GROUP,
    version: VTEAM_VERSION,
    plural: 'projectsettings',
    singular: 'projectsetting',
    kind: 'ProjectSettings',
    listKind: 'ProjectSettingsList',
    namespaced: true,
    shortNames: ['ps'],
    statusSubresource: false,
    requireResourceVersionOnUpdate: true,
    strategicMergePatch: false,
    verbs: ALL_VERBS,
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    plural: 'leases',
    singular: 'lease',
    kind: 'Lease',
    listKind: 'LeaseList',
    namespaced: true,
    statusSubresource: false,
    requireResourceVersionOnUpdate: false,
    strategicMergePatch: true,
    verbs: ALL_VERBS,
  },
];

export type ResourcePlural = 'namespaces' | 'secrets' | 'rfeworkflows' | 'projectsettings' | 'leases';

export function apiVersionOf(def: ResourceDefinition): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

export function findResource(group: string, version: string, plural: string): ResourceDefinition | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function resourceByPlural(plural: ResourcePlural): ResourceDefinition {
  const def = RESOURCES.find((r) => r.plural === plural);
  if (!def) throw new Error(`unknown resource ${plural}`);
  return def;
}
