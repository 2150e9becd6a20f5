/**
 * The card service against the loopback Kubernetes and Slack servers: real KubeClients from a
 * kubeconfig, a real WebClient, the real store and locks. Documents come from a table the test fills
 * (the service takes `rowsOf` as a dependency; the publish service's version needs GitHub).
 */
import { pino, type Logger } from 'pino';
import { createCardService, type CardService, type CardServiceOptions } from '../../src/cards/card-service.ts';
import { createCardsSlackClient } from '../../src/cards/slack-writer.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import type { Workflow } from '../../src/publishing/model.ts';
import type { DocumentRow } from '../../src/publishing/model.ts';
import { createLockService } from '../../src/storage/locks.ts';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore, LockService } from '../../src/storage/types.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { startKubeFixture, type KubeFixture } from '../vteam/kube-fixture.ts';

export const PROJECT = 'team-a';
export const CHANNELS = ['C0000000001', 'C0000000002'] as const;
export const VTEAM_URL = 'https://vteam.example.com';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface Harness {
  fixture: KubeFixture;
  slack: FakeSlack;
  store: KeyValueStore;
  locks: LockService;
  logs: LogLine[];
  logger: Logger;
  /** Document paths per `namespace/name` (what the workspace holds). */
  documents: Map<string, string[]>;
  rowsOf(workflow: Workflow): Promise<DocumentRow[]>;
  service(overrides?: Partial<CardServiceOptions> & { identity?: string }): CardService;
  addWorkflow(name: string, spec?: Record<string, unknown>, documents?: string[]): void;
  close(): Promise<void>;
}

export async function startHarness(options: { bookmarkIntervalMs?: number; channels?: readonly string[] } = {}): Promise<Harness> {
  const fixture = await startKubeFixture({ bookmarkIntervalMs: options.bookmarkIntervalMs ?? 0 });
  const slack = await startFakeSlack();
  const store = await createStore('sqlite::memory:');
  const locks = createLockService(store);
  const logs: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as LogLine);
      },
    },
  );
  const documents = new Map<string, string[]>();
  const services: CardService[] = [];

  fixture.kube.addNamespace('default');
  fixture.kube.addProject(PROJECT);
  fixture.kube.addProjectSettings(PROJECT, {
    annotations: { 'vteam.ambient-code/slack-channels': (options.channels ?? CHANNELS).join(',') },
  });

  const rowsOf = async (workflow: Workflow): Promise<DocumentRow[]> => {
    const paths = documents.get(`${workflow.namespace}/${workflow.name}`) ?? [];
    const extra = workflow.jiraLinks.map((l) => l.path).filter((p) => !paths.includes(p));
    return [...paths, ...extra].map((path) => {
      const link = workflow.jiraLinks.find((l) => l.path === path);
      const phase = path.endsWith('plan.md') ? 'plan' : path.endsWith('tasks.md') ? 'tasks' : 'specify';
      return { path, phase, jiraKey: link?.jiraKey, url: link ? `https://acme.atlassian.net/browse/${link.jiraKey}` : undefined };
    });
  };

  return {
    fixture,
    slack,
    store,
    locks,
    logs,
    logger,
    documents,
    rowsOf,
    service(overrides = {}) {
      const { identity = `replica-${services.length + 1}`, ...rest } = overrides;
      const service = createCardService({
        kube: fixture.clients,
        store,
        locks: createLockService(store, { owner: identity }),
        client: createCardsSlackClient({ token: 'xoxb-test-token', slackApiUrl: slack.apiUrl }),
        rowsOf,
        metrics: createMetrics(),
        logger: logger.child({ replica: identity }),
        vteamUrl: VTEAM_URL,
        leaderElection: { namespace: 'default', leaseName: 'vteam-slack-cards', leaseMs: 2_000, identity },
        resyncMs: 60_000,
        postIntervalMs: 20,
        announceGraceMs: 300,
        leaseRetryMs: 100,
        informer: { backoff: { initialMs: 50, maxMs: 200 }, notServedRetryMs: 200 },
        ...rest,
      });
      services.push(service);
      return service;
    },
    addWorkflow(name, spec = {}, docs = ['specs/001-x/spec.md']) {
      documents.set(`${PROJECT}/${name}`, docs);
      fixture.kube.addRfeWorkflow(PROJECT, name, {
        title: `Workflow ${name}`,
        description: 'Allow users to switch themes',
        branchName: `ambient-${name}`,
        umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
        jiraLinks: [],
        ...spec,
      });
    },
    async close() {
      await Promise.all(services.map((s) => s.stop({ release: false }).catch(() => undefined)));
      await slack.close();
      await fixture.close();
      await store.close();
    },
  };
}

/** Cards (top-level messages) in a channel. */
export function cardsIn(h: Harness, channel: string) {
  return h.slack.messagesIn(channel);
}

/** Top-level chat.postMessage calls that succeeded or not, per channel (each one a posting attempt). */
export function cardPosts(h: Harness, channel?: string) {
  return h.slack
    .callsTo('chat.postMessage')
    .filter((c) => c.args.thread_ts === undefined && (channel === undefined || c.args.channel === channel));
}

export function blocksText(blocks: unknown): string {
  return JSON.stringify(blocks ?? []);
}
