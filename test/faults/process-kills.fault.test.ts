/**
 * kill -9 at every step of a publish, then a restart: the restarted app finishes the publish with
 * one issue and one link, and tells the user.
 */
import { describe, expect } from 'vitest';
import { PLAN, SPEC, TASKS } from '../support/environment.ts';
import { scenario, within } from './harness.ts';

const CREATE = { tool: 'createJiraIssue' };
const crWrites = ['update', 'patch'] as const;

describe('kill -9 during a publish, then restart', () => {
  scenario('kill -9 before the create reaches Jira', {}, async (w) => {
    const { env } = w;
    // The create is held before the MCP server looks at it; the process dies meanwhile, so it never lands.
    const gate = env.mcp.gate(CREATE, { times: 1 });
    await w.click(TASKS);
    await within('the create to reach the MCP server', gate.arrived);
    await w.kill();
    expect(w.issuesFor(TASKS)).toHaveLength(0);
    await w.restart();
  });

  scenario('kill -9 after the create (its response lost)', {}, async (w) => {
    const { env } = w;
    env.mcp.failNextRequests(1, { status: 200, hang: true, afterEffect: true, match: CREATE });
    await w.click(PLAN);
    await env.slack.waitFor(() => w.issuesFor(PLAN).length > 0);
    await w.kill();
    expect(env.workflowLinks().find((l) => l.path === PLAN)).toBeUndefined();
    await w.restart();
  });

  scenario('kill -9 after the CR write (its answer lost)', {}, async (w) => {
    const { env } = w;
    // Once the issue exists, the next write of the RFEWorkflow is applied but never answered.
    env.mcp.onNextRequest(CREATE, () => {
      for (const verb of crWrites) env.kube.failNext({ verb, resource: 'rfeworkflows' }, 'apply-then-hang');
    });
    await w.click(SPEC);
    await env.slack.waitFor(() => env.workflowLinks().find((l) => l.path === SPEC));
    await w.kill();
    env.kube.clearFaults();
    await w.restart();
  });

  scenario('kill -9 before the thread reply', {}, async (w) => {
    const { env } = w;
    // The thread reply is sent but never answered; the process dies while it waits.
    env.slack.hangNext('chat.postMessage', { match: (args) => args.thread_ts !== undefined });
    await w.click(SPEC);
    await env.slack.waitFor(() => env.slack.hungCalls().length > 0);
    expect(env.workflowLinks().find((l) => l.path === SPEC)).toBeDefined();
    await w.kill();
    await w.restart();
  });
});
