/**
 * LABELLED SIMULATION, not the §8 target scenario: the fake MCP has no concurrency-based limiter
 * ("429 above 10 concurrent calls" is a later issue). Here a burst of publishes meets a fixed number of
 * createJiraIssue calls answered 429 with Retry-After, and we report what the app does with them.
 */
import type { Environment } from '../../test/support/environment.ts';
import { progress } from '../stats.ts';
import type { BenchDocument, BenchUser } from '../world.ts';
import { runBurst, type Outcomes } from './burst.ts';
import type { Audit } from '../audit.ts';
import type { Summary } from '../stats.ts';

export interface RateLimitOptions {
  publishes: number;
  rejected: number;
  retryAfterSeconds: number;
  mcpLatencyMs: number;
}

export interface RateLimitResult {
  label: string;
  publishes: number;
  injected429s: number;
  retryAfterSeconds: number;
  /** Every MCP POST during the scenario, 429s included (users' sessions are already open). */
  mcpHttpPosts: number;
  /** createJiraIssue calls that got past the injected 429s to the tool. */
  createJiraIssueProcessed: number;
  allLinkedAfterMs: number | null;
  ackMs: Summary;
  exactlyOnce: Audit & { ok: boolean };
  userOutcomes: Outcomes;
}

export async function runRateLimitScenario(
  env: Environment,
  users: readonly BenchUser[],
  documents: readonly BenchDocument[],
  options: RateLimitOptions,
): Promise<RateLimitResult> {
  const plan = documents.slice(0, options.publishes);
  progress(
    `rate limit (simulated): ${plan.length} publishes, first ${options.rejected} createJiraIssue calls get 429 Retry-After ${options.retryAfterSeconds}`,
  );
  env.mcp.failNextRequests(options.rejected, {
    status: 429,
    retryAfterSeconds: options.retryAfterSeconds,
    match: { tool: 'createJiraIssue' },
  });
  const createsBefore = env.mcp.toolCalls('createJiraIssue').length;
  const postsBefore = env.mcp.counters.httpPosts;
  const run = await runBurst(env, users, plan, { mcpLatencyMs: options.mcpLatencyMs, label: 'rate limit' });
  const createsAnswered = env.mcp.toolCalls('createJiraIssue').length - createsBefore;
  env.mcp.clearFaults();
  return {
    label:
      'SIMULATED: a fixed count of createJiraIssue requests answered HTTP 429 + Retry-After by the fake MCP (failNextRequests); ' +
      'the fake has no "429 above 10 concurrent calls" limiter yet, so this is not the PRODUCT.md §8 burst target',
    publishes: plan.length,
    injected429s: options.rejected,
    retryAfterSeconds: options.retryAfterSeconds,
    mcpHttpPosts: env.mcp.counters.httpPosts - postsBefore,
    createJiraIssueProcessed: createsAnswered,
    allLinkedAfterMs: run.allLinkedAfterMs,
    ackMs: run.ackMs,
    exactlyOnce: run.exactlyOnce,
    userOutcomes: run.userOutcomes,
  };
}
