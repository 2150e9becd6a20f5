/**
 * The production build (scripts/build.ts, what the image runs) behaves like `node src/main.ts`: built into
 * a temporary directory with no node_modules above it, started the way the Containerfile starts it, it
 * serves its routes and publishes a document end to end against the loopback fakes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, type BuildResult } from '../../scripts/build.ts';
import { imageLaunch, type Launch } from '../../bench/scenarios/footprint.ts';
import { messageText } from '../support/fake-slack.ts';
import { ALICE_TOKEN, CHANNEL, PROJECT, SITE, SPEC, WORKFLOW, startEnvironment, type Environment } from '../support/environment.ts';

let outdir: string;
let built: BuildResult;
let launch: Launch;
let env: Environment | undefined;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'vteam-build-'));
  built = await buildBundle(outdir);
  launch = imageLaunch(built.entry);
  env = await startEnvironment({ appEnv: launch.env, appSpawn: { entry: launch.entry, execArgv: launch.execArgv } });
}, 90_000);

afterAll(async () => {
  await env?.close();
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

describe('the production build', () => {
  it('is one self-contained module, with its compile cache, that keeps only what the app uses of client-node and Bolt', () => {
    expect(built.compileCacheFiles).toBeGreaterThan(0);
    const output = Object.values(built.metafile.outputs).find((o) => o.entryPoint !== undefined)!;
    const inputs = Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([file]) => file);
    // client-node's exec/cp (tar-fs) and Bolt's Express receiver are not used.
    expect(inputs.filter((f) => /node_modules\/(tar-fs|express|body-parser)\//.test(f))).toEqual([]);
    expect(inputs.some((f) => f.includes('@kubernetes/client-node/dist/config.js'))).toBe(true);
    expect(inputs.some((f) => f.includes('@slack/bolt/dist/receivers/SocketModeReceiver.js'))).toBe(true);
  });

  it('loads its compiled code from the cache made at build time', () => {
    // No configuration: the app stops at once (exit 78) after every module is loaded.
    const run = spawnSync(process.execPath, [...launch.execArgv, built.entry], {
      env: { PATH: process.env.PATH ?? '', ...launch.env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/V8 code cache for ESM file:\/\/\S+\/app\.js was accepted/);
  });

  it('answers /healthz, /readyz and /metrics, and logs as the sources do', async () => {
    const app = env!.app;
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/^(\w+_)?nodejs_heap_size_used_bytes /m);
    // Files the sources read relative to themselves (package.json, for the version) are found in the build.
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    if (metrics.includes('vteam_slack_build_info')) expect(metrics).toContain(`version="${version}"`);
    expect(app.logs().find((r) => r.msg === 'starting vteam-slack')).toMatchObject({ service: 'vteam-slack' });
  });

  it('publishes a document end to end: one issue as the user, the link in the CR, a reply in the workflow thread', async () => {
    const answer = await env!.command(`publish ${WORKFLOW} ${SPEC}`);
    expect(answer.status).toBe(200);
    const reply = await env!.slack.waitFor(() =>
      env!.slack.callsTo('chat.postMessage').find((c) => c.args.thread_ts !== undefined && messageText(c.args).includes('PROJ-1')),
    );
    expect(env!.mcp.issues({ projectKey: 'PROJ' })).toMatchObject([{ key: 'PROJ-1', summary: '[RFE] Dark mode - specify' }]);
    expect(env!.mcp.toolCalls('createJiraIssue').map((c) => c.token)).toEqual([ALICE_TOKEN]);
    expect(env!.workflowLinks()).toContainEqual({ path: SPEC, jiraKey: 'PROJ-1' });
    expect(env!.kube.get('rfeworkflows', PROJECT, WORKFLOW)).toBeDefined();
    expect(env!.slack.callsTo('chat.postMessage').find((c) => c.args.thread_ts === undefined)?.args.channel).toBe(CHANNEL);
    expect(messageText(reply.args)).toContain(`<${SITE}/browse/PROJ-1|PROJ-1>`);
  });
});
