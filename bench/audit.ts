/**
 * Exactly-once accounting: issues in the fake Jira are mapped back to documents through the Source URL
 * in their description (independent of the app's own labels), links are read from the CRs.
 */
import type { Environment } from '../test/support/environment.ts';
import { documentKey, sourceUrl, type BenchDocument } from './world.ts';

export interface Audit {
  documents: number;
  issuesCreated: number;
  linksInCrs: number;
  /** Extra issues beyond one per document. */
  duplicates: number;
  /** Documents with no link in their CR. */
  lost: number;
  /** Issues that no CR link points to. */
  orphanIssues: number;
  /** Documents whose CR link names a key that is not one of their issues. */
  mismatchedLinks: number;
}

export function audit(env: Environment, documents: readonly BenchDocument[]): Audit {
  const unique = new Map(documents.map((doc) => [documentKey(doc), doc]));
  const issuesBySource = new Map<string, string[]>();
  for (const issue of env.mcp.issues()) {
    const source = /^\*\*Source:\*\* (\S+)/.exec(issue.description)?.[1];
    if (source === undefined) continue;
    issuesBySource.set(source, [...(issuesBySource.get(source) ?? []), issue.key]);
  }
  const result: Audit = {
    documents: unique.size,
    issuesCreated: 0,
    linksInCrs: 0,
    duplicates: 0,
    lost: 0,
    orphanIssues: 0,
    mismatchedLinks: 0,
  };
  for (const doc of unique.values()) {
    const issues = issuesBySource.get(sourceUrl(doc)) ?? [];
    const links = env.workflowLinks(doc.workflow.name).filter((l) => l.path === doc.path);
    result.issuesCreated += issues.length;
    result.linksInCrs += links.length;
    result.duplicates += Math.max(0, issues.length - 1);
    if (links.length === 0) result.lost += 1;
    const linkedKeys = new Set(links.map((l) => l.jiraKey));
    if (links.some((l) => !issues.includes(l.jiraKey))) result.mismatchedLinks += 1;
    result.orphanIssues += issues.filter((key) => !linkedKeys.has(key)).length;
  }
  return result;
}

/** Waits until every document is linked in its CR (or the deadline passes); returns when that happened. */
export async function waitUntilLinked(
  env: Environment,
  documents: readonly BenchDocument[],
  timeoutMs: number,
): Promise<{ allLinked: boolean; at: number }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const missing = documents.filter((doc) => !env.workflowLinks(doc.workflow.name).some((l) => l.path === doc.path));
    if (missing.length === 0) return { allLinked: true, at: performance.now() };
    if (performance.now() > deadline) return { allLinked: false, at: performance.now() };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the app has been silent towards Slack for `quietMs` (its background work is done). */
export async function waitForQuiet(env: Environment, quietMs: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  let seen = env.slack.calls.length + env.slack.responses.length + env.mcp.counters.httpRequests;
  let since = performance.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = env.slack.calls.length + env.slack.responses.length + env.mcp.counters.httpRequests;
    if (now !== seen) {
      seen = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      return true;
    }
    if (performance.now() > deadline) return false;
  }
}

/**
 * Waits until the app's card backlog (`vteam_slack_cards_queued`) is empty: card writes are paced at
 * one per second per channel, so after a burst the cards catch up for a while after the publishes.
 * Returns the backlog seen first and how long it took to drain (null: not within the timeout).
 */
export async function waitForCardsDrained(
  env: Environment,
  timeoutMs: number,
): Promise<{ queuedAtStart: number; drainedAfterMs: number | null }> {
  const started = performance.now();
  const queued = async () => {
    const text = await (await fetch(`${env.app.url}/metrics`)).text();
    return Number(/^vteam_slack_cards_queued (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  };
  const queuedAtStart = await queued();
  for (let now = queuedAtStart; now !== 0; now = await queued()) {
    if (performance.now() - started > timeoutMs) return { queuedAtStart, drainedAfterMs: null };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { queuedAtStart, drainedAfterMs: Math.round(performance.now() - started) };
}
