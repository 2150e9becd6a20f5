/**
 * In-memory implementations of the publishing ports (src/publishing/ports.ts), with the faults the
 * real systems have: Jira's search lags behind its creates, a create can succeed with its answer lost,
 * 429s, a CR write can fail, someone else can write a link meanwhile. The store and locks are the real
 * ones on an in-memory SQLite store, so lease loss is the real compare-and-swap failing.
 */
import pino from 'pino';
import { errors } from '../../src/errors.ts';
import { createPublishService, type PublishService, type PublishServiceDeps } from '../../src/publishing/publish-service.ts';
import type {
  CreateIssueRequest,
  JiraIssue,
  JiraLink,
  JiraSettings,
  LinkOutcome,
  PublishIntent,
  PublishRequest,
  Workflow,
  WorkflowRef,
} from '../../src/publishing/model.ts';
import { createDocumentRows } from '../../src/publishing/document-rows.ts';
import type { DocumentSource, JiraGateway, ProjectDirectory, PublishNotifier, WorkflowRepository } from '../../src/publishing/ports.ts';
import { createPendingPublishes, createPublishHistory } from '../../src/publishing/user-records.ts';
import { createLockService } from '../../src/storage/locks.ts';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';

export const SITE = 'https://acme.atlassian.net';
export const SETTINGS: JiraSettings = {
  siteUrl: SITE,
  projectKey: 'PROJ',
  issueTypes: { default: 'Task' },
  source: 'annotations',
  secretName: 's',
};
export const REF: WorkflowRef = { namespace: 'team-a', name: 'rfe-1' };
export const SPEC = 'specs/001-x/spec.md';
export const ALICE = { teamId: 'T1', userId: 'U1' };

export const request = (path = SPEC): PublishRequest => ({
  user: ALICE,
  channelId: 'C1',
  workflow: REF,
  path,
  replyTo: { teamId: 'T1', channelId: 'C1', userId: 'U1', responseUrl: 'https://hooks.slack.com/x' },
});

/** The cluster's RFEWorkflow, with a failure switch per write. */
export class InMemoryWorkflows implements WorkflowRepository {
  workflow: Workflow = { ...REF, title: 'Dark mode', description: '', jiraLinks: [], resourceVersion: '1' };
  failNextLinkWrites = 0;
  /** Runs before a write is applied (a concurrent writer). */
  beforeLinkWrite: (() => void) | undefined;
  /** Runs before an in-flight record is written (someone acting between a publish's read and its write). */
  beforeInFlightWrite: (() => void) | undefined;
  writes: string[] = [];

  private bump(change: (w: Workflow) => Workflow): Workflow {
    this.workflow = { ...change(this.workflow), resourceVersion: String(Number(this.workflow.resourceVersion) + 1) };
    return structuredClone(this.workflow);
  }
  async get(): Promise<Workflow> {
    return structuredClone(this.workflow);
  }
  async list(): Promise<Workflow[]> {
    return [structuredClone(this.workflow)];
  }
  async withInFlight(): Promise<Workflow[]> {
    return this.workflow.inFlight?.length ? [structuredClone(this.workflow)] : [];
  }
  async upsertJiraLink(_ref: WorkflowRef, link: JiraLink): Promise<LinkOutcome> {
    if (this.failNextLinkWrites > 0) {
      this.failNextLinkWrites -= 1;
      throw errors.kubernetesUnavailable(new Error('connect ECONNREFUSED'));
    }
    this.beforeLinkWrite?.();
    this.beforeLinkWrite = undefined;
    const existing = this.workflow.jiraLinks.find((l) => l.path === link.path);
    this.writes.push(`link ${link.path} ${link.jiraKey}`);
    const workflow = this.bump((w) => ({
      ...w,
      jiraLinks: existing ? w.jiraLinks : [...w.jiraLinks, link],
      inFlight: (w.inFlight ?? []).filter((i) => i.path !== link.path),
    }));
    return { workflow, existingKey: existing && existing.jiraKey !== link.jiraKey ? existing.jiraKey : undefined };
  }
  async markInFlight(seen: Workflow, intent: PublishIntent): Promise<{ workflow: Workflow; changed: boolean }> {
    this.beforeInFlightWrite?.();
    this.beforeInFlightWrite = undefined;
    const state = (w: Workflow) =>
      JSON.stringify([w.jiraLinks.find((l) => l.path === intent.path) ?? null, w.inFlight?.find((i) => i.path === intent.path) ?? null]);
    if (state(seen) !== state(this.workflow)) return { workflow: this.workflow, changed: true };
    this.writes.push(`in-flight ${intent.path}`);
    return {
      workflow: this.bump((w) => ({ ...w, inFlight: [...(w.inFlight ?? []).filter((i) => i.path !== intent.path), intent] })),
      changed: false,
    };
  }
  /** Someone else (the vTeam UI, another tool) links a document: a new resourceVersion. */
  linkElsewhere(link: JiraLink): void {
    this.bump((w) => ({ ...w, jiraLinks: [...w.jiraLinks, link] }));
  }
  async clearInFlight(_ref: WorkflowRef, path: string): Promise<void> {
    this.writes.push(`clear ${path}`);
    this.bump((w) => ({ ...w, inFlight: (w.inFlight ?? []).filter((i) => i.path !== path) }));
  }
}

type CreateFault = 'rate-limited' | 'lost-answer' | 'unreachable-nothing-created' | 'rejected';

/** Jira: issues, a search index that lags, and scripted create faults. */
export class InMemoryJira implements JiraGateway {
  issues: (JiraIssue & { labels: string[]; createdAt: number })[] = [];
  searchLagMs = 0;
  createFaults: CreateFault[] = [];
  /** Called when a create is refused with 429, before the caller waits. */
  onRateLimited: (() => void | Promise<void>) | undefined;
  /**
   * Runs as a create reaches Jira, before anything is created: a throw is Jira refusing the issue
   * (a required field, say), an await a slow Jira.
   */
  beforeCreate: ((req: CreateIssueRequest) => void | Promise<void>) | undefined;
  calls: string[] = [];
  /** Every create request that reached Jira, refused ones included, in order. */
  requests: CreateIssueRequest[] = [];

  async createIssue(_user: unknown, req: CreateIssueRequest, options?: { beforeSend?: () => Promise<void> }): Promise<JiraIssue> {
    await options?.beforeSend?.();
    this.calls.push('create');
    this.requests.push(structuredClone(req));
    if (this.beforeCreate) await this.beforeCreate(req);
    const fault = this.createFaults.shift();
    if (fault === 'rate-limited') {
      await this.onRateLimited?.();
      throw errors.rateLimited(1000);
    }
    if (fault === 'unreachable-nothing-created') throw errors.mcpUnreachable(new Error('502 Bad Gateway'), true);
    if (fault === 'rejected') throw errors.jiraRejected('Field customfield_1 is required');
    const key = `PROJ-${this.issues.length + 1}`;
    const issue = { key, url: `${SITE}/browse/${key}`, summary: req.summary, issueType: req.issueType };
    this.issues.push({ ...issue, labels: req.labels, createdAt: Date.now() });
    if (fault === 'lost-answer') throw errors.mcpUnreachable(new Error('socket hang up'), true);
    return issue;
  }
  async updateIssue(): Promise<JiraIssue> {
    throw new Error('not used');
  }
  async findIssueByLabel(_user: unknown, req: { label: string }): Promise<JiraIssue | undefined> {
    this.calls.push('search');
    const found = this.issues.find((i) => i.labels.includes(req.label) && Date.now() - i.createdAt >= this.searchLagMs);
    return found && { key: found.key, url: found.url, summary: found.summary, issueType: found.issueType };
  }
  browseUrl(site: string, key: string): string {
    return `${site}/browse/${key}`;
  }
}

export interface Told {
  kind: string;
  text: string;
}

/** `faults.published`: how many thread replies fail (Slack down) before they go through. */
export function recordingNotifier(told: Told[], faults: { published: number } = { published: 0 }): PublishNotifier {
  const say = (kind: string, text = '') => {
    told.push({ kind, text });
    return Promise.resolve();
  };
  return {
    queued: () => say('queued'),
    published: (_r, e) => {
      if (faults.published > 0) {
        faults.published -= 1;
        return Promise.reject(new Error('An API error occurred: fatal_error'));
      }
      return say(e.created ? 'published' : 'found', e.issue.key);
    },
    alreadyLinked: (_r, i) =>
      say(i.duplicate ? 'duplicate' : 'already-linked', i.duplicate ? `${i.issue.key} kept, ${i.duplicate.key} duplicate` : i.issue.key),
    updated: () => say('updated'),
    failed: (_r, e) => say('failed', e.code),
    needsLink: () => say('needs-link'),
    pendingDropped: () => say('pending-dropped'),
  };
}

export interface World {
  store: KeyValueStore;
  workflows: InMemoryWorkflows;
  jira: InMemoryJira;
  told: Told[];
  slackFaults: { published: number };
  /** Reads of documents that fail (the Git host down) before they go through. */
  documentFaults: { read: number };
  /** A replica: its own service (and lock owner) over the shared store, cluster and Jira; `overrides` e.g. a logger or metrics. */
  replica(name: string, overrides?: Partial<PublishServiceDeps>): PublishService;
  close(): Promise<void>;
}

export async function createWorld(options: { settleMs?: number; leaseMs?: number } = {}): Promise<World> {
  const store = await createStore('sqlite::memory:');
  const workflows = new InMemoryWorkflows();
  const jira = new InMemoryJira();
  const told: Told[] = [];
  const slackFaults = { published: 0 };
  const documentFaults = { read: 0 };
  const logger = pino({ level: 'silent' });
  const projects: ProjectDirectory = {
    bindings: async () => [{ namespace: REF.namespace, channels: ['C1'] }],
    projectsBoundTo: async () => [REF.namespace],
    isBound: async (_ns, channel) => channel === 'C1',
    jiraSettings: async () => ({ settings: SETTINGS, secretName: 's' }),
    gitToken: async () => undefined,
  };
  const documents: DocumentSource = {
    list: async () => [{ path: SPEC, phase: 'specify' }],
    read: async (_w, path) => {
      if (documentFaults.read > 0) {
        documentFaults.read -= 1;
        throw errors.documentSourceFailed('team-a/rfe-1', new Error('GitHub answered 502'));
      }
      return { path, phase: 'specify', markdown: '# Spec', sourceUrl: 'https://github.com/o/r/blob/b/spec.md' };
    },
  };
  const world: World = {
    store,
    workflows,
    jira,
    told,
    slackFaults,
    documentFaults,
    replica(name, overrides = {}) {
      return createPublishService({
        workflows,
        jira,
        store,
        logger,
        projects,
        documents,
        rows: createDocumentRows({ documents, projects, jira }),
        links: { state: async () => 'linked' },
        locks: createLockService(store, { owner: name }),
        notifier: recordingNotifier(told, slackFaults),
        pending: createPendingPublishes(store, { maxAgeMs: 60_000 }),
        history: createPublishHistory(store),
        options: { leaseMs: options.leaseMs ?? 30_000, rateLimitMaxWaitMs: 60_000, searchSettleMs: options.settleMs ?? 0 },
        ...overrides,
      });
    },
    close: () => store.close(),
  };
  return world;
}
