/**
 * Exactly-once under a burst: many users publish at the same moment, several of them the same
 * documents, through both slash commands and buttons. Every document must end with one issue and
 * one link; every user must hear back (a thread reply, "already published" or "being published").
 */
import type { Environment } from '../../test/support/environment.ts';
import { messageText } from '../../test/support/fake-slack.ts';
import { appLoopReport, type AppLoopReport } from '../app-loop.ts';
import { audit, waitForCardsDrained, waitForQuiet, waitUntilLinked, type Audit } from '../audit.ts';
import { progress, round, summarize, type Summary } from '../stats.ts';
import { sendMany, type PlannedSend, type SentRequest } from '../traffic.ts';
import type { BenchDocument, BenchUser } from '../world.ts';

export interface BurstOptions {
  publishes: number;
  /** Documents clicked by more than one user. */
  contested: number;
  /** Clicks on each contested document. */
  clicksPerContested: number;
  mcpLatencyMs: number;
  /** The app's RATE_LIMIT_CONCURRENCY: creates in flight at once, which sets the ideal time. */
  concurrencyCap: number;
  /** The load generator's floor for this many requests at once (ack-users.ts loadGeneratorFloor). */
  ackFloorMs: Summary;
  /** A Bolt app that only acknowledges, under the same requests (ack-users.ts boltFloor). */
  ackBoltFloorMs: Summary;
  /**
   * One document per user to publish first, paced, when no earlier scenario has (`--only burst`): the
   * burst is measured in steady state, each user's MCP session open, as in a full run.
   */
  warmUp?: readonly BenchDocument[] | undefined;
}

export interface Outcomes {
  threadReply: number;
  alreadyPublished: number;
  inProgress: number;
  queued: number;
  otherError: number;
  noAnswer: number;
  otherErrorSamples: string[];
}

export interface BurstResult {
  publishes: number;
  users: number;
  distinctDocuments: number;
  contestedDocuments: number;
  mcpLatencyMs: number;
  nonOkStatuses: number;
  ackMs: Summary;
  /** The same number of requests at once against a server that answers at once: the machine's and load generator's share. */
  ackFloorMs: Summary;
  /** The same requests at once against a Bolt app that only acknowledges: Bolt's receiver on this machine. */
  ackBoltFloorMs: Summary;
  targetAckP99Ms: number;
  allLinkedAfterMs: number | null;
  /** documents × MCP latency ÷ concurrency cap: every create back to back in every slot. */
  idealLinkedMs: number;
  /** allLinkedAfterMs ÷ idealLinkedMs. */
  linkedRatio: number | null;
  targetLinkedRatio: number;
  exactlyOnce: Audit & { ok: boolean };
  userOutcomes: Outcomes;
  /** The app's event loop from the first request until every document was linked (bench/app-probe.ts). */
  eventLoopDuringBurst: AppLoopReport;
  targetStallMs: number;
}

const TARGET_STALL_MS = 50;
const TARGET_LINKED_RATIO = 1.2;
const TARGET_ACK_P99_MS = 100;

/** The publishes of a burst: each document once, the contested ones several times, interleaved. */
export function burstPlan(
  documents: readonly BenchDocument[],
  options: Pick<BurstOptions, 'publishes' | 'contested' | 'clicksPerContested'>,
): BenchDocument[] {
  const distinct = options.publishes - options.contested * (options.clicksPerContested - 1);
  if (distinct > documents.length) throw new Error(`burst needs ${distinct} documents, has ${documents.length}`);
  const plan = documents.slice(0, distinct);
  for (let extra = 1; extra < options.clicksPerContested; extra++) plan.push(...documents.slice(0, options.contested));
  // Deterministic shuffle (LCG), so contested clicks land at different moments of the burst.
  let seed = 42;
  for (let i = plan.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan;
}

export async function runBurst(
  env: Environment,
  users: readonly BenchUser[],
  plan: readonly BenchDocument[],
  options: { mcpLatencyMs: number; label: string },
): Promise<{
  requests: SentRequest[];
  allLinkedAfterMs: number | null;
  exactlyOnce: Audit & { ok: boolean };
  userOutcomes: Outcomes;
  ackMs: Summary;
  nonOkStatuses: number;
  /** From the first request until every document was linked. */
  eventLoop: AppLoopReport;
}> {
  env.mcp.setLatency(options.mcpLatencyMs);
  const probeFrom = env.app.output.length;
  const started = performance.now();
  const requests = await sendMany(
    env,
    plan.map((document, i) => ({
      user: users[i % users.length]!,
      kind: i % 4 === 3 ? ('command-publish' as const) : ('click-publish' as const),
      document,
    })),
    'all-at-once',
  );
  progress(`${options.label}: ${requests.length} publishes acked; waiting for links`);
  const distinct = [...new Map(plan.map((d) => [`${d.workflow.name}:${d.path}`, d])).values()];
  const linked = await waitUntilLinked(env, distinct, 90_000);
  // The probe reports each second's worst stall a second later: include the one that covers the end.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const eventLoop = appLoopReport(env.app.output.slice(probeFrom));
  await waitForCardsDrained(env, 600_000);
  await waitForQuiet(env, 750, 30_000);
  const result = audit(env, distinct);
  return {
    requests,
    allLinkedAfterMs: linked.allLinked ? round(linked.at - started) : null,
    exactlyOnce: {
      ...result,
      ok: result.duplicates === 0 && result.lost === 0 && result.orphanIssues === 0 && result.mismatchedLinks === 0,
    },
    userOutcomes: outcomes(env, requests),
    ackMs: summarize(requests.map((r) => r.ackMs)),
    nonOkStatuses: requests.filter((r) => r.status !== 200).length,
    eventLoop,
  };
}

export async function runBurstScenario(
  env: Environment,
  users: readonly BenchUser[],
  documents: readonly BenchDocument[],
  options: BurstOptions,
): Promise<BurstResult> {
  const plan = burstPlan(documents, options);
  if (options.warmUp) await warmUp(env, users, options.warmUp, options.mcpLatencyMs);
  progress(
    `burst: ${plan.length} publishes from ${users.length} users at once, ${options.contested} documents clicked ${options.clicksPerContested}×, MCP latency ${options.mcpLatencyMs} ms`,
  );
  const run = await runBurst(env, users, plan, { mcpLatencyMs: options.mcpLatencyMs, label: 'burst' });
  const idealLinkedMs = round((run.exactlyOnce.documents * options.mcpLatencyMs) / options.concurrencyCap);
  return {
    publishes: plan.length,
    users: Math.min(users.length, plan.length),
    distinctDocuments: run.exactlyOnce.documents,
    contestedDocuments: options.contested,
    mcpLatencyMs: options.mcpLatencyMs,
    nonOkStatuses: run.nonOkStatuses,
    ackMs: run.ackMs,
    ackFloorMs: options.ackFloorMs,
    ackBoltFloorMs: options.ackBoltFloorMs,
    targetAckP99Ms: TARGET_ACK_P99_MS,
    allLinkedAfterMs: run.allLinkedAfterMs,
    idealLinkedMs,
    linkedRatio: run.allLinkedAfterMs === null ? null : round(run.allLinkedAfterMs / idealLinkedMs, 2),
    targetLinkedRatio: TARGET_LINKED_RATIO,
    exactlyOnce: run.exactlyOnce,
    userOutcomes: run.userOutcomes,
    eventLoopDuringBurst: run.eventLoop,
    targetStallMs: TARGET_STALL_MS,
  };
}

/** Each user publishes once, 5 per second, and the cards settle: sessions open, caches warm, queues empty. */
async function warmUp(env: Environment, users: readonly BenchUser[], documents: readonly BenchDocument[], mcpLatencyMs: number) {
  if (documents.length < users.length) throw new Error(`the warm-up needs ${users.length} documents, has ${documents.length}`);
  progress(`burst: warming up, each of ${users.length} users publishes once`);
  env.mcp.setLatency(mcpLatencyMs);
  const sends = users.map((user, u): PlannedSend => ({ user, kind: 'click-publish', atMs: u * 200, document: documents[u]! }));
  await sendMany(env, sends, 'scheduled');
  await waitUntilLinked(env, documents.slice(0, users.length), 60_000);
  await waitForCardsDrained(env, 600_000);
  await waitForQuiet(env, 750, 30_000);
}

/** What each request's user was told: its own thread reply, or an ephemeral answer on its response_url. */
export function outcomes(env: Environment, requests: readonly SentRequest[]): Outcomes {
  const result: Outcomes = {
    threadReply: 0,
    alreadyPublished: 0,
    inProgress: 0,
    queued: 0,
    otherError: 0,
    noAnswer: 0,
    otherErrorSamples: [],
  };
  const replies = env.slack.calls
    .filter((c) => c.method === 'chat.postMessage' && c.args.thread_ts !== undefined)
    .map((c) => messageText(c.args));
  const claimed = new Set<number>();
  for (const request of requests) {
    const doc = request.document!;
    const texts = env.slack.responses.filter((r) => r.id === request.responseId).map((r) => messageText(r.body));
    if (texts.some((t) => t.includes('is queued'))) result.queued += 1;
    const replyIndex = replies.findIndex(
      (text, i) =>
        !claimed.has(i) && text.includes(`published from ${doc.path} of ${doc.workflow.title}`) && text.includes(`<@${request.userId}>`),
    );
    if (replyIndex >= 0) {
      claimed.add(replyIndex);
      result.threadReply += 1;
    } else if (texts.some((t) => t.includes('is already published as'))) {
      result.alreadyPublished += 1;
    } else if (texts.some((t) => t.includes('is already being published'))) {
      result.inProgress += 1;
    } else if (texts.length > 0) {
      result.otherError += 1;
      if (result.otherErrorSamples.length < 3) result.otherErrorSamples.push(texts.at(-1)!.slice(0, 200));
    } else {
      result.noAnswer += 1;
    }
  }
  return result;
}
