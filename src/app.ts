import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { createMcpJiraGateway } from './atlassian/jira-gateway.ts';
import type { Config } from './config/config.ts';
import { healthRoutes } from './http/health-routes.ts';
import { createPublishService, type PublishService } from './publishing/publish-service.ts';
import { createBoltApp } from './slack/bolt-app.ts';
import { registerPublishActions } from './slack/handlers/publish-actions.ts';
import { registerVteamCommand } from './slack/handlers/vteam-command.ts';
import { createSlackNotifier } from './slack/slack-notifier.ts';
import { createWorkflowThreads } from './slack/workflow-threads.ts';
import { loadOrCreateDevKey, parseKeyRing } from './storage/crypto.ts';
import { createLockService } from './storage/locks.ts';
import { createStore, parseStoreUrl } from './storage/store.ts';
import { createTokenStore } from './storage/tokens.ts';
import { createDocumentSource } from './vteam/documents.ts';
import { createKubeClients } from './vteam/kube-clients.ts';
import { createProjectDirectory } from './vteam/projects.ts';
import { createWorkflowRepository } from './vteam/workflows.ts';

export interface VteamSlack {
  start(): Promise<void>;
  /** Stops taking work, lets in-flight publishes finish (bounded), closes connections. */
  stop(): Promise<void>;
}

/** The composition root: every adapter is built and wired here, and nowhere else. */
export async function createVteamSlack(config: Config, logger: Logger): Promise<VteamSlack> {
  const store = await createStore(config.store.url, { logger: logger.child({ component: 'store' }) });
  const keyRing = config.store.tokenEncryptionKey
    ? parseKeyRing(config.store.tokenEncryptionKey)
    : await loadOrCreateDevKey(dataDirectory(config.store.url), logger);
  const tokens = createTokenStore(store, keyRing, { logger });
  const locks = createLockService(store, { logger: logger.child({ component: 'locks' }) });

  const kube = createKubeClients({ kubeconfigPath: config.kubernetes.kubeconfigPath });
  const workflows = createWorkflowRepository(kube, { logger: logger.child({ component: 'workflows' }) });
  const projects = createProjectDirectory(kube, { logger: logger.child({ component: 'projects' }) });
  const documents = createDocumentSource({
    projects,
    githubApiUrl: config.documents.githubApiUrl,
    githubToken: config.documents.githubToken,
    contentServiceUrl: config.documents.contentServiceUrl,
    logger: logger.child({ component: 'documents' }),
  });
  const jira = createMcpJiraGateway({
    mcpUrl: config.atlassian.mcpUrl,
    logger: logger.child({ component: 'mcp' }),
    credentials: {
      async current(user) {
        const link = await tokens.get(user);
        if (!link || link.broken) return undefined;
        return { accessToken: link.accessToken, ...(link.cloudId ? { cloudId: link.cloudId } : {}) };
      },
    },
  });

  const inFlight = new Set<Promise<unknown>>();
  let accepting = true;
  const track = (work: Promise<unknown>) => {
    const settled = work.catch((error: unknown) => logger.error({ err: error }, 'background work failed'))
      .finally(() => inFlight.delete(settled));
    inFlight.add(settled);
  };

  const bolt = createBoltApp(config, logger, healthRoutes({
    store: () => store.ping(),
    kubernetes: () => kube.ping(),
    accepting: async () => { if (!accepting) throw new Error('shutting down'); },
  }));

  // The notifier renders cards from the service's document rows, and the service reports through the
  // notifier: the closure reads `service` only after construction.
  const rowsOf = (workflow: Parameters<PublishService['rowsOf']>[0]) => service.rowsOf(workflow);
  const threads = createWorkflowThreads({ client: bolt.client, store, locks, logger, rowsOf, vteamUrl: config.vteamUrl });
  const notifier = createSlackNotifier({ client: bolt.client, threads, rowsOf, logger, vteamUrl: config.vteamUrl });
  const service = createPublishService({
    workflows, projects, documents, jira, store, locks, notifier,
    links: { isLinked: async (user) => { const link = await tokens.get(user); return Boolean(link && !link.broken); } },
    logger: logger.child({ component: 'publish' }),
    options: config.publishing,
  });

  registerVteamCommand(bolt, { service, logger, vteamUrl: config.vteamUrl, track });
  registerPublishActions(bolt, { service, logger, ephemeral: notifier.ephemeral, track });
  bolt.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  // Publishes interrupted by a crash (here or on another replica) are finished in the background.
  let recoveryTimer: NodeJS.Timeout | undefined;
  const recover = () => track(service.recoverInterrupted().then((n) => {
    if (n > 0) logger.info({ examined: n }, 'recovery pass done');
  }));

  return {
    async start() {
      await bolt.start(config.http.port);
      recover();
      recoveryTimer = setInterval(recover, config.publishing.leaseMs).unref();
    },
    async stop() {
      accepting = false;
      clearInterval(recoveryTimer);
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => setTimeout(r, 25_000).unref()),
      ]);
      await bolt.stop().catch((error: unknown) => logger.warn({ err: error }, 'Slack receiver did not stop cleanly'));
      await jira.close();
      await store.close();
    },
  };
}

/** Where development-only files (the generated encryption key) live: beside the SQLite file. */
function dataDirectory(storeUrl: string): string {
  const location = parseStoreUrl(storeUrl);
  return location.kind === 'sqlite' && location.path !== ':memory:' ? dirname(resolve(location.path)) : resolve('data');
}
