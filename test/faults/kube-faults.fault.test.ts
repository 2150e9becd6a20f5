/**
 * The Kubernetes API misbehaving while a publish records its link: a storm of 409 Conflicts, watches
 * dropped with their history gone (410), and the API unreachable for a while.
 *
 * The outage lasts a minute (VTEAM_FAULTS_KUBE_OUTAGE_SECONDS shortens it while working on the suite;
 * the scenario's budget follows it).
 */
import { describe, expect } from 'vitest';
import { CHANNEL, PLAN, PROJECT, SPEC, TASKS, WORKFLOW } from '../support/environment.ts';
import { messageText } from '../support/fake-slack.ts';
import { scenario, within } from './harness.ts';

const CREATE = { tool: 'createJiraIssue' };
const KUBE_OUTAGE_SECONDS = Number(process.env.VTEAM_FAULTS_KUBE_OUTAGE_SECONDS ?? 60);

describe('the Kubernetes API fails while the link is recorded', () => {
  scenario('409 storm on the CR write (15 conflicting writers)', { timeoutMs: 60_000, settleMs: 30_000 }, async (w) => {
    const { env } = w;
    // Once the issue exists, each of the next 15 writes of the RFEWorkflow finds it changed by someone else.
    env.mcp.onNextRequest(CREATE, () => {
      env.kube.injectConflicts(15, { verb: 'update' });
      env.kube.injectConflicts(15, { verb: 'patch' });
    });
    await w.click(SPEC);
    await env.slack.waitFor(() => env.kube.requests.filter((r) => r.status === 409).length >= 6, 20_000);
  });

  scenario('watches dropped and resumed into 410 Gone during a publish', {}, async (w) => {
    const { env } = w;
    await env.slack.waitFor(() => env.kube.activeWatches() > 0);
    const gate = env.mcp.gate(CREATE, { times: 1 });
    await w.click(PLAN);
    await within('the create to reach the MCP server', gate.arrived);
    // In one tick: the watches end, the workflow changes unseen, and the history is compacted, so
    // every watch resumes from a revision the server no longer has (410 Expired) and must re-list.
    env.kube.dropWatches();
    env.kube.modify('rfeworkflows', PROJECT, WORKFLOW, (object) => {
      object.metadata.annotations = { ...object.metadata.annotations, 'fake-kube.test/unseen-change': '1' };
    });
    env.kube.compactHistory();
    gate.release();
    // The live card learns the link through its (re-established) watch.
    const key = await env.slack.waitFor(() => w.issuesFor(PLAN)[0]?.key);
    await env.slack.waitFor(
      () => env.slack.messagesIn(CHANNEL).some((m) => messageText({ text: m.text, blocks: m.blocks }).includes(key)),
      15_000,
    );
    // The fault really was a 410: the watch had to start over from a fresh list.
    expect(await w.metric(env.app, 'vteam_slack_watch_restarts_total', { reason: 'expired' })).toBeGreaterThan(0);
  });

  scenario(
    `Kubernetes API unreachable for ${KUBE_OUTAGE_SECONDS} s after the create`,
    { timeoutMs: 60_000 + KUBE_OUTAGE_SECONDS * 1000 },
    async (w) => {
      const { env } = w;
      let downAt = 0;
      env.mcp.onNextRequest(CREATE, () => {
        downAt = Date.now();
        env.kube.setReachable(false).catch((error: unknown) => console.error('could not take the API down', error));
      });
      await w.click(TASKS);
      await env.slack.waitFor(() => downAt > 0 && !env.kube.reachable);
      await env.slack.waitFor(() => w.issuesFor(TASKS).length > 0);
      // While the API is away the publish keeps trying or tells the user; either way, nothing is lost.
      await w.hold(Math.max(0, downAt + KUBE_OUTAGE_SECONDS * 1000 - Date.now()));
      await env.kube.setReachable(true);
    },
  );
});
