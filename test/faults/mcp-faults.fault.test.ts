/**
 * The Atlassian MCP server misbehaving: down, hanging, slow, 5xx, 401 and 429. Each publish either
 * completes, or the user is told and their next click publishes exactly once.
 */
import { describe, expect } from 'vitest';
import { PLAN, SPEC, TASKS } from '../support/environment.ts';
import { scenario, type ClickRecord, type World } from './harness.ts';

const CREATE = { tool: 'createJiraIssue' };

/** The click either published the document or the user was told why not; in the latter case they click again. */
async function clickAgainIfNotPublished(w: World, click: ClickRecord): Promise<void> {
  await w.until(
    `the click on ${click.path} to publish or to be answered`,
    () => w.env.workflowLinks().some((l) => l.path === click.path) || w.env.slack.responses.some((r) => r.id === click.responseId),
  );
  await w.clicksDone();
  if (!w.env.workflowLinks().some((l) => l.path === click.path)) await w.click(click.path);
}

describe('the MCP server fails', () => {
  scenario('MCP server down (connection refused), then back: retry click', {}, async (w) => {
    const { env } = w;
    await env.mcp.stop();
    const first = await w.click(PLAN);
    const answer = await w.replyTo(first);
    expect(answer).toMatch(/Unable to connect to Jira integration service/);
    expect(w.issuesFor(PLAN)).toHaveLength(0);
    await w.clicksDone();
    await env.mcp.start();
    await w.click(PLAN);
  });

  scenario('MCP create hangs with no answer (nothing created), then a retry click', { timeoutMs: 90_000, settleMs: 25_000 }, async (w) => {
    const { env } = w;
    // Never answered and never processed: the bot's own deadline (30 s) has to end it.
    env.mcp.failNextRequests(1, { status: 504, hang: true, match: CREATE });
    const first = await w.click(TASKS);
    const answer = await w.replyTo(first, 45_000);
    expect(answer).toMatch(/Unable to connect|try again/i);
    expect(w.issuesFor(TASKS)).toHaveLength(0);
    await w.clicksDone();
    await w.click(TASKS);
  });

  scenario('MCP slow (1 s per request)', {}, async (w) => {
    w.env.mcp.setLatency(1000);
    await w.click(SPEC);
  });

  scenario('MCP 503 on session start, then a retry click if needed', {}, async (w) => {
    w.env.mcp.failNextRequests(1, { status: 503, match: { method: 'initialize' } });
    await clickAgainIfNotPublished(w, await w.click(SPEC));
  });

  scenario('MCP 401 on the create: told to reconnect, reconnects, clicks again', {}, async (w) => {
    w.env.mcp.failNextRequests(1, { status: 401, match: CREATE });
    const first = await w.click(SPEC);
    const answer = await w.replyTo(first);
    expect(answer).toMatch(/re-?authenticate|reconnect|connect/i);
    expect(w.issuesFor(SPEC)).toHaveLength(0);
    await w.clicksDone();
    // The user links their account again (stored as the OAuth callback would), then clicks again.
    await w.relink();
    await w.click(SPEC);
  });

  scenario('MCP 429 with Retry-After 2 s on the create', {}, async (w) => {
    const { env } = w;
    env.mcp.failNextRequests(1, { status: 429, retryAfterSeconds: 2, match: CREATE });
    await w.click(PLAN);
    // The user hears that it is queued, then the result.
    await env.slack.waitFor(() => env.slack.ephemeralTexts().find((t) => /queued/.test(t)));
  });
});
