/**
 * Ack latency as PRODUCT.md §8 states it: 50 concurrent users. Each user acts on its own, with a
 * random pause between actions (exponential, mean `thinkMs`, open loop: a slow answer does not delay
 * the next action), for `durationMs`. The ack is the HTTP round trip of the signed request to
 * /slack/events; the target is p99 < 50 ms. Measured in steady state: first every user publishes once
 * (their MCP session, site id and the app's code paths are cold until then), reported apart.
 *
 * Also: rounds of 50 requests sent in the same instant, beside the floor of the load generator (the
 * same rounds against an HTTP server that answers at once), so the app's share can be read off.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { freePort } from '../../test/support/app-process.ts';
import type { Environment } from '../../test/support/environment.ts';
import { waitUntilLinked } from '../audit.ts';
import { runLoad } from '../load-generator.ts';
import { startLoadMonitor, type LoadReport } from '../load.ts';
import { progress, summarize, type Summary } from '../stats.ts';
import { REQUEST_MIX, sendMany, type PlannedSend } from '../traffic.ts';
import type { BenchDocument, BenchUser } from '../world.ts';

function request(user: BenchUser, n: number, documents: readonly BenchDocument[], atMs?: number): PlannedSend {
  const kind = REQUEST_MIX[n % REQUEST_MIX.length]!;
  return {
    user,
    kind,
    ...(atMs === undefined ? {} : { atMs }),
    ...(kind === 'help' ? {} : { document: documents[(n * 7) % documents.length]! }),
  };
}

export interface ConcurrentUsersResult {
  users: number;
  meanThinkMs: number;
  durationMs: number;
  requestsPerSecond: number;
  nonOkStatuses: number;
  ackMs: Summary;
  targetP99Ms: number;
  meetsTarget: boolean;
  load: LoadReport;
  /** The warm-up: each user's first publish, 5 per second, right after the app started. */
  coldAckMs: Summary;
}

export async function runConcurrentUsers(
  env: Environment,
  users: readonly BenchUser[],
  documents: readonly BenchDocument[],
  options: { thinkMs: number; durationMs: number; mcpLatencyMs: number },
): Promise<ConcurrentUsersResult> {
  env.mcp.setLatency(options.mcpLatencyMs);
  progress(`ack: warming up, each of ${users.length} users publishes once`);
  const warmUp = users.map((user, u): PlannedSend => ({
    user,
    kind: 'click-publish',
    atMs: u * 200,
    document: documents[documents.length - 1 - u]!,
  }));
  const cold = await sendMany(env, warmUp, 'scheduled');
  await waitUntilLinked(
    env,
    warmUp.map((s) => s.document!),
    60_000,
  );
  progress(`ack: ${users.length} concurrent users, one action every ${options.thinkMs} ms on average each, for ${options.durationMs} ms`);
  const sends: PlannedSend[] = [];
  let n = 0;
  for (const user of users) {
    for (let at = Math.random() * options.thinkMs; at < options.durationMs; at += -Math.log(1 - Math.random()) * options.thinkMs) {
      sends.push(request(user, n++, documents, at));
    }
  }
  const load = await startLoadMonitor(env.app.child.pid);
  const results = await sendMany(env, sends, 'scheduled');
  const ackMs = summarize(results.map((r) => r.ackMs));
  return {
    users: users.length,
    meanThinkMs: options.thinkMs,
    durationMs: options.durationMs,
    requestsPerSecond: Math.round((results.length / options.durationMs) * 10_000) / 10,
    nonOkStatuses: results.filter((r) => r.status !== 200).length,
    ackMs,
    targetP99Ms: 50,
    meetsTarget: ackMs.p99 < 50,
    load: await load.stop(),
    coldAckMs: summarize(cold.map((r) => r.ackMs)),
  };
}

export interface SimultaneousResult {
  requestsPerRound: number;
  rounds: number;
  /** Every round but the first (the app's code is still cold then). */
  ackMs: Summary;
  firstRoundAckMs: Summary;
  /** The same rounds against a server that answers at once: the load generator's own share. */
  loadGeneratorFloorMs: Summary;
}

export async function runSimultaneous(
  env: Environment,
  users: readonly BenchUser[],
  documents: readonly BenchDocument[],
  options: { rounds: number; pauseMs: number; mcpLatencyMs: number; loadGeneratorFloorMs: Summary },
): Promise<SimultaneousResult> {
  env.mcp.setLatency(options.mcpLatencyMs);
  progress(`ack: ${options.rounds} rounds of ${users.length} requests sent at the same instant`);
  const rounds: number[][] = [];
  for (let round = 0; round < options.rounds; round++) {
    const results = await sendMany(
      env,
      users.map((user, u) => request(user, round * users.length + u, documents)),
      'all-at-once',
    );
    rounds.push(results.map((r) => r.ackMs));
    await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
  }
  return {
    requestsPerRound: users.length,
    rounds: options.rounds,
    ackMs: summarize(rounds.slice(1).flat()),
    firstRoundAckMs: summarize(rounds[0] ?? []),
    loadGeneratorFloorMs: options.loadGeneratorFloorMs,
  };
}

/**
 * Ack times of `perRound` requests at once against a server that answers at once (the first round is
 * left out): the load generator's own share. Measured on the quiet machine, before the fakes start.
 */
export async function loadGeneratorFloor(perRound: number, rounds: number): Promise<Summary> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    return await floorRounds(`http://127.0.0.1:${port}`, 'floor', perRound, rounds);
  } finally {
    server.close();
  }
}

/**
 * The same rounds against a Bolt app that only acknowledges (bench/bolt-floor-app.ts, its own process
 * like the app): what Bolt's receiver costs before the app does anything. Measured on the quiet machine.
 */
export async function boltFloor(perRound: number, rounds: number): Promise<Summary> {
  const port = await freePort();
  const child = spawn(process.execPath, [new URL('../bolt-floor-app.ts', import.meta.url).pathname], {
    env: { ...process.env, PORT: String(port), SLACK_SIGNING_SECRET: 'bolt-floor' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await Promise.race([
      once(child.stdout, 'data'),
      once(child, 'exit').then(([code]) => Promise.reject(new Error(`bolt-floor-app exited with ${String(code)}`))),
    ]);
    return await floorRounds(`http://127.0.0.1:${port}`, 'bolt-floor', perRound, rounds);
  } finally {
    child.kill();
  }
}

/** `rounds` rounds of `perRound` signed slash commands at once; the first round (cold) is left out. */
async function floorRounds(appUrl: string, signingSecret: string, perRound: number, rounds: number): Promise<Summary> {
  const all: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const results = await runLoad({
      appUrl,
      signingSecret,
      mode: 'all-at-once',
      requests: Array.from({ length: perRound }, (_, user) => ({
        user,
        body: `command=%2Fvteam&text=help&team_id=T0FLOOR&user_id=U${user}&channel_id=C0FLOOR&trigger_id=1.2.3`,
      })),
    });
    const failed = results.find((r) => r.status !== 200);
    if (failed) throw new Error(`floor request answered ${failed.status}${failed.error ? `: ${failed.error}` : ''}`);
    if (round > 0) all.push(...results.map((r) => r.ms));
  }
  return summarize(all);
}
