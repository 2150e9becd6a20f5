/**
 * `npm run bench`: the PRODUCT.md §8 targets measured against the real app process (node src/main.ts)
 * and the loopback fakes of the end-to-end tests. Prints one JSON object on stdout; progress on stderr.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PROJECT, startEnvironment, type Environment } from '../test/support/environment.ts';
import { audit } from './audit.ts';
import { benchOptionsOrExit, type Scenario } from './cli.ts';
import { observeSlack } from './observe.ts';
import { runAckScenario } from './scenarios/ack.ts';
import { boltFloor, loadGeneratorFloor, runConcurrentUsers, runSimultaneous } from './scenarios/ack-users.ts';
import { runBatchScenario } from './scenarios/batch.ts';
import { runBurstScenario } from './scenarios/burst.ts';
import { runFootprintScenario } from './scenarios/footprint.ts';
import { runHandoffScenario } from './scenarios/handoff.ts';
import { runOverheadScenario } from './scenarios/overhead.ts';
import { runRateLimitScenario } from './scenarios/rate-limit.ts';
import { appLoopReport, type AppLoopReport } from './app-loop.ts';
import { startLoadGenerator, stopLoadGenerator } from './load-generator.ts';
import { progress, round } from './stats.ts';
import { targetRows } from './targets.ts';
import { documentsOf, seedUsers, seedWorkflows } from './world.ts';

// `npm run bench -- --help` lists the scenarios and options (bench/cli.ts); `--only ack` runs one scenario,
// `--app-node-options` adds flags to the app process. --help and bad options exit before anything starts.
const cli = benchOptionsOrExit();
// A scenario run here must be listed in SCENARIOS (bench/cli.ts), which --only and --help use.
const runs = (scenario: Scenario) => cli.only === undefined || cli.only === scenario;

const WORKFLOWS = 200;
const BURST_PUBLISHES = 200;
/** Workflows whose documents warm the users up when the burst runs alone (one document per user). */
const WARM_UP_WORKFLOWS = 17;
/** Niceness of the bench's main thread (the fake servers) once the app and the load generator run. */
const FAKES_NICENESS = 10;
/** RATE_LIMIT_CONCURRENCY given to the app; the burst's ideal time depends on it. */
const CONCURRENCY_CAP = 4;
const USERS = 50;
const PROBE_WORKFLOW = 'rfe-bench-probe';

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadavg().map((v) => round(v, 2));
  const pressureAtStart = await cpuPressure();
  // Footprint starts its own app processes (and builds): first, alone, so nothing else competes for the CPU.
  const footprint = runs('footprint') ? await runFootprintScenario() : undefined;
  if (cli.only === 'footprint') {
    const machine = { loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map((v) => round(v, 2)) };
    process.stdout.write(
      `${JSON.stringify({ bench: 'vteam-slack', node: process.version, cpus: availableParallelism(), machine, footprint }, null, 2)}\n`,
    );
    return;
  }
  // The rate limiter alone, over its own Redis: no app environment.
  const handoff = runs('handoff') ? await runHandoffScenario() : undefined;
  if (cli.only === 'handoff') {
    process.stdout.write(`${JSON.stringify({ bench: 'vteam-slack', node: process.version, rateLimiterHandoff: handoff }, null, 2)}\n`);
    return;
  }
  // The load generator's own floor, on the quiet machine: the same bursts against a server that answers at once.
  const floorOf = async (perRound: number, rounds: number) => {
    progress(`measuring the load generator's floor: ${rounds} rounds of ${perRound} requests at once`);
    return loadGeneratorFloor(perRound, rounds);
  };
  const ackFloorMs = runs('ack') ? await floorOf(USERS, 11) : undefined;
  const burstFloorMs = runs('burst') ? await floorOf(BURST_PUBLISHES, 5) : undefined;
  if (runs('burst')) progress(`measuring a bare Bolt app's acks: 5 rounds of ${BURST_PUBLISHES} requests at once`);
  const burstBoltFloorMs = runs('burst') ? await boltFloor(BURST_PUBLISHES, 5) : undefined;
  progress('starting the environment (fakes + app process)');
  let env: Environment | undefined;
  const abort = () => {
    void env?.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    // Production settings: info logs (debug logging of every request would be measured as app overhead)
    // and the default 30 s publish lease (the e2e tests' 2 s lease renews every 0.7 s, a store write each).
    // app-probe.ts reports the app's own event-loop delay, so a slow ack can be attributed. of every request would be measured as app overhead.
    env = await startEnvironment({
      appEnv: {
        LOG_LEVEL: 'info',
        RATE_LIMIT_CONCURRENCY: String(CONCURRENCY_CAP),
        PUBLISH_LEASE_SECONDS: '30',
        NODE_OPTIONS: `--import ${fileURLToPath(new URL('./app-probe.ts', import.meta.url))} ${cli.appNodeOptions ?? ''}`.trim(),
      },
    });
    // The fakes stand in for Slack, Kubernetes, GitHub and Atlassian, which run on other machines: on a
    // 2-core machine they would take CPU from the app and from the load generator's timing. The app's
    // process and the load generator's thread (started first) keep the default priority; this thread,
    // which runs the fakes, gives way.
    startLoadGenerator();
    setPriority(FAKES_NICENESS);
    // The batch scenario seeds its own workflows; run alone it skips these, whose cards (one a second in the
    // channel) would take about 4 minutes to post.
    const seeded = cli.only === 'batch' ? [] : seedWorkflows(env, WORKFLOWS + WARM_UP_WORKFLOWS);
    const workflows = seeded.slice(0, WORKFLOWS);
    const warmUpDocs = seeded.slice(WORKFLOWS).flatMap(documentsOf);
    env.kube.addRfeWorkflow(PROJECT, PROBE_WORKFLOW, {
      title: 'Probe',
      branchName: 'probe',
      umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
    });
    const users = await seedUsers(env, USERS);
    progress(`seeded ${workflows.length} workflows (${workflows.length * 3} documents) and ${USERS} linked users`);
    const observer = observeSlack(env.slack);

    const ackDocs = workflows.slice(0, 120).flatMap(documentsOf);
    const overheadWorkflows = workflows.slice(120, 135);
    const burstDocs = workflows.slice(135, 185).flatMap(documentsOf);
    const rateLimitDocs = workflows.slice(185, 200).flatMap(documentsOf);

    const world = env;
    const app = env.app;
    const appLoop = async <T>(run: () => Promise<T>): Promise<T & { appEventLoop: AppLoopReport }> => {
      const from = app.output.length;
      const result = await run();
      return { ...result, appEventLoop: appLoopReport(app.output.slice(from)) };
    };
    const ackLatency = runs('ack')
      ? await appLoop(() => runConcurrentUsers(world, users, ackDocs, { thinkMs: 5_000, durationMs: 30_000, mcpLatencyMs: 50 }))
      : undefined;
    const ackSimultaneous = runs('ack')
      ? await appLoop(() =>
          runSimultaneous(world, users, ackDocs, { rounds: 11, pauseMs: 2_000, mcpLatencyMs: 50, loadGeneratorFloorMs: ackFloorMs! }),
        )
      : undefined;
    const ackStress = runs('ack-stress')
      ? await appLoop(() => runAckScenario(world, users, ackDocs, { burstPerUser: 8, mcpLatencyMs: 50 }))
      : undefined;
    const overhead = runs('overhead')
      ? await appLoop(() =>
          runOverheadScenario(world, observer, users[0]!, overheadWorkflows, { mcpLatencyMs: 200, probeWorkflow: PROBE_WORKFLOW }),
        )
      : undefined;
    const burst = runs('burst')
      ? await appLoop(() =>
          runBurstScenario(world, users, burstDocs, {
            publishes: BURST_PUBLISHES,
            ackFloorMs: burstFloorMs!,
            ackBoltFloorMs: burstBoltFloorMs!,
            contested: 40,
            clicksPerContested: 3,
            mcpLatencyMs: 50,
            concurrencyCap: CONCURRENCY_CAP,
            // In a full run the ack scenario has already had every user publish.
            warmUp: runs('ack') ? undefined : warmUpDocs,
          }),
        )
      : undefined;
    const rateLimit = runs('rate-limit')
      ? await appLoop(() =>
          runRateLimitScenario(world, users, rateLimitDocs, { publishes: 40, rejected: 15, retryAfterSeconds: 1, mcpLatencyMs: 50 }),
        )
      : undefined;

    // Its own workflows (a 30-task tasks.md each); users[0] runs the batches, users[1] publishes meanwhile.
    const batch = runs('batch')
      ? await appLoop(() =>
          runBatchScenario(
            world,
            observer,
            { batch: users[0]!, other: users[1]! },
            { mcpLatencyMs: 50, concurrencyCap: CONCURRENCY_CAP, aloneRuns: 3, fairnessRuns: 3, quietPublishes: 8 },
          ),
        )
      : undefined;

    const everything = audit(env, seeded.flatMap(documentsOf));
    const logs = app.logs();
    const errorLogs = logs.filter((r) => typeof r.level === 'number' && r.level >= 50);
    const warnLogs = logs.filter((r) => r.level === 40);
    const { requestsPerPublish, ...publishOverhead } = overhead ?? { requestsPerPublish: undefined };
    observer.detach();

    const result = {
      bench: 'vteam-slack',
      node: process.version,
      cpus: availableParallelism(),
      durationMs: round(performance.now() - started, 0),
      machine: {
        // Other processes on the machine skew every figure: compare load averages with the cpu count.
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg().map((v) => round(v, 2)),
        cpuPressureSomeAvg60: { atStart: pressureAtStart, atEnd: await cpuPressure() },
      },
      setup: {
        workflows: workflows.length,
        documents: workflows.length * 3,
        users: USERS,
        store: 'sqlite',
        appLogLevel: 'info',
        fakesNiceness: FAKES_NICENESS,
        rateLimitConcurrency: CONCURRENCY_CAP,
      },
      // Every target beside its figure; the sections below hold the detail.
      targets: targetRows({ ackLatency, publishOverhead: overhead, burst, batch }),
      ackLatency,
      ackSimultaneous,
      ackStress,
      publishOverhead,
      requestsPerPublish,
      exactlyOnceBurst: burst,
      rateLimitSimulated: rateLimit,
      batchFromTasks: batch,
      footprint,
      rateLimiterHandoff: handoff,
      allScenarios: {
        issues: env.mcp.issues().length,
        duplicates: everything.duplicates,
        orphanIssues: everything.orphanIssues,
        mismatchedLinks: everything.mismatchedLinks,
      },
      app: {
        rssMb: await rssMb(app.child.pid),
        errorLogs: errorLogs.length,
        warnLogs: warnLogs.length,
        // Distinct messages with the cause's text (never a secret: the app's logs are redacted).
        logSamples: [...new Set([...errorLogs, ...warnLogs].map((r) => `${String(r.msg)}${causeOf(r)}`))].slice(0, 12),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } catch (error) {
    // The app's last words explain most failures (a crash, a stuck publish).
    if (env?.app)
      process.stderr.write(
        `app output (last 40 lines):\n${env.app.output
          .filter((l) => !l.includes('benchAppProbe'))
          .slice(-40)
          .join('\n')}\n`,
      );
    throw error;
  } finally {
    progress('closing the environment');
    await env?.app?.kill('SIGTERM'); // a graceful exit, so --cpu-prof and the like write their files
    await env?.close();
    await stopLoadGenerator();
  }
}

function causeOf(record: Record<string, unknown>): string {
  const err = record.err as { message?: unknown } | undefined;
  return typeof err?.message === 'string' ? `: ${err.message.slice(0, 160)}` : '';
}

/** Linux PSI: share of time some runnable task waited for a CPU over the last minute (percent). */
async function cpuPressure(): Promise<number | null> {
  try {
    const text = await readFile('/proc/pressure/cpu', 'utf8');
    const value = Number(/some avg10=[\d.]+ avg60=([\d.]+)/.exec(text)?.[1]);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

async function rssMb(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? round(kb / 1024, 1) : null;
  } catch {
    return null;
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
