/**
 * Exactly-once under a burst: many users publish at the same moment, several of them the same
 * documents, through both slash commands and buttons. Every document must end with one issue and
 * one link; every user must hear back (a thread reply, "already published" or "being published").
 */
import type { Environment } from '../../test/support/environment.ts';
import { messageText } from '../../test/support/fake-slack.ts';
import { audit, waitForCardsDrained, waitForQuiet, waitUntilLinked, type Audit } from '../audit.ts';
import { progress, round, summarize, type Summary } from '../stats.ts';
import { sendMany, type SentRequest } from '../traffic.ts';
import type { BenchDocument, BenchUser } from '../world.ts';

export interface BurstOptions {
  publishes: number;
  /** Documents clicked by more than one user. */
  contested: number;
  /** Clicks on each contested document. */
  clicksPerContested: number;
  mcpLatencyMs: number;
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
  allLinkedAfterMs: number | null;
  exactlyOnce: Audit & { ok: boolean };
  userOutcomes: Outcomes;
}

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
}> {
  env.mcp.setLatency(options.mcpLatencyMs);
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
  };
}

export async function runBurstScenario(
  env: Environment,
  users: readonly BenchUser[],
  documents: readonly BenchDocument[],
  options: BurstOptions,
): Promise<BurstResult> {
  const plan = burstPlan(documents, options);
  progress(
    `burst: ${plan.length} publishes from ${users.length} users at once, ${options.contested} documents clicked ${options.clicksPerContested}×, MCP latency ${options.mcpLatencyMs} ms`,
  );
  const run = await runBurst(env, users, plan, { mcpLatencyMs: options.mcpLatencyMs, label: 'burst' });
  return {
    publishes: plan.length,
    users: Math.min(users.length, plan.length),
    distinctDocuments: run.exactlyOnce.documents,
    contestedDocuments: options.contested,
    mcpLatencyMs: options.mcpLatencyMs,
    nonOkStatuses: run.nonOkStatuses,
    ackMs: run.ackMs,
    allLinkedAfterMs: run.allLinkedAfterMs,
    exactlyOnce: run.exactlyOnce,
    userOutcomes: run.userOutcomes,
  };
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
