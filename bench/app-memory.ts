/**
 * `node bench/app-memory.ts [count] [node options…]`: resident memory of the whole app (`node src/main.ts`,
 * as deployed) watching `count` RFEWorkflows (PRODUCT.md §8: 10,000 in under 200 MB), with its cards
 * posted. Node options after the count are passed to the app (e.g. --max-semi-space-size=2, as the
 * Containerfile sets). Prints one JSON object.
 */
import { readFile } from 'node:fs/promises';
import { startEnvironment } from '../test/support/environment.ts';

const count = Number(process.argv[2] ?? 10_000);
const nodeOptions = process.argv.slice(3).join(' ');
const env = await startEnvironment({ appEnv: { LOG_LEVEL: 'info', ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) } });
try {
  for (let i = 0; i < count; i++) {
    const project = `project-${i % 50}`;
    if (i < 50) env.kube.addProject(project);
    env.kube.addRfeWorkflow(project, `rfe-${1_800_000_000 + i}`, {
      title: `Workflow ${i}`,
      description: 'A'.repeat(200),
      branchName: `b-${i}`,
      umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
      jiraLinks: [{ path: 'specs/001-x/spec.md', jiraKey: `PROJ-${i + 1}` }],
    });
  }
  // Restart so the informer lists all of them at once, as after a deploy.
  await env.app.kill('SIGTERM');
  const app = await env.startApp({ LOG_LEVEL: 'info', ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) });
  const started = Date.now();
  await app
    .waitForLog((r) => r.component === 'cards' && /synced|reconciled|became the leader/.test(String(r.msg)), 60_000)
    .catch(() => undefined);
  await new Promise((r) => setTimeout(r, 15_000)); // informer sync, a reconcile pass, GC settling
  const status = await readFile(`/proc/${app.child.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  console.log(
    JSON.stringify({
      workflows: count,
      nodeOptions: nodeOptions || '(none)',
      rssMb: Math.round(rssKb / 1024),
      peakRssMb: Math.round(hwmKb / 1024),
      cardsPosted: env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === undefined).length,
      measuredAfterMs: Date.now() - started,
      targetRssMb: 200,
    }),
  );
} finally {
  await env.close();
}
