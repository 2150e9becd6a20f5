import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { createGuardedJiraGateway } from './atlassian/guarded-gateway.ts';
import { createMcpJiraGateway } from './atlassian/jira-gateway.ts';
import { createClassicSites } from './atlassian/classic-sites.ts';
import { createContextForge } from './atlassian/contextforge/index.ts';
import { createAccountEmailLookup, createSiteLookup } from './atlassian/site-lookup.ts';
import { createCardService } from './cards/card-service.ts';
import { createCardThreads } from './cards/card-threads.ts';
import { createCardsSlackClient } from './cards/slack-writer.ts';
import type { Config } from './config/config.ts';
import { isVteamError, type VteamError } from './errors.ts';
import { healthRoutes, readinessChecks } from './http/health-routes.ts';
import { metricsRoute } from './http/metrics-route.ts';
import { oauthCallbackRoute } from './http/oauth-callback-route.ts';
import { oauthStartRoute } from './http/oauth-start-route.ts';
import { gatewayUserOf } from './identity/gateway-user.ts';
import { createIdentityMapper } from './identity/identity-mapper.ts';
import { createDisconnect } from './oauth/disconnect.ts';
import { createGatewayAccounts } from './oauth/gateway-account.ts';
import { createGatewayLinkFlow } from './oauth/gateway-link-flow.ts';
import { createGatewayLinkWatch, type GatewayLinkWatch } from './oauth/gateway-link-watch.ts';
import type { CompletedLink } from './oauth/link-flow.ts';
import { createLinkFlow, type LinkFlow } from './oauth/link-flow.ts';
import type { LinkIdentityCheck } from './oauth/link-identity.ts';
import { createAtlassianOAuth, oauthModeFromConfig } from './oauth/oauth-client.ts';
import { createSignInCookie } from './oauth/sign-in-cookie.ts';
import { createTokenRefresher } from './oauth/token-refresher.ts';
import { createMetrics } from './observability/metrics.ts';
import type { AccountLinks } from './publishing/ports.ts';
import { createDocumentRows } from './publishing/document-rows.ts';
import type { SlackUserRef, Workflow } from './publishing/model.ts';
import type { AtlassianLink } from './storage/types.ts';
import { createPublishService } from './publishing/publish-service.ts';
import { createBatchService } from './publishing/batch-service.ts';
import { createPendingPublishes, createPublishHistory } from './publishing/user-records.ts';
import { connectedMessage, gatewayConnectedMessage, gatewayDisconnectMessage } from './slack/blocks/account.ts';
import { errorMessage } from './slack/blocks/replies.ts';
import { createBoltApp } from './slack/bolt-app.ts';
import { createSlackWebClient } from './slack/web-client.ts';
import { createChannelProblems } from './storage/channel-problems.ts';
import { registerAccountHandlers } from './slack/handlers/account.ts';
import { registerPublishActions } from './slack/handlers/publish-actions.ts';
import { registerRetiredActions } from './slack/handlers/retired-actions.ts';
import { registerPublishAs } from './slack/handlers/publish-as.ts';
import { registerBatchActions } from './slack/handlers/batch-actions.ts';
import { registerVteamCommand } from './slack/handlers/vteam-command.ts';
import { createSlackNotifier } from './slack/slack-notifier.ts';
import { createBatchNotifier } from './slack/batch-notifier.ts';
import { isRefusedAppToken, refusedAppTokenMessage, superviseSocketMode, type SocketSupervisor } from './slack/socket-supervisor.ts';
import { createChannelSubcommands } from './slack/subcommands/channel-bindings.ts';
import { createJiraConfigSubcommand, registerJiraConfigModal } from './slack/subcommands/jira-config.ts';
import { createJiraStatusSubcommand } from './slack/subcommands/jira-status.ts';
import { createAdminCheck } from './status/admin-check.ts';
import { createFailureLog } from './status/failure-log.ts';
import { createStatusService } from './status/status-service.ts';
import { loadOrCreateDevKey, parseKeyRing } from './storage/crypto.ts';
import { createLockService } from './storage/locks.ts';
import { createStore, parseStoreUrl } from './storage/store.ts';
import { createTokenStore } from './storage/tokens.ts';
import { TurnStarter } from './lib/turn-starter.ts';
import { createDocumentSource } from './vteam/documents.ts';
import { createKubeClients, NO_CLUSTER_WARNING } from './vteam/kube-clients.ts';
import { describeKubeFailure, kubeFailureSummary } from './vteam/kube-errors.ts';
import { createProjectAdmin } from './vteam/project-admin.ts';
import { createProjectDirectory } from './vteam/projects.ts';
import { createWorkflowRepository } from './vteam/workflows.ts';
import { watchApiHealth, type ApiHealth } from './vteam/api-health.ts';

export interface VteamSlack {
  start(): Promise<void>;
  /** Stops taking work, lets in-flight publishes finish (bounded), closes connections. */
  stop(): Promise<void>;
}

export interface VteamSlackHooks {
  /** The app cannot go on (Slack refused the app token): the caller should stop() it and exit non-zero. */
  onFatal?(error: Error): void;
}

/** The composition root: every adapter is built and wired here, and nowhere else. */
export async function createVteamSlack(config: Config, logger: Logger, hooks: VteamSlackHooks = {}): Promise<VteamSlack> {
  const metrics = createMetrics();
  const store = await createStore(config.store.url, { logger: logger.child({ component: 'store' }) });
  const keyRing = config.store.tokenEncryptionKey
    ? parseKeyRing(config.store.tokenEncryptionKey)
    : await loadOrCreateDevKey(dataDirectory(config.store.url), logger);
  const tokens = createTokenStore(store, keyRing, { logger });
  const locks = createLockService(store, { logger: logger.child({ component: 'locks' }) });

  const kube = createKubeClients({ kubeconfigPath: config.kubernetes.kubeconfigPath });
  // Said once: the loops that need the cluster retry quietly (debug) from here on.
  if (kube.configured) logger.info({ kubernetes: kube.server, kubeconfig: kube.source }, `Kubernetes API: ${kube.server}`);
  else logger.warn({ kubernetes: 'none' }, NO_CLUSTER_WARNING);
  const workflows = createWorkflowRepository(kube, { logger: logger.child({ component: 'workflows' }) });
  const projects = createProjectDirectory(kube, { logger: logger.child({ component: 'projects' }) });
  const documents = createDocumentSource({
    projects,
    githubApiUrl: config.documents.githubApiUrl,
    githubToken: config.documents.githubToken,
    githubAllowedHosts: config.documents.githubAllowedHosts,
    contentServiceUrl: config.documents.contentServiceUrl,
    logger: logger.child({ component: 'documents' }),
  });
  // The notifier's Slack client, also used to read profile emails (users.info) for identities.
  const slackClient = createSlackWebClient(config, logger, metrics);
  const identities = createIdentityMapper(config.identity, slackClient, { logger });
  const gatewayConfig = config.atlassian.gateway;
  // Behind MCP Context Forge, MCF holds users' Atlassian tokens: the bot signs a JWT per user instead.
  const contextForge =
    gatewayConfig.kind === 'contextforge'
      ? createContextForge(gatewayConfig, {
          store,
          userOf: gatewayUserOf(identities, gatewayConfig.userTemplate),
          logger: logger.child({ component: 'contextforge' }),
        })
      : undefined;
  // One authorization-code flow, configured either MCP-native (discovery + DCR) or as a classic 3LO app.
  const oauthMode = oauthModeFromConfig({ mcpUrl: config.atlassian.mcpUrl, ...config.atlassian.oauth });
  const oauth = createAtlassianOAuth({
    mode: oauthMode,
    publicUrl: config.http.publicUrl,
    store,
    logger: logger.child({ component: 'oauth' }),
  });
  const siteLookup = createSiteLookup({ mode: oauthMode.kind, mcpUrl: config.atlassian.mcpUrl, apiUrl: config.atlassian.apiUrl, logger });
  const slackEmailOf = async (user: SlackUserRef) => {
    const found = await identities.resolve(user);
    return found.kind === 'no-email' ? undefined : found.email;
  };
  // A Connect link opened by someone else links nothing: the account's email must be the Slack user's.
  const identityCheck: LinkIdentityCheck =
    config.atlassian.linkEmailMatch === 'off'
      ? { policy: 'off' }
      : {
          policy: 'required',
          slackEmailOf,
          atlassianEmailOf: oauthMode.kind === 'classic' ? createAccountEmailLookup({ apiUrl: config.atlassian.apiUrl }) : undefined,
        };
  if (oauthMode.kind === 'classic' && identityCheck.policy === 'required' && !oauthMode.scopes.includes('read:me')) {
    logger.warn(
      'ATLASSIAN_OAUTH_SCOPES lacks read:me: no account can be checked against its Slack email, so every link will be refused; add read:me (and the User identity API to the 3LO app) or set ATLASSIAN_LINK_EMAIL_MATCH=off',
    );
  }
  // Binds each sign-in to the browser that opened the link: /oauth/start sets it, /oauth/callback requires it.
  const signInCookie = createSignInCookie(config.http.publicUrl);
  // A link found dead surfaces as AUTH_EXPIRED in the publish that needed it, which DMs the
  // reconnect button; refreshes only ever happen on behalf of such a request.
  const credentials = createTokenRefresher({
    tokens,
    locks,
    oauth,
    logger: logger.child({ component: 'oauth' }),
    onRefresh: (outcome) => metrics.tokenRefreshes.inc({ outcome }),
  });
  // A disconnect also drops (and revokes) a refreshed pair still waiting to be saved.
  const disconnect = createDisconnect({ tokens, oauth, logger, refresher: credentials });
  const mcpLogger = logger.child({ component: 'mcp' });
  // Classic tokens carry the publish's site as a cloud-id header, from the link's sites or a fresh lookup.
  const classicSites =
    oauthMode.kind === 'classic'
      ? createClassicSites({ lookup: siteLookup, remember: (user, sites) => credentials.rememberSites(user, sites), logger: mcpLogger })
      : undefined;
  const mcp = createMcpJiraGateway({
    mcpUrl: config.atlassian.mcpUrl,
    logger: mcpLogger,
    credentials: contextForge?.credentials ?? credentials,
    metrics,
    classicSites,
    profile: contextForge?.profile,
  });
  const oauthLogger = logger.child({ component: 'oauth' });
  // Behind MCF: an account someone else authorized under a user's MCF identity is never published with.
  const gatewayAccounts =
    contextForge === undefined
      ? undefined
      : createGatewayAccounts({
          policy: config.atlassian.linkEmailMatch,
          checkAccess: (user, options) => mcp.checkAccess(user, options),
          slackEmailOf,
          store,
          logger: oauthLogger,
        });
  // Per-site concurrency cap, hourly budget, fair queue and shared 429 pauses (Redis with several replicas).
  const jira = createGuardedJiraGateway(mcp, {
    store,
    concurrency: config.rateLimit.concurrency,
    hourlyBudget: config.rateLimit.hourlyBudget,
    maxWaitMs: config.publishing.rateLimitMaxWaitMs,
    costPerCall: contextForge?.profile.upstreamRequestsPerCall,
    metrics,
    logger: logger.child({ component: 'rate-limit' }),
  });
  const pending = createPendingPublishes(store, { maxAgeMs: 15 * 60_000 });
  const links: AccountLinks = {
    async state(user) {
      // MCF holds the link: only asking it as the user tells, which the publish itself does.
      if (gatewayAccounts !== undefined) return (await gatewayAccounts.refusal(user)) === undefined ? 'linked' : 'broken';
      const link = await tokens.get(user);
      return !link ? 'missing' : link.broken ? 'broken' : 'linked';
    },
  };
  const history = createPublishHistory(store);
  const failures = createFailureLog(store, { logger: logger.child({ component: 'status' }) });

  const inFlight = new Set<Promise<unknown>>();
  let accepting = true;
  // Work after an ack starts in the check phase (setImmediate), not inside the request's callback, a
  // few per turn: requests that arrived together are all acknowledged before any of their work runs,
  // and a burst's work does not become one long turn. Store calls on SQLite never yield, so a publish
  // started at once would hold up the next request's ack.
  const starter = new TurnStarter();
  const track = (start: () => Promise<unknown>) => {
    const settled = new Promise<void>((resolve) => starter.defer(resolve))
      .then(start)
      .catch((error: unknown) => logger.error({ err: error }, 'background work failed'))
      .finally(() => inFlight.delete(settled));
    inFlight.add(settled);
  };

  // Built in dependency order, no late binding: rows → Slack client → threads → notifier → service → routes → Bolt.
  const documentRows = createDocumentRows({ documents, projects, jira });
  // What cards and pickers show: a workflow not seeded yet is shown with no documents yet.
  const rowsOf = (workflow: Workflow) => documentRows(workflow, { branchMayBeMissing: true });
  const threads = createCardThreads({ client: slackClient, store, locks, logger, rowsOf, vteamUrl: config.vteamUrl });
  const notifier = createSlackNotifier({
    client: slackClient,
    threads,
    rowsOf,
    logger,
    vteamUrl: config.vteamUrl,
    slackApiUrl: config.slack.apiUrl,
  });
  const service = createPublishService({
    workflows,
    projects,
    documents,
    rows: documentRows,
    jira,
    store,
    locks,
    notifier,
    pending,
    history,
    metrics,
    links,
    failures,
    logger: logger.child({ component: 'publish' }),
    options: config.publishing,
  });

  // Publish all and Create issues from tasks: every item an ordinary publish, paced by the same limiter.
  const batches = createBatchService({
    service,
    rows: documentRows,
    documents,
    projects,
    jira,
    links,
    locks,
    pending,
    store,
    notifier: {
      ...createBatchNotifier({ client: slackClient, threads, replies: notifier, logger }),
      needsLink: (replyTo, info) => notifier.needsLink(replyTo, info),
      pendingDropped: (replyTo, info) => notifier.pendingDropped(replyTo, info),
      failed: (replyTo, error) => notifier.failed(replyTo, error),
    },
    budget: async (settings) => {
      const status = await jira.status(settings.siteUrl);
      return { used: status.usedThisHour, limit: status.hourlyBudget };
    },
    logger: logger.child({ component: 'batch' }),
    options: {
      // As many as the Jira slots: more would only queue in the limiter, and crowd the preparation
      // gate and the event loop in front of other users' publishes (measured: npm run bench -- --only batch).
      concurrency: config.rateLimit.concurrency,
      leaseMs: config.publishing.leaseMs,
      requestsPerCreate: contextForge?.profile.upstreamRequestsPerCall,
    },
  });
  const batchDeps = { batches, logger, track, ephemeral: notifier.ephemeral };

  const onLinked = async (user: SlackUserRef, link: AtlassianLink | undefined) => {
    await notifier.direct(user.userId, link === undefined ? gatewayConnectedMessage() : connectedMessage(link));
    // The publish or batch that waited for the link (a batch hands a single publish to the service).
    await batches.resumeAfterLink(user);
  };
  let linkFlow: LinkFlow;
  let gatewayWatch: GatewayLinkWatch | undefined;
  if (contextForge === undefined || gatewayAccounts === undefined) {
    linkFlow = createLinkFlow({ store, tokens, oauth, logger: oauthLogger, siteLookup, identityCheck });
  } else {
    // MCF tells nobody when a user finishes authorizing: the bot asks MCF as that user until it knows,
    // and takes the account only if it has the user's Slack email (ATLASSIAN_LINK_EMAIL_MATCH).
    const checkAccess = async (user: SlackUserRef) => (await mcp.checkAccess(user)).state;
    const accounts = gatewayAccounts;
    const tell = (user: SlackUserRef, error: VteamError) => notifier.direct(user.userId, errorMessage(error.userMessage));
    const watch = createGatewayLinkWatch({
      check: (user) => accounts.check(user),
      onLinked: (user) => onLinked(user, undefined),
      onRefused: tell,
      onExpired: async (user) => {
        const refusal = await accounts.refusal(user);
        if (refusal !== undefined) await tell(user, refusal);
      },
      logger: oauthLogger,
    });
    gatewayWatch = watch;
    linkFlow = createGatewayLinkFlow({
      store,
      redirectUri: oauth.redirectUri,
      userOf: contextForge.userOf,
      gatewayIds: contextForge.gatewayIds,
      startAuthorization: contextForge.startAuthorization,
      checkAccess,
      watch: async (user) => {
        await accounts.begin(user);
        watch.watch(user);
      },
      logger: oauthLogger,
    });
  }

  const routes = (slack: { connected?: () => boolean }) => [
    ...healthRoutes(
      readinessChecks({
        store: () => store.ping(),
        accepting: () => accepting,
        // Socket Mode: ready only while the WebSocket is connected.
        ...(slack.connected ? { slackConnected: slack.connected } : {}),
      }),
    ),
    metricsRoute(metrics.registry),
    oauthStartRoute({ linkFlow, cookie: signInCookie, logger: logger.child({ component: 'oauth' }) }),
    oauthCallbackRoute({
      linkFlow,
      cookie: signInCookie,
      logger: logger.child({ component: 'oauth' }),
      onLinked: (completed: CompletedLink) => onLinked(completed.user, completed.link),
    }),
  ];
  const { app: bolt, socketClient } = createBoltApp(config, logger, routes, metrics);

  // Project administration: who may bind channels and configure Jira is decided by the cluster (SAR).
  const projectAdmin = createProjectAdmin({ kube, projects, logger: logger.child({ component: 'project-admin' }) });
  const adminDeps = { admin: projectAdmin, projects, identities, jira, links, logger: logger.child({ component: 'project-admin' }) };
  registerJiraConfigModal(bolt, adminDeps);

  const status = createStatusService({
    mcpUrl: config.atlassian.mcpUrl,
    credentials: contextForge?.credentials ?? credentials,
    tokens,
    store,
    kube,
    failures,
    limits: jira,
    gateway: contextForge === undefined ? undefined : { profile: contextForge.profile, checkAccess: (user) => mcp.checkAccess(user) },
    projects,
    channelProblems: createChannelProblems(store),
    logger: logger.child({ component: 'status' }),
  });

  registerVteamCommand(bolt, {
    service,
    logger,
    vteamUrl: config.vteamUrl,
    track,
    disconnect,
    disconnectElsewhere: contextForge === undefined ? undefined : gatewayDisconnectMessage(contextForge.teamId),
    batches: batchDeps,
    subcommands: [
      ...createChannelSubcommands(adminDeps),
      createJiraConfigSubcommand(adminDeps),
      createJiraStatusSubcommand({ status, isAdmin: createAdminCheck(config.admins, bolt.client, { logger }), logger }),
    ],
  });
  registerAccountHandlers(bolt, {
    linkFlow,
    disconnect,
    tokens,
    history,
    logger,
    signInVia: contextForge === undefined ? 'bot' : 'contextforge',
  });
  registerPublishActions(bolt, { service, logger, ephemeral: notifier.ephemeral, track });
  registerRetiredActions(bolt, {
    logger,
    ephemeral: async (channel, user, text) => {
      await bolt.client.chat.postEphemeral({ channel, user, text });
    },
  });
  registerPublishAs(bolt, { service, projects, jira, links, logger, ephemeral: notifier.ephemeral, track });
  registerBatchActions(bolt, batchDeps);
  bolt.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  // Live workflow cards: one replica (Kubernetes Lease) watches RFEWorkflows and keeps the cards current.
  // Its own Slack client fails fast on 429 and waits Retry-After per channel, instead of Bolt's long retries.
  const cards = createCardService({
    kube,
    store,
    locks,
    rowsOf,
    metrics,
    logger: logger.child({ component: 'cards' }),
    vteamUrl: config.vteamUrl,
    client: createCardsSlackClient({ token: config.slack.botToken, slackApiUrl: config.slack.apiUrl, logger, metrics }),
    leaderElection: config.leaderElection,
    resyncMs: config.cards.resyncMs,
  });

  // Publishes interrupted by a crash (here or on another replica) are finished in the background.
  let recoveryTimer: NodeJS.Timeout | undefined;
  let supervisor: SocketSupervisor | undefined;
  let apiHealth: ApiHealth | undefined;
  const recover = () =>
    track(() =>
      service.recoverInterrupted().then(
        (n) => {
          if (n > 0) logger.info({ examined: n }, 'recovery pass done');
        },
        (error: unknown) => {
          // The cluster being away is the lease loop's news (said once); here it only postpones the pass.
          const failure = isVteamError(error, 'KUBERNETES_UNAVAILABLE') ? describeKubeFailure(error, kube.server) : undefined;
          if (failure === undefined || failure.kind === 'other') throw error;
          const text = `recovery pass postponed: ${kubeFailureSummary(failure)}`;
          if (failure.kind === 'answered') logger.warn({ kubernetes: failure.kubernetes, cause: failure.cause }, text);
          else logger.debug({ kubernetes: failure.kubernetes, cause: failure.cause }, text);
        },
      ),
    );

  return {
    async start() {
      try {
        await bolt.start(config.http.port);
      } catch (error) {
        if (isRefusedAppToken(error)) throw new Error(refusedAppTokenMessage(error), { cause: error });
        throw error;
      }
      if (socketClient) {
        supervisor = superviseSocketMode(socketClient, {
          logger: logger.child({ component: 'socket-mode' }),
          onFatal: (error) => hooks.onFatal?.(error),
        });
      }
      await cards.start();
      recover();
      recoveryTimer = setInterval(recover, config.publishing.leaseMs).unref();
      // vteam_slack_kubernetes_up: the API's state for metrics and alerts (readiness does not wait for it).
      apiHealth = watchApiHealth({
        ping: () => kube.ping(),
        metrics,
        apiServer: kube.server,
        logger: logger.child({ component: 'kubernetes' }),
      });
    },
    async stop() {
      accepting = false;
      supervisor?.stop();
      apiHealth?.stop();
      gatewayWatch?.close();
      clearInterval(recoveryTimer);
      await cards.stop().catch((error: unknown) => logger.warn({ err: error }, 'cards did not stop cleanly'));
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 25_000).unref())]);
      await bolt.stop().catch((error: unknown) => logger.warn({ err: error }, 'Slack receiver did not stop cleanly'));
      await jira.close();
      // A refreshed pair not yet saved gets a last attempt before the store goes.
      await credentials
        .close()
        .catch((error: unknown) => logger.warn({ err: error }, 'unsaved Atlassian tokens could not be saved at shutdown'));
      await store.close();
    },
  };
}

/** Where development-only files (the generated encryption key) live: beside the SQLite file. */
function dataDirectory(storeUrl: string): string {
  const location = parseStoreUrl(storeUrl);
  return location.kind === 'sqlite' && location.path !== ':memory:' ? dirname(resolve(location.path)) : resolve('data');
}
