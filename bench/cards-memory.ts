/**
 * `node bench/cards-memory.ts [count]`: resident memory of the card service watching 10,000 RFEWorkflows
 * (PRODUCT.md §8: under 200 MB), and the delay from a CR change to the card's chat.update.
 *
 * This process runs the loopback Kubernetes and Slack servers and seeds them; the card service runs in
 * a child process (the same code as the app: leader election, both informers, reconciler, real
 * WebClient), so its RSS is not mixed with the fakes' own copy of the objects. Workflows are spread
 * over 50 projects; one project binds a channel (its cards are posted), every workflow is cached.
 * Prints one JSON object on stdout.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createCardService } from '../src/cards/card-service.ts';
import { createCardsSlackClient } from '../src/cards/slack-writer.ts';
import type { Workflow } from '../src/publishing/model.ts';
import { createLockService } from '../src/storage/locks.ts';
import { createStore } from '../src/storage/store.ts';
import { createKubeClients } from '../src/vteam/kube-clients.ts';
import { startFakeKube } from '../test/support/fake-kube.ts';
import { startFakeSlack } from '../test/support/fake-slack.ts';
import { writeKubeconfig } from '../test/support/kubeconfig.ts';

const CHANNEL = 'C0BENCH0001';
const PROJECTS = 50;
const BOUND = 'project-0';

type ChildMessage = { type: 'synced'; workflows: number; rssMb: number; heapUsedMb: number; syncMs: number };

if (process.argv[2] === '--service') await runService(process.argv[3]!, process.argv[4]!);
else await main(Number(process.argv[2] ?? 10_000));

async function main(count: number): Promise<void> {
  const kube = await startFakeKube({ bookmarkIntervalMs: 0, historyLimit: 100 });
  const slack = await startFakeSlack();
  const dir = await mkdtemp(join(tmpdir(), 'cards-bench-'));
  try {
    kube.addNamespace('default');
    for (let p = 0; p < PROJECTS; p++) {
      kube.addProject(`project-${p}`);
      kube.addProjectSettings(`project-${p}`, p === 0 ? { annotations: { 'vteam.ambient-code/slack-channels': CHANNEL } } : {});
    }
    for (let i = 0; i < count; i++) kube.addRfeWorkflow(`project-${i % PROJECTS}`, `rfe-${1760000000 + i}`, workflowSpec(i));
    const kubeconfig = await writeKubeconfig(dir, kube.url, kube.token);
    const bound = Math.ceil(count / PROJECTS);
    process.stderr.write(`seeded ${count} workflows (${bound} in the bound project); starting the card service\n`);

    const child = fork(fileURLToPath(import.meta.url), ['--service', kubeconfig, slack.apiUrl], {
      execArgv: ['--expose-gc', ...(process.env.CHILD_FLAGS ? process.env.CHILD_FLAGS.split(' ') : [])],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const synced = await new Promise<ChildMessage>((resolve, reject) => {
      child.once('message', (m) => resolve(m as ChildMessage));
      child.once('exit', (code) => reject(new Error(`card service exited with ${code}`)));
    });
    await slack.waitFor(() => slack.messagesIn(CHANNEL).length === bound, 600_000);

    const cards = Array.from(
      { length: bound },
      (_, j) => slack.messagesIn(CHANNEL).find((m) => m.text === `RFE workflow: Workflow ${j * PROJECTS}`)!.ts,
    );
    // Delay from a CR change to the card edit, a few times, spaced so the per-channel pacing is not measured.
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 1_100));
      const index = (i % bound) * PROJECTS;
      const card = slack.messagesIn(CHANNEL).find((m) => m.ts === cards[i % bound])!;
      const title = `Renamed ${i}`;
      const started = performance.now();
      kube.modify('rfeworkflows', BOUND, `rfe-${1760000000 + index}`, (o) => {
        (o.spec as Record<string, unknown>).title = title;
      });
      await slack.waitFor(() => card.text.includes(title), 30_000);
      delays.push(Math.round(performance.now() - started));
    }
    const rssAfter = await new Promise<number>((resolve) => {
      child.once('message', (m) => resolve((m as { rssMb: number }).rssMb));
      child.send('rss');
    });
    child.kill('SIGTERM');
    process.stdout.write(
      `${JSON.stringify({
        workflows: synced.workflows,
        syncMs: synced.syncMs,
        rssMbAfterSync: synced.rssMb,
        heapUsedMbAfterSync: synced.heapUsedMb,
        rssMbAfterCards: rssAfter,
        cardsPosted: slack.messagesIn(CHANNEL).length,
        crChangeToCardUpdateMs: {
          samples: delays,
          max: Math.max(...delays),
          median: [...delays].sort((a, b) => a - b)[Math.floor(delays.length / 2)],
        },
        targetRssMb: 200,
      })}\n`,
    );
  } finally {
    await slack.close();
    await kube.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A realistic object: a long description, repositories, a few links, a status block. */
function workflowSpec(i: number): Record<string, unknown> {
  return {
    title: `Workflow ${i}`,
    description: `As a user I want feature ${i}. `.repeat(40),
    branchName: `ambient-feature-${i}`,
    umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
    supportingRepos: [
      { url: 'https://github.com/org/backend', branch: 'main' },
      { url: 'https://github.com/org/frontend', branch: 'main' },
    ],
    workspacePath: `/workspace/sessions/rfe-${i}/workspace`,
    parentOutcome: i % 3 === 0 ? `OUT-${i}` : undefined,
    jiraLinks: i % 2 === 0 ? [{ path: `specs/${i}-x/spec.md`, jiraKey: `PROJ-${i}` }] : [],
  };
}

async function runService(kubeconfigPath: string, slackApiUrl: string): Promise<void> {
  const started = performance.now();
  const logger = pino({ level: 'warn' });
  const store = await createStore('sqlite::memory:');
  const kube = createKubeClients({ kubeconfigPath });
  const rowsOf = async (w: Workflow) =>
    ['spec', 'plan', 'tasks'].map((phase) => {
      const path = `specs/${w.name}/${phase}.md`;
      const link = w.jiraLinks.find((l) => l.path === path);
      return { path, phase, jiraKey: link?.jiraKey, url: link ? `https://acme.atlassian.net/browse/${link.jiraKey}` : undefined };
    });
  const service = createCardService({
    kube,
    store,
    locks: createLockService(store),
    rowsOf,
    logger,
    client: createCardsSlackClient({ token: 'xoxb-test-token', slackApiUrl }),
    vteamUrl: 'https://vteam.example.com',
    leaderElection: { namespace: 'default', leaseName: 'vteam-slack-cards', leaseMs: 15_000, identity: 'bench' },
    resyncMs: 3_600_000,
    postIntervalMs: 1,
  });
  await service.start();
  for (;;) {
    const stats = service.stats();
    if (stats.watches.length === 2 && stats.watches.every((w) => w.synced)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const measure = () => {
    (globalThis as { gc?: () => void }).gc?.();
    const usage = process.memoryUsage();
    return { rssMb: Math.round(usage.rss / 1e6), heapUsedMb: Math.round(usage.heapUsed / 1e6) };
  };
  process.send!({ type: 'synced', workflows: service.stats().workflows, syncMs: Math.round(performance.now() - started), ...measure() });
  process.on('message', () => process.send!(measure()));
  process.on('SIGTERM', () => void service.stop().finally(() => process.exit(0)));
}
