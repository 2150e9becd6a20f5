/**
 * Ack latency under stress: every user fires a burst of requests back to back (no think time), all
 * users at once, while the publishes they trigger run in the app behind the acks: far more than the
 * app can serve on one core, so this shows saturation (Slack gives up after 3 s), not the target,
 * which ack-users.ts measures.
 */
import type { Environment } from '../../test/support/environment.ts';
import { audit, waitForCardsDrained, waitForQuiet, waitUntilLinked, type Audit } from '../audit.ts';
import { progress, round, summarize, type Summary } from '../stats.ts';
import { startLoadMonitor, type LoadReport } from '../load.ts';
import { REQUEST_MIX, sendMany, type PlannedSend, type RequestKind } from '../traffic.ts';
import type { BenchDocument, BenchUser } from '../world.ts';

export interface AckOptions {
  burstPerUser: number;
  mcpLatencyMs: number;
}

export interface AckResult {
  users: number;
  burstPerUser: number;
  mcpLatencyMs: number;
  mix: Record<RequestKind, number>;
  nonOkStatuses: number;
  ackMs: Summary;
  ackMsByKind: Record<string, Summary>;
  /** From the first request to the last document linked: the app's throughput under this load. */
  allPublishesLinkedAfterMs: number | null;
  exactlyOnce: Audit;
  /** Card writes waiting once every publish was linked, and how long until the last card was current. */
  cardBacklog: { queuedAtStart: number; drainedAfterMs: number | null };
  /** CPU of both processes and the bench's event-loop delay while the acks were measured. */
  loadDuringAcks: LoadReport;
}

export async function runAckScenario(
  env: Environment,
  users: readonly BenchUser[],
  documents: readonly BenchDocument[],
  options: AckOptions,
): Promise<AckResult> {
  env.mcp.setLatency(options.mcpLatencyMs);
  progress(`ack: ${users.length} users × ${options.burstPerUser} requests, MCP latency ${options.mcpLatencyMs} ms`);
  const started = performance.now();
  const targeted = new Map<string, BenchDocument>();
  const sends: PlannedSend[] = [];
  users.forEach((user, u) => {
    for (let j = 0; j < options.burstPerUser; j++) {
      const kind = REQUEST_MIX[(u + j) % REQUEST_MIX.length]!;
      // Spread over the documents, with some collisions between users (as on a busy channel).
      const document = documents[(u * 7 + j * 53) % documents.length]!;
      if (kind === 'command-publish' || kind === 'click-publish') targeted.set(`${document.workflow.name}:${document.path}`, document);
      sends.push({ user, kind, ...(kind === 'help' ? {} : { document }) });
    }
  });
  const load = await startLoadMonitor(env.app.child.pid);
  const requests = await sendMany(env, sends, 'per-user-bursts');
  const loadDuringAcks = await load.stop();
  progress(`ack: ${requests.length} requests acked; waiting for the publishes to land`);
  const linked = await waitUntilLinked(env, [...targeted.values()], 60_000);
  // Cards are paced at one Slack write per second per channel: measure how long they lag the publishes.
  const cardBacklog = await waitForCardsDrained(env, 600_000);
  await waitForQuiet(env, 500, 30_000);

  const mix = { help: 0, picker: 0, 'command-publish': 0, 'click-publish': 0 } as Record<RequestKind, number>;
  for (const r of requests) mix[r.kind] += 1;
  const byKind: Record<string, Summary> = {};
  for (const kind of Object.keys(mix) as RequestKind[])
    byKind[kind] = summarize(requests.filter((r) => r.kind === kind).map((r) => r.ackMs));
  const ackMs = summarize(requests.map((r) => r.ackMs));
  return {
    users: users.length,
    burstPerUser: options.burstPerUser,
    mcpLatencyMs: options.mcpLatencyMs,
    mix,
    nonOkStatuses: requests.filter((r) => r.status !== 200).length,
    ackMs,
    ackMsByKind: byKind,
    allPublishesLinkedAfterMs: linked.allLinked ? round(linked.at - started) : null,
    exactlyOnce: audit(env, [...targeted.values()]),
    cardBacklog,
    loadDuringAcks,
  };
}
