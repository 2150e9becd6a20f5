/**
 * WorkflowRepository over the RFEWorkflow custom resource. Writes follow the vTeam backend's own
 * pattern — GET, upsert by exact path, full PUT with the read resourceVersion — but a 409 is retried by
 * re-reading and re-applying the upsert, so a concurrent edit never orphans the Jira issue (reference §8, §10).
 */
import type { Logger } from 'pino';
import { errors } from '../errors.ts';
import type { JiraLink, LinkOutcome, Workflow, WorkflowRef } from '../publishing/model.ts';
import type { WorkflowRepository } from '../publishing/ports.ts';
import type { KubeClients } from './kube-clients.ts';
import { isConflict, isNotFound, toKubeError } from './kube-errors.ts';
import { RFE_WORKFLOWS, VTEAM_GROUP, VTEAM_VERSION } from './resources.ts';
import { isRecord, toWorkflow, withInFlight, withJiraLink, type RawObject } from './workflow-mapping.ts';

export interface WorkflowRepositoryOptions {
  logger?: Logger;
  /** Attempts of the read-modify-write on conflicts. Default 6. */
  maxAttempts?: number;
  /** Backoff after the n-th conflict: random in [0, min(maxDelayMs, baseDelayMs·2ⁿ)]. Defaults 25 / 400 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** For tests: replaces setTimeout-based sleeping and Math.random. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

type Clients = Pick<KubeClients, 'customObjects' | 'callOptions'>;

export function createWorkflowRepository(kube: Clients, options: WorkflowRepositoryOptions = {}): WorkflowRepository {
  const { customObjects, callOptions } = kube;
  const logger = options.logger;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 6);
  const baseDelayMs = options.baseDelayMs ?? 25;
  const maxDelayMs = options.maxDelayMs ?? 400;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const resource = { group: VTEAM_GROUP, version: VTEAM_VERSION, plural: RFE_WORKFLOWS };
  // The raw object behind the latest get() of each workflow: a link upsert right after it (the publish
  // path re-reads under its lease) can PUT without reading again. A stale one only costs a 409 + re-read.
  const recentReads = new Map<string, RawObject>();
  const RECENT_READS = 256;
  const keyOf = (ref: WorkflowRef) => `${ref.namespace}/${ref.name}`;
  // Changes waiting to be written, per workflow (see modify).
  const groups = new Map<string, WriteGroup>();
  function remember(ref: WorkflowRef, object: RawObject): void {
    recentReads.delete(keyOf(ref));
    recentReads.set(keyOf(ref), object);
    if (recentReads.size > RECENT_READS) recentReads.delete(recentReads.keys().next().value!);
  }
  function recentRead(ref: WorkflowRef): RawObject | undefined {
    const object = recentReads.get(keyOf(ref));
    recentReads.delete(keyOf(ref));
    const expected = (ref as Partial<Workflow>).resourceVersion;
    const actual = isRecord(object?.metadata) ? object.metadata.resourceVersion : undefined;
    return expected !== undefined && actual === expected ? object : undefined;
  }

  async function read(ref: WorkflowRef): Promise<RawObject | undefined> {
    try {
      const object: unknown = await customObjects.getNamespacedCustomObject(
        { ...resource, namespace: ref.namespace, name: ref.name },
        callOptions,
      );
      return isRecord(object) ? object : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toKubeError(error);
    }
  }

  function mapOrSkip(object: unknown): Workflow | undefined {
    const workflow = toWorkflow(object);
    if (!workflow)
      logger?.warn(
        { name: isRecord(object) && isRecord(object.metadata) ? object.metadata.name : undefined },
        'skipping an RFEWorkflow without a usable name/namespace',
      );
    return workflow;
  }

  async function listNamespace(namespace: string): Promise<Workflow[]> {
    try {
      const list: unknown = await customObjects.listNamespacedCustomObject({ ...resource, namespace }, callOptions);
      const items = isRecord(list) && Array.isArray(list.items) ? list.items : [];
      return items.flatMap((item) => mapOrSkip(item) ?? []);
    } catch (error) {
      if (isNotFound(error)) {
        // The API answers 404 for the whole resource when the CRD is not installed (platform ≥ v0.0.8).
        logger?.warn({ namespace }, 'rfeworkflows are not served by this cluster; is the RFEWorkflow CRD installed?');
        return [];
      }
      throw toKubeError(error);
    }
  }

  return {
    async get(ref) {
      const object = await read(ref);
      if (object === undefined) return undefined;
      remember(ref, object);
      return mapOrSkip(object);
    },

    async list(namespaces) {
      const unique = [...new Set(namespaces)];
      const lists = await Promise.all(unique.map(listNamespace));
      return lists.flat();
    },

    async upsertJiraLink(ref: WorkflowRef, link: JiraLink): Promise<LinkOutcome> {
      const { workflow, result: existingKey } = await modify(ref, 'jira link', (current) => {
        const linked = withJiraLink(current, link);
        // The in-flight record goes in the same write: a link never outlives it nor the reverse.
        const cleared = withInFlight(linked.object, ref, link.path, undefined);
        return { object: cleared.object, changed: linked.changed || cleared.changed, result: linked.existingKey };
      });
      if (existingKey !== undefined) {
        logger?.warn(
          { workflow: `${ref.namespace}/${ref.name}`, path: link.path, existingKey, newKey: link.jiraKey },
          'kept the existing jira link of a document',
        );
      }
      return { workflow, existingKey };
    },

    async withInFlight() {
      // Cluster-wide and paged: rare, and it must not depend on (or warm) the projects cache.
      const found: Workflow[] = [];
      let continueToken: string | undefined;
      do {
        let page: unknown;
        try {
          page = await customObjects.listCustomObjectForAllNamespaces(
            {
              group: VTEAM_GROUP,
              version: VTEAM_VERSION,
              resourcePlural: RFE_WORKFLOWS,
              limit: 500,
              ...(continueToken ? { _continue: continueToken } : {}),
            },
            callOptions,
          );
        } catch (error) {
          if (isNotFound(error)) return [];
          throw toKubeError(error);
        }
        const items = isRecord(page) && Array.isArray(page.items) ? page.items : [];
        for (const item of items) {
          const workflow = toWorkflow(item);
          if (workflow?.inFlight?.length) found.push(workflow);
        }
        const metadata = isRecord(page) && isRecord(page.metadata) ? page.metadata : {};
        continueToken = typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
      } while (continueToken !== undefined);
      return found;
    },

    async markInFlight(seen, intent) {
      // Written over the object `seen` was mapped from (no read) when nobody wrote since; after a 409 only
      // a change to another path is written over: one to this path sends the caller back to decide again.
      const before = pathState(seen, intent.path);
      const { workflow, result } = await modify(seen, 'in-flight record', (current) => {
        // The very version `seen` was read from needs no second look (no mapping on the common path).
        const now = isRecord(current.metadata) && current.metadata.resourceVersion === seen.resourceVersion ? seen : toWorkflow(current);
        if (now === undefined || pathState(now, intent.path) !== before) return { object: current, changed: false, result: true };
        return { ...withInFlight(current, seen, intent.path, intent), result: false };
      });
      return { workflow, changed: result === true };
    },

    async clearInFlight(ref, path) {
      await modify(ref, 'in-flight removal', (current) => ({ ...withInFlight(current, ref, path, undefined), result: undefined }));
    },
  };

  /**
   * Read, change, PUT with the read resourceVersion: the API server refuses it (409) if anyone wrote
   * in between, so concurrent changes are never overwritten; a conflict re-reads and re-applies.
   *
   * Changes to one workflow made at once on this replica (a batch's tasks, several documents) are
   * written together: while one PUT is in flight the next changes wait, then go in one PUT. Without
   * it they would collide with each other, each collision costing a 409, a re-read and a backoff.
   * `change` may run several times (after a conflict): it is pure, and its last `result` is returned.
   */
  function modify<R>(ref: WorkflowRef, what: string, change: Change<R>): Promise<{ workflow: Workflow; result: R }> {
    const key = keyOf(ref);
    return new Promise((resolve, reject) => {
      const group = groups.get(key) ?? { waiting: [], writing: false };
      groups.set(key, group);
      group.waiting.push({ ref, what, change: change as Change<unknown>, resolve: resolve as Pending['resolve'], reject });
      if (!group.writing) void writeGroups(key, group);
    });
  }

  /** Writes the waiting changes of one workflow, in groups, until none is left. */
  async function writeGroups(key: string, group: WriteGroup): Promise<void> {
    group.writing = true;
    try {
      while (group.waiting.length > 0) {
        const members = group.waiting.splice(0);
        try {
          const done = await writeTogether(members);
          members.forEach((member, i) => member.resolve(done[i]!));
        } catch (error) {
          for (const member of members) member.reject(error);
        }
      }
    } finally {
      group.writing = false;
      groups.delete(key);
    }
  }

  /** One read-modify-write applying every member's change in turn; retried as a whole on 409. */
  async function writeTogether(members: Pending[]): Promise<{ workflow: Workflow; result: unknown }[]> {
    const ref = members[0]!.ref;
    const name = `${ref.namespace}/${ref.name}`;
    const what = members.length === 1 ? members[0]!.what : `group of ${members.length} changes`;
    for (let attempt = 1; ; attempt++) {
      const current = (attempt === 1 ? recentRead(ref) : undefined) ?? (await read(ref));
      if (current === undefined) throw errors.workflowNotFound(name);
      let object = current;
      let changed = false;
      const results = members.map((member) => {
        const applied = member.change(object);
        object = applied.object;
        changed ||= applied.changed;
        return applied.result;
      });
      if (!changed) {
        const workflow = mapped(current, ref);
        return results.map((result) => ({ workflow, result }));
      }
      try {
        const updated: unknown = await customObjects.replaceNamespacedCustomObject(
          { ...resource, namespace: ref.namespace, name: ref.name, body: object },
          callOptions,
        );
        logger?.debug({ workflow: name, attempt, changes: members.length }, `${what} written`);
        if (isRecord(updated)) remember(ref, updated);
        const workflow = mapped(updated, ref);
        return results.map((result) => ({ workflow, result }));
      } catch (error) {
        if (isNotFound(error)) throw errors.workflowNotFound(name);
        if (!isConflict(error)) throw toKubeError(error);
        if (attempt >= maxAttempts) {
          logger?.warn({ workflow: name, attempts: attempt }, `gave up writing a ${what} after repeated conflicts`);
          throw errors.kubernetesUnavailable(error);
        }
        const delay = random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        logger?.debug({ workflow: name, attempt, delayMs: Math.round(delay) }, `conflict writing a ${what}; re-reading`);
        await sleep(delay);
      }
    }
  }

  function mapped(object: unknown, ref: WorkflowRef): Workflow {
    const workflow = toWorkflow(object);
    if (!workflow) throw errors.internal(new Error(`RFEWorkflow ${ref.namespace}/${ref.name} has no usable metadata`));
    return workflow;
  }
}

/** One change of a workflow's raw object: pure, so it can be applied again after a conflict. */
type Change<R> = (current: RawObject) => { object: RawObject; changed: boolean; result: R };

interface Pending {
  ref: WorkflowRef;
  what: string;
  change: Change<unknown>;
  resolve: (done: { workflow: Workflow; result: unknown }) => void;
  reject: (error: unknown) => void;
}

interface WriteGroup {
  waiting: Pending[];
  writing: boolean;
}

/** What decides a publish of `path`: its link and its in-flight record, as one comparable string. */
function pathState(workflow: Workflow, path: string): string {
  return JSON.stringify([
    workflow.jiraLinks.find((l) => l.path === path)?.jiraKey ?? null,
    workflow.inFlight?.find((i) => i.path === path) ?? null,
  ]);
}
