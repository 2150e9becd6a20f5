/**
 * Redis failing under a publish: a restart that loses the lease and the journal while the create is
 * in flight, and a stall (SIGSTOP) longer than the publish lease while the publish waits out a 429,
 * with a second replica whose recovery could take the publish over. One issue either way.
 */
import { describe, expect } from 'vitest';
import { PLAN, SPEC, TASKS } from '../support/environment.ts';
import { scenario, within } from './harness.ts';

const CREATE = { tool: 'createJiraIssue' };

describe('Redis fails during a publish', () => {
  scenario('Redis restarted (data lost) while the create is in flight, then a second click', {}, async (w) => {
    const { env } = w;
    const gate = env.mcp.gate(CREATE, { times: 1 });
    await w.click(SPEC);
    await within('the create to reach the MCP server', gate.arrived);
    // The lease and the journal are gone; the Atlassian link is restored, as from a failover replica
    // that has the older keys, so the second click can act.
    await w.redis.restart();
    await w.relink();
    await env.app.waitForLog((r) => r.msg === 'Redis connection restored', 15_000);
    // The user clicks again while the first create is still running; it gets a few seconds to be
    // answered or to reach Jira (the held create is not recorded as a tool call), then the first goes on.
    const again = await w.click(SPEC);
    await w
      .until(
        'the second click to be answered or to reach Jira',
        () => env.slack.responses.some((r) => r.id === again.responseId) || env.mcp.toolCalls('createJiraIssue').length > 0,
        8000,
      )
      .catch(() => undefined);
    gate.release();
  });

  scenario(
    'Redis failover (lease and journal lost) while the publish waits on a 429, a second click on the other replica',
    { timeoutMs: 90_000 },
    async (w) => {
      const { env } = w;
      const second = await w.startReplica();
      env.mcp.failNextRequests(1, { status: 429, retryAfterSeconds: 6, match: CREATE });
      await w.click(TASKS);
      await env.slack.waitFor(() => env.mcp.appliedFailures().some((f) => f.failure.status === 429));
      // The failover loses the first worker's lease and journal (the connections stay up); the other
      // replica takes the lease for the user's second click while the first still sleeps on
      // Retry-After. Whoever wakes without the lease must not create.
      const lost = await w.forgetKeys('lock:publish:', 'journal:');
      expect(lost.length).toBe(2);
      await w.click(TASKS, { app: second });
      await w.clicksDone(env.app, 40_000);
      await w.clicksDone(second, 40_000);
    },
  );

  scenario(
    'Redis stalled 3.5 s (> 2 s lease) while the publish waits on a 429 Retry-After, two replicas',
    { timeoutMs: 90_000 },
    async (w) => {
      const { env } = w;
      const second = await w.startReplica();
      env.mcp.failNextRequests(1, { status: 429, retryAfterSeconds: 5, match: CREATE });
      await w.click(PLAN);
      await env.slack.waitFor(() => env.mcp.appliedFailures().some((f) => f.failure.status === 429));
      w.redis.pause();
      try {
        await w.hold(3500);
      } finally {
        await w.redis.resume();
      }
      // Both replicas are done: the clicked one with its click, the other with any recovery it took over.
      await w.clicksDone(env.app, 30_000);
      expect(second.child.exitCode).toBeNull();
    },
  );
});
