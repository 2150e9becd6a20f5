/**
 * Publish overhead and requests per publish, in steady state: the user's MCP session is open, the
 * site id and project settings are cached, the workflow's card exists. Publishes run one at a time,
 * each on a document never published before, with a fixed latency injected into the fake MCP server.
 */
import type { Environment } from '../../test/support/environment.ts';
import type { GitHubRequest } from '../../test/support/fake-github.ts';
import type { RecordedRequest } from '../../test/support/fake-kube.ts';
import type { ToolCallRecord } from '../../test/support/fake-mcp/index.ts';
import { messageText, type ResponseUrlPost, type SlackCall } from '../../test/support/fake-slack.ts';
import type { SlackObserver } from '../observe.ts';
import { measureRoundTrips, type ProbeResult } from '../probes.ts';
import { stampPushes, type Stamps } from '../stamps.ts';
import { median, progress, round, summarize, type Summary } from '../stats.ts';
import { send, type RequestKind } from '../traffic.ts';
import { documentsOf, isPublishedReply, type BenchDocument, type BenchUser, type BenchWorkflow } from '../world.ts';
import { boltFloor } from './ack-users.ts';

export interface OverheadOptions {
  mcpLatencyMs: number;
  probeWorkflow: string;
}

interface Sample {
  kind: RequestKind;
  wallMs: number;
  ackMs: number;
  mcpHttpRequests: number;
  mcpToolCalls: string[];
  kube: Record<string, number>;
  github: Record<string, number>;
  slack: Record<string, number>;
  /** Event label → ms after the request was sent. */
  timeline: Record<string, number>;
}

export interface RequestsPerPublish {
  publishes: number;
  mcpHttpRequests: number;
  mcpToolCalls: Record<string, number>;
  kubeByVerb: Record<string, number>;
  kubeWrites: number;
  githubRequests: Record<string, number>;
  slackCalls: Record<string, number>;
}

export interface OverheadResult {
  mcpLatencyMs: number;
  publishes: number;
  wallMs: Summary;
  wallMsByKind: Record<string, Summary>;
  roundTrips: ProbeResult;
  unavoidableMs: number;
  /** One signed request's ack from a Bolt app that only acknowledges (median): the part of the Slack request no app avoids. */
  boltAckMs: number;
  /** wall p50 ÷ (unavoidable + boltAckMs): the ratio with the Slack request counted as unavoidable too (for reference). */
  ratioP50WithBoltAck: number;
  ratioP50: number;
  ratioP95: number;
  ratioP50ByKind: Record<string, number>;
  targetRatioP50: number;
  targetRatioP95: number;
  meetsTarget: boolean;
  model: string;
  /** Median time after the request was sent at which each external call reached its server. */
  medianTimelineMs: Record<string, Record<string, number>>;
  requestsPerPublish: Record<string, RequestsPerPublish>;
}

const TARGET_RATIO_P50 = 1.03;
const TARGET_RATIO_P95 = 1.1;

const MODEL =
  'unavoidable = the sequential chain a publish cannot avoid, each link measured as a raw loopback round trip ' +
  'from the bench process to the same fake servers (median of N): Kubernetes GET of the RFEWorkflow (jiraLinks + resourceVersion) ' +
  '+ GitHub read of the document + one MCP request on an open session (includes the injected latency) + Kubernetes PUT of ' +
  'spec.jiraLinks + Slack chat.postMessage of the thread reply. Not counted as unavoidable: the Slack request/ack itself, ' +
  'local store work (lease, journal), authorization and settings reads (cacheable), the card refresh after the reply. ' +
  'wall = from sending the signed request to the thread reply being received by the fake Slack. ratio = wall / unavoidable.';

export async function runOverheadScenario(
  env: Environment,
  observer: SlackObserver,
  user: BenchUser,
  workflows: readonly BenchWorkflow[],
  options: OverheadOptions,
): Promise<OverheadResult> {
  env.mcp.setLatency(options.mcpLatencyMs);
  const userId = user.ref.userId;
  progress(`overhead: warming up on ${workflows.length} workflows (session, caches, cards), MCP latency ${options.mcpLatencyMs} ms`);
  for (const workflow of workflows) await publishOne(env, observer, user, 'click-publish', documentsOf(workflow)[0]!);

  const roundTrips = await measureRoundTrips(env, options.probeWorkflow, documentsOf(workflows[0]!)[0]!, user);
  const boltAckMs = (await boltFloor(1, 16)).p50;
  progress(`overhead: round trips ${JSON.stringify({ ...roundTrips, boltAckMs })}`);

  env.mcp.resetCounters();
  env.kube.resetRequests();
  env.github.resetRequests();
  const stamps = {
    kube: stampPushes(env.kube.requests),
    github: stampPushes(env.github.requests),
    mcp: stampPushes(env.mcp.counters.toolCalls),
    slack: stampPushes(env.slack.calls),
    responses: stampPushes(env.slack.responses),
  };
  const samples: Sample[] = [];
  try {
    for (const workflow of workflows) {
      const [, plan, tasks] = documentsOf(workflow);
      samples.push(await measureOne(env, observer, user, 'command-publish', plan!, stamps));
      samples.push(await measureOne(env, observer, user, 'click-publish', tasks!, stamps));
    }
  } finally {
    for (const stamp of Object.values(stamps)) stamp.detach();
  }
  progress(`overhead: ${samples.length} publishes measured (user ${userId})`);

  const unavoidableMs = round(
    roundTrips.kubeGetWorkflowMs +
      roundTrips.githubReadDocumentMs +
      roundTrips.mcpRequestMs +
      roundTrips.kubePutWorkflowMs +
      roundTrips.slackPostMessageMs,
    2,
  );
  const wallMs = summarize(samples.map((s) => s.wallMs));
  const kinds = [...new Set(samples.map((s) => s.kind))];
  const ratioP50 = round(wallMs.p50 / unavoidableMs, 3);
  return {
    mcpLatencyMs: options.mcpLatencyMs,
    publishes: samples.length,
    wallMs,
    wallMsByKind: Object.fromEntries(kinds.map((k) => [k, summarize(samples.filter((s) => s.kind === k).map((s) => s.wallMs))])),
    roundTrips,
    unavoidableMs,
    boltAckMs,
    ratioP50WithBoltAck: round(wallMs.p50 / (unavoidableMs + boltAckMs), 3),
    ratioP50,
    ratioP95: round(wallMs.p95 / unavoidableMs, 3),
    ratioP50ByKind: Object.fromEntries(
      kinds.map((k) => [k, round(median(samples.filter((s) => s.kind === k).map((s) => s.wallMs)) / unavoidableMs, 3)]),
    ),
    targetRatioP50: TARGET_RATIO_P50,
    targetRatioP95: TARGET_RATIO_P95,
    meetsTarget: ratioP50 <= TARGET_RATIO_P50 && wallMs.p95 / unavoidableMs <= TARGET_RATIO_P95,
    model: MODEL,
    medianTimelineMs: Object.fromEntries(kinds.map((k) => [k, medianTimeline(samples.filter((s) => s.kind === k))])),
    requestsPerPublish: {
      all: perPublish(samples),
      ...Object.fromEntries(kinds.map((k) => [k, perPublish(samples.filter((s) => s.kind === k))])),
    },
  };
}

/** Sends one publish and waits for its thread reply and then the card refresh (the end of its work). */
async function publishOne(env: Environment, observer: SlackObserver, user: BenchUser, kind: RequestKind, document: BenchDocument) {
  const matches = isPublishedReply(document, user.ref.userId);
  const replied = observer.next((e) => e.kind === 'call' && matches(e.call));
  const sent = await send(env, user, kind, document);
  const replyAt = await replied;
  const reply = env.slack.calls.find(matches)!;
  const key = /^(\S+) published from/.exec(String(reply.args.text))?.[1] ?? '';
  // The card is re-rendered after the reply (chat.update), or posted with the link when this publish created it.
  await env.slack.waitFor(() =>
    env.slack.calls.some(
      (c) =>
        (c.method === 'chat.update' || (c.method === 'chat.postMessage' && c.args.thread_ts === undefined)) &&
        messageText(c.args).includes(key),
    ),
  );
  return { sent, replyAt };
}

interface StampSet {
  kube: Stamps<RecordedRequest>;
  github: Stamps<GitHubRequest>;
  mcp: Stamps<ToolCallRecord>;
  slack: Stamps<SlackCall>;
  responses: Stamps<ResponseUrlPost>;
}

async function measureOne(
  env: Environment,
  observer: SlackObserver,
  user: BenchUser,
  kind: RequestKind,
  document: BenchDocument,
  stamps: StampSet,
): Promise<Sample> {
  const before = {
    kube: env.kube.requests.length,
    github: env.github.requests.length,
    mcpHttp: env.mcp.counters.httpRequests,
    mcpTools: env.mcp.counters.toolCalls.length,
    slack: env.slack.calls.length,
    responses: env.slack.responses.length,
  };
  const { sent, replyAt } = await publishOne(env, observer, user, kind, document);
  const kube = env.kube.requests.slice(before.kube);
  const github = env.github.requests.slice(before.github);
  const tools = env.mcp.counters.toolCalls.slice(before.mcpTools);
  const slack = env.slack.calls.slice(before.slack);
  const responses = env.slack.responses.slice(before.responses);

  const timeline: Record<string, number> = { 'ack received': sent.ackMs };
  const seen = new Map<string, number>();
  const mark = (label: string, at: number | undefined) => {
    if (at === undefined) return;
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    timeline[n === 1 ? label : `${label} #${n}`] = round(at - sent.sentAt, 2);
  };
  for (const r of kube) mark(`kube ${r.verb} ${r.resource}`, stamps.kube.at(r));
  for (const r of github) mark(`github ${githubKind(r)}`, stamps.github.at(r));
  for (const c of tools) mark(`mcp ${c.operation} (after injected latency)`, stamps.mcp.at(c));
  for (const c of slack)
    mark(
      `slack ${c.method}${c.method === 'chat.postMessage' && c.args.thread_ts !== undefined ? ' (thread reply)' : ''}`,
      stamps.slack.at(c),
    );
  for (const r of responses) mark('slack response_url', stamps.responses.at(r));

  return {
    kind,
    wallMs: replyAt - sent.sentAt,
    ackMs: sent.ackMs,
    mcpHttpRequests: env.mcp.counters.httpRequests - before.mcpHttp,
    mcpToolCalls: tools.map((c) => c.operation),
    kube: tally(kube.map((r) => `${r.verb} ${r.resource}`)),
    github: tally(github.map(githubKind)),
    slack: tally([...slack.map((c) => c.method), ...responses.map(() => 'response_url')]),
    timeline,
  };
}

function githubKind(request: GitHubRequest): string {
  if (request.path.includes('/git/trees/')) return 'tree';
  if (request.path.includes('/contents/')) return 'contents';
  return request.path;
}

function tally(labels: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

function perPublish(samples: Sample[]): RequestsPerPublish {
  const n = Math.max(1, samples.length);
  const average = (records: Record<string, number>[]) => {
    const sum: Record<string, number> = {};
    for (const record of records) for (const [k, v] of Object.entries(record)) sum[k] = (sum[k] ?? 0) + v;
    return Object.fromEntries(
      Object.entries(sum)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, round(v / n, 2)]),
    );
  };
  const kubeByVerb = average(samples.map((s) => s.kube));
  const writes = Object.entries(kubeByVerb)
    .filter(([k]) => /^(create|update|patch|delete)/.test(k))
    .reduce((sum, [, v]) => sum + v, 0);
  return {
    publishes: samples.length,
    mcpHttpRequests: round(samples.reduce((sum, s) => sum + s.mcpHttpRequests, 0) / n, 2),
    mcpToolCalls: average(samples.map((s) => tally(s.mcpToolCalls))),
    kubeByVerb,
    kubeWrites: round(writes, 2),
    githubRequests: average(samples.map((s) => s.github)),
    slackCalls: average(samples.map((s) => s.slack)),
  };
}

function medianTimeline(samples: Sample[]): Record<string, number> {
  const labels = new Map<string, number[]>();
  for (const sample of samples)
    for (const [label, ms] of Object.entries(sample.timeline)) labels.set(label, [...(labels.get(label) ?? []), ms]);
  return Object.fromEntries(
    [...labels.entries()]
      .map(
        ([label, values]) =>
          [
            values.length === samples.length ? label : `${label} (in ${values.length}/${samples.length})`,
            round(median(values), 1),
          ] as const,
      )
      .sort(([, a], [, b]) => a - b),
  );
}
