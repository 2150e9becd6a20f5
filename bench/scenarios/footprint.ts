/**
 * Footprint (issue 14, item 7): the whole app's resident memory idle and watching 10,000 RFEWorkflows
 * (cards posted, informer synced, GC settled), and the time from spawning the process to its first
 * `/healthz` 200, for `node src/main.ts` (how it ran before) and the production build as the image runs
 * it (scripts/build.ts; the Containerfile's CMD node options and ENV). Targets: idle ≤ 110 MB, 10k ≤ 130 MB,
 * start → /healthz < 1 s.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../scripts/build.ts';
import { freePort, spawnApp, type AppProcess } from '../../test/support/app-process.ts';
import { startEnvironment, type Environment } from '../../test/support/environment.ts';
import { execForm, parseContainerfile, stagesOf } from '../../test/ship/containerfile.ts';
import { progress, round } from '../stats.ts';

export const FOOTPRINT_TARGETS = { idleRssMb: 110, rssAt10kMb: 130, startToHealthzMs: 1000 } as const;

export const SOURCE_ENTRY = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const CONTAINERFILE = fileURLToPath(new URL('../../Containerfile', import.meta.url));

/** How the app process is started. */
export interface Launch {
  /** The script node runs. */
  entry: string;
  /** Node options before the script. */
  execArgv: string[];
  /** Environment on top of the test environment's (NODE_OPTIONS, allocator settings). */
  env: Record<string, string>;
}

/** Environment variables of the image that change the process's footprint (the rest configure the app). */
const RUNTIME_ENV = /^(NODE_OPTIONS|MALLOC_\w+|GLIBC_TUNABLES|NODE_DISABLE_COMPILE_CACHE)$/;

/** The image's way of starting `entry`: the final stage's CMD node options and its runtime ENV. */
export function imageLaunch(entry: string, containerfile = readFileSync(CONTAINERFILE, 'utf8')): Launch {
  const final = stagesOf(parseContainerfile(containerfile)).at(-1)!;
  const cmd = execForm(final.instructions.filter((i) => i.keyword === 'CMD').at(-1)?.args ?? '') ?? [];
  const env: Record<string, string> = {};
  for (const instruction of final.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const [, key, quoted, bare] of instruction.args.matchAll(/(\w+)=(?:"([^"]*)"|(\S*))/g)) {
      if (RUNTIME_ENV.test(key!)) env[key!] = quoted ?? bare ?? '';
    }
  }
  return { entry, execArgv: cmd.slice(1, -1), env };
}

export interface Measurement {
  workflows: number;
  /** VmRSS after sync and a settling pause. */
  rssMb: number;
  /** VmHWM: the most the process was resident at any time. */
  peakRssMb: number;
  /** V8 heap in use, from the app's own /metrics. */
  heapUsedMb: number | null;
  /** Spawn → first 200 from /healthz. */
  startToHealthzMs: number;
  /** Spawn → first 200 from /readyz (store and Kubernetes reachable). */
  startToReadyzMs: number;
  /** CPU the process used (user + system) from spawn to the measurement: the price of memory-saving options. */
  cpuMs: number;
  cardsPosted: number;
  /** Whether the card poster started (became the leader: it reached Kubernetes); false: a broken app was measured. */
  cardsStarted: boolean;
  /** Error-level log records: a run with errors measured something else than the app at work. */
  errorLogs: number;
}

export interface FootprintOptions {
  /** Workflow counts measured in turn, each after a restart (so the informer lists them all at once). */
  counts?: number[];
  /** Pause after the cards are in sync, before reading the resident set. Default 15 s. */
  settleMs?: number;
}

/**
 * Measures one launch at each count, in one environment of loopback fakes: workflows are added between
 * counts, and the app restarted so it lists them all at once, as after a deploy.
 */
export async function measureFootprint(launch: Launch, options: FootprintOptions = {}): Promise<Measurement[]> {
  const env = await startEnvironment({
    appEnv: { LOG_LEVEL: 'info', ...launch.env },
    appSpawn: { entry: launch.entry, execArgv: launch.execArgv },
  });
  const measurements: Measurement[] = [];
  let seeded = 0;
  try {
    await env.app.kill('SIGTERM');
    for (const count of options.counts ?? [0, 10_000]) {
      for (; seeded < count; seeded++) seedWorkflow(env, seeded);
      measurements.push(await measureOnce(env, launch, count, options.settleMs ?? 15_000));
    }
  } finally {
    await env.close();
  }
  return measurements;
}

function seedWorkflow(env: Environment, i: number): void {
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

async function measureOnce(env: Environment, launch: Launch, workflows: number, settleMs: number): Promise<Measurement> {
  const port = await freePort();
  const postsBefore = cardPosts(env);
  const started = performance.now();
  const app = spawnApp({ ...env.appEnv(), PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` }, launch);
  try {
    const startToHealthzMs = await firstOk(app, '/healthz', started);
    const startToReadyzMs = await firstOk(app, '/readyz', started);
    const cardsStarted = await app
      .waitForLog((r) => r.component === 'cards' && /synced|reconciled|became the leader/.test(String(r.msg)), 60_000)
      .then(
        () => true,
        () => false,
      );
    await new Promise((r) => setTimeout(r, settleMs)); // informer sync, a reconcile pass, GC settling
    const status = await readFile(`/proc/${app.child.pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    // /proc/<pid>/stat: utime and stime are the 14th and 15th fields, in clock ticks (100 per second).
    const stat = (await readFile(`/proc/${app.child.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    const cpuMs = (Number(stat[11]) + Number(stat[12])) * 10;
    return {
      workflows,
      rssMb: round(kb('VmRSS') / 1024),
      peakRssMb: round(kb('VmHWM') / 1024),
      heapUsedMb: await heapUsedMb(app),
      startToHealthzMs: round(startToHealthzMs, 0),
      startToReadyzMs: round(startToReadyzMs, 0),
      cpuMs,
      cardsPosted: cardPosts(env) - postsBefore,
      cardsStarted,
      errorLogs: app.logs().filter((r) => typeof r.level === 'number' && r.level >= 50).length,
    };
  } finally {
    await app.kill('SIGTERM');
  }
}

function cardPosts(env: Environment): number {
  return env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === undefined).length;
}

/** Polls `path` every 5 ms; the milliseconds from `since` to its first 200. */
async function firstOk(app: AppProcess, path: string, since: number, timeoutMs = 30_000): Promise<number> {
  for (;;) {
    if (app.child.exitCode !== null) throw new Error(`app exited with ${app.child.exitCode}:\n${app.output.slice(-20).join('\n')}`);
    try {
      const response = await fetch(`${app.url}${path}`);
      await response.body?.cancel();
      if (response.status === 200) return performance.now() - since;
    } catch {
      // not listening yet
    }
    if (performance.now() - since > timeoutMs) throw new Error(`${path} not 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function heapUsedMb(app: AppProcess): Promise<number | null> {
  try {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const bytes = Number(/^\w*nodejs_heap_size_used_bytes\s+([\d.e+]+)/m.exec(text)?.[1]);
    return Number.isFinite(bytes) ? round(bytes / 2 ** 20) : null;
  } catch {
    return null;
  }
}

/**
 * `npm run bench -- --only footprint`: builds the production build into a temporary directory and
 * measures the source as it ran before (no options) and the build as the image runs it.
 */
export async function runFootprintScenario(options: FootprintOptions = {}) {
  const outdir = await mkdtemp(join(tmpdir(), 'vteam-build-'));
  try {
    progress('footprint: building (scripts/build.ts)');
    const built = await buildBundle(outdir);
    const image = imageLaunch(built.entry);
    const variants = [
      { label: 'before: node src/main.ts', launch: { entry: SOURCE_ENTRY, execArgv: [], env: {} } },
      { label: 'after: the build as the image runs it', launch: image },
    ];
    const results = [];
    for (const { label, launch } of variants) {
      progress(`footprint: ${label}, idle then 10,000 workflows`);
      const [idle, at10k] = await measureFootprint(launch, { counts: [0, 10_000], ...options });
      results.push({
        variant: label,
        command: ['node', ...launch.execArgv, launch.entry === SOURCE_ENTRY ? 'src/main.ts' : 'dist/main.js'].join(' '),
        env: launch.env,
        ...againstTargets(idle!, at10k!),
      });
    }
    return {
      targets: FOOTPRINT_TARGETS,
      build: {
        appJsKb: Math.round(built.bytes / 1024),
        compileCacheFiles: built.compileCacheFiles,
        largestInputsKb: Object.fromEntries(built.inputs.slice(0, 8).map((i) => [i.name, Math.round(i.bytes / 1024)])),
      },
      results,
    };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** Values, and ratios to the targets (≤ 1 meets it). */
function againstTargets(idle: Measurement, at10k: Measurement) {
  const ratio = (value: number, target: number) => round(value / target, 2);
  const startMs = Math.max(idle.startToHealthzMs, at10k.startToHealthzMs);
  return {
    idleRssMb: idle.rssMb,
    rssAt10kMb: at10k.rssMb,
    startToHealthzMs: startMs,
    ratios: {
      idleRss: ratio(idle.rssMb, FOOTPRINT_TARGETS.idleRssMb),
      rssAt10k: ratio(at10k.rssMb, FOOTPRINT_TARGETS.rssAt10kMb),
      startToHealthz: ratio(startMs, FOOTPRINT_TARGETS.startToHealthzMs),
    },
    meetsTargets:
      idle.cardsStarted &&
      at10k.cardsStarted &&
      idle.rssMb <= FOOTPRINT_TARGETS.idleRssMb &&
      at10k.rssMb <= FOOTPRINT_TARGETS.rssAt10kMb &&
      startMs < FOOTPRINT_TARGETS.startToHealthzMs,
    idle,
    at10k,
  };
}
