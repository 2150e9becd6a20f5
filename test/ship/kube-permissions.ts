/**
 * The single table of Kubernetes permissions the bot needs, tied to the client calls in src/ that need
 * them, and the functions that read the calls out of src/ and the grants out of rendered RBAC objects.
 * deploy.test.ts fails when src/ makes a call this table does not know, when the table names a call
 * src/ no longer makes, or when RBAC grants more or less than the table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEFAULT_RUNNER_SECRET, PROJECT_SETTINGS, RFE_WORKFLOWS, VTEAM_GROUP } from '../../src/vteam/resources.ts';
import { isRecord, type KubeObject } from './kustomize.ts';

/** `cluster`: in every namespace (ClusterRoleBinding); `own-namespace`: the bot's namespace only (RoleBinding). */
export type Scope = 'cluster' | 'own-namespace';

export interface Permission {
  group: string;
  resource: string;
  verb: string;
  scope: Scope;
  /** Restricts the grant to these object names (sorted); absent = any name. */
  resourceNames?: string[];
}

export interface CallSite {
  /** Path relative to the repository root. */
  file: string;
  /** `<client>.<method>` as written in the source, e.g. `core.listNamespace`. */
  call: string;
}

export interface UsedPermission extends CallSite {
  /** A string that must occur in the file, proving which resource the (generic) call addresses. */
  evidence?: string;
  permissions: Permission[];
}

/** What src/ calls today. */
export const USED: UsedPermission[] = [
  { file: 'src/vteam/project-admin.ts', call: 'core.listNamespace', permissions: [perm('', 'namespaces', 'list')] },
  {
    file: 'src/vteam/project-admin.ts',
    call: 'customObjects.listNamespacedCustomObject',
    evidence: 'PROJECT_SETTINGS',
    permissions: [perm(VTEAM_GROUP, PROJECT_SETTINGS, 'list')],
  },
  {
    file: 'src/vteam/project-admin.ts',
    call: 'customObjects.patchNamespacedCustomObject',
    evidence: 'PROJECT_SETTINGS',
    permissions: [perm(VTEAM_GROUP, PROJECT_SETTINGS, 'patch')],
  },
  {
    file: 'src/vteam/access-review.ts',
    call: 'authorization.createSubjectAccessReview',
    permissions: [perm('authorization.k8s.io', 'subjectaccessreviews', 'create')],
  },
  { file: 'src/vteam/projects.ts', call: 'core.listNamespace', permissions: [perm('', 'namespaces', 'list')] },
  {
    file: 'src/vteam/projects.ts',
    call: 'customObjects.listCustomObjectForAllNamespaces',
    evidence: 'PROJECT_SETTINGS',
    permissions: [perm(VTEAM_GROUP, PROJECT_SETTINGS, 'list')],
  },
  {
    // The runner Secret, for the legacy JIRA_* keys and GIT_TOKEN; limited to vTeam's default name.
    file: 'src/vteam/projects.ts',
    call: 'core.readNamespacedSecret',
    evidence: 'DEFAULT_RUNNER_SECRET',
    permissions: [{ ...perm('', 'secrets', 'get'), resourceNames: [DEFAULT_RUNNER_SECRET] }],
  },
  {
    file: 'src/vteam/workflows.ts',
    call: 'customObjects.getNamespacedCustomObject',
    evidence: 'RFE_WORKFLOWS',
    permissions: [perm(VTEAM_GROUP, RFE_WORKFLOWS, 'get')],
  },
  {
    file: 'src/vteam/workflows.ts',
    call: 'customObjects.listNamespacedCustomObject',
    evidence: 'RFE_WORKFLOWS',
    permissions: [perm(VTEAM_GROUP, RFE_WORKFLOWS, 'list')],
  },
  // Recovery finds publishes recorded in flight on any workflow (cluster-wide, paged).
  {
    file: 'src/vteam/workflows.ts',
    call: 'customObjects.listCustomObjectForAllNamespaces',
    evidence: 'RFE_WORKFLOWS',
    permissions: [perm(VTEAM_GROUP, RFE_WORKFLOWS, 'list')],
  },
  {
    file: 'src/vteam/workflows.ts',
    call: 'customObjects.replaceNamespacedCustomObject',
    evidence: 'RFE_WORKFLOWS',
    permissions: [perm(VTEAM_GROUP, RFE_WORKFLOWS, 'update')],
  },
  // Discovery and /version are allowed to every authenticated identity by the built-in system:discovery
  // and system:public-info-viewer ClusterRoles: no grant needed.
  // Live workflow cards: an informer over RFEWorkflows and projectsettings (list + watch, all namespaces).
  {
    file: 'src/cards/sources.ts',
    call: 'customObjects.listCustomObjectForAllNamespaces',
    evidence: 'RFE_WORKFLOWS',
    permissions: [perm(VTEAM_GROUP, RFE_WORKFLOWS, 'list'), perm(VTEAM_GROUP, PROJECT_SETTINGS, 'list')],
  },
  { file: 'src/cards/sources.ts', call: 'core.listNamespace', permissions: [perm('', 'namespaces', 'list')] },
  {
    file: 'src/vteam/informer.ts',
    call: 'new Watch',
    permissions: [perm(VTEAM_GROUP, RFE_WORKFLOWS, 'watch'), perm(VTEAM_GROUP, PROJECT_SETTINGS, 'watch')],
  },
  // Leader election: one replica posts cards; a Lease in the bot's own namespace.
  {
    file: 'src/vteam/leader-election.ts',
    call: 'coordination.readNamespacedLease',
    permissions: [perm('coordination.k8s.io', 'leases', 'get', 'own-namespace')],
  },
  {
    file: 'src/vteam/leader-election.ts',
    call: 'coordination.createNamespacedLease',
    permissions: [perm('coordination.k8s.io', 'leases', 'create', 'own-namespace')],
  },
  {
    file: 'src/vteam/leader-election.ts',
    call: 'coordination.replaceNamespacedLease',
    permissions: [perm('coordination.k8s.io', 'leases', 'update', 'own-namespace')],
  },
  // /vteam jira-status asks what the bot itself may do: self-reviews need no grant (system:basic-user).
  { file: 'src/status/kube-probe.ts', call: 'authorization.createSelfSubjectAccessReview', permissions: [] },
  { file: 'src/vteam/kube-clients.ts', call: 'customObjects.getAPIResources', permissions: [] },
  { file: 'src/vteam/kube-clients.ts', call: 'version.getCode', permissions: [] },
];

/**
 * Granted ahead of the code that needs them (PRODUCT.md §4–§6, issues 4 and 5). When that code lands, its
 * calls appear in src/ and the test demands an entry in USED; move the permission there then.
 */
export const PLANNED: { permission: Permission; reason: string }[] = [];

function perm(group: string, resource: string, verb: string, scope: Scope = 'cluster'): Permission {
  return { group, resource, verb, scope };
}

export function permissionKey(p: Permission): string {
  const names = p.resourceNames && p.resourceNames.length > 0 ? `[${[...p.resourceNames].sort().join(',')}]` : '';
  return `${p.scope} ${p.group || 'core'}/${p.resource}${names} ${p.verb}`;
}

/** The clients of src/vteam/kube-clients.ts plus the client-node helpers that open watches. */
const CALL_PATTERN = /\b(core|customObjects|authorization|coordination|version)\.([A-Za-z]+)\s*\(/g;
const WATCH_PATTERN = /\b(makeInformer|ListWatch|new\s+Watch|new\s+LeaderElector|LeaseLock)\b/g;

/** Every Kubernetes client call in the TypeScript files under `root/src`. */
export function findKubeCalls(root: string): CallSite[] {
  const sites: CallSite[] = [];
  for (const path of typeScriptFiles(join(root, 'src'))) {
    const text = stripComments(readFileSync(path, 'utf8'));
    const file = relative(root, path).split('\\').join('/');
    for (const match of text.matchAll(CALL_PATTERN)) sites.push({ file, call: `${match[1]}.${match[2]}` });
    for (const match of text.matchAll(WATCH_PATTERN)) sites.push({ file, call: match[1]!.replace(/\s+/g, ' ') });
  }
  const unique = new Map(sites.map((site) => [`${site.file} ${site.call}`, site]));
  return [...unique.values()];
}

function typeScriptFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Removes comments so a call mentioned in documentation is not taken for a call. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/**
 * The permissions the rendered RBAC gives `serviceAccount` in `namespace`: ClusterRoles bound by a
 * ClusterRoleBinding apply cluster-wide, Roles (or ClusterRoles) bound by a RoleBinding in the bot's
 * namespace only. Wildcards are reported as themselves so an exact comparison catches them.
 */
export function grantedPermissions(objects: KubeObject[], serviceAccount: string, namespace: string): Permission[] {
  const roles = new Map(
    objects
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .map((o) => [`${o.kind} ${o.kind === 'Role' ? o.metadata.namespace : ''} ${o.metadata.name}`, o]),
  );
  const granted: Permission[] = [];
  for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    const subjects = Array.isArray(binding.subjects) ? binding.subjects.filter(isRecord) : [];
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === namespace)) continue;
    const ref = isRecord(binding.roleRef) ? binding.roleRef : {};
    const roleKey = `${String(ref.kind)} ${ref.kind === 'Role' ? binding.metadata.namespace : ''} ${String(ref.name)}`;
    const role = roles.get(roleKey);
    if (!role) throw new Error(`${binding.kind} ${binding.metadata.name} refers to ${roleKey.trim()}, which is not rendered`);
    const scope: Scope =
      binding.kind === 'ClusterRoleBinding' ? 'cluster' : binding.metadata.namespace === namespace ? 'own-namespace' : 'cluster';
    if (binding.kind === 'RoleBinding' && binding.metadata.namespace !== namespace) {
      throw new Error(`RoleBinding ${binding.metadata.name} binds the bot outside its namespace`);
    }
    for (const rule of Array.isArray(role.rules) ? role.rules.filter(isRecord) : []) {
      if (rule.nonResourceURLs !== undefined) throw new Error(`${role.kind} ${role.metadata.name} grants nonResourceURLs`);
      const names = Array.isArray(rule.resourceNames) && rule.resourceNames.length > 0 ? (rule.resourceNames as string[]) : undefined;
      for (const group of asStrings(rule.apiGroups)) {
        for (const resource of asStrings(rule.resources)) {
          for (const verb of asStrings(rule.verbs)) {
            granted.push({ group, resource, verb, scope, ...(names ? { resourceNames: [...names].sort() } : {}) });
          }
        }
      }
    }
  }
  return granted;
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}
