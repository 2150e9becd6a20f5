/**
 * The store wiped (Redis restarted without persistence) after Jira created the issue and before the
 * link reached the CR: a second publish of the same document must link the FIRST issue, not create
 * another. Alice's Atlassian link is stored again after the wipe (as after a failover to a replica
 * that has the older keys but not the last seconds of writes), so the second click can publish at all.
 */
import { describe, expect } from 'vitest';
import { SPEC } from '../support/environment.ts';
import { scenario } from './harness.ts';

const CREATE = { tool: 'createJiraIssue' };
const crWrites = ['update', 'patch'] as const;
const isCrWrite = (r: { verb: string; resource: string }) => (r.verb === 'update' || r.verb === 'patch') && r.resource === 'rfeworkflows';

describe('the store loses its data between the create and the CR write', () => {
  scenario('store wiped while the CR write hangs, app killed and restarted, second click', {}, async (w) => {
    const { env } = w;
    let mark = Number.POSITIVE_INFINITY;
    env.mcp.onNextRequest(CREATE, () => {
      mark = env.kube.requests.length;
      for (const verb of crWrites) env.kube.failNext({ verb, resource: 'rfeworkflows' }, 'hang');
    });
    await w.click(SPEC);
    await env.slack.waitFor(() => env.kube.requests.slice(mark).some(isCrWrite));
    const first = w.issuesFor(SPEC);
    expect(first).toHaveLength(1);
    w.expect(SPEC, { key: first[0]!.key });

    await w.redis.restart();
    await w.kill();
    env.kube.clearFaults();
    await w.relink();
    await w.restart();
    await w.click(SPEC);
  });

  scenario('store wiped while the CR write keeps failing (no restart), second click', {}, async (w) => {
    const { env } = w;
    let mark = Number.POSITIVE_INFINITY;
    env.mcp.onNextRequest(CREATE, () => {
      mark = env.kube.requests.length;
      for (const verb of crWrites)
        env.kube.failNext({ verb, resource: 'rfeworkflows' }, { status: 503, message: 'etcd leader changed' }, 1000);
    });
    await w.click(SPEC);
    await env.slack.waitFor(() => env.kube.requests.slice(mark).some((r) => isCrWrite(r) && r.status === 503));
    const first = w.issuesFor(SPEC);
    expect(first).toHaveLength(1);
    w.expect(SPEC, { key: first[0]!.key });
    // The first click has given up on the CR (and told the user so) before the store goes.
    await w.clicksDone();

    await w.redis.restart();
    await w.relink();
    env.kube.clearFaults();
    await w.click(SPEC);
  });
});
