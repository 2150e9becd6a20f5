import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createChannelProblems } from '../../src/storage/channel-problems.ts';
import { createCardThreads } from '../../src/cards/card-threads.ts';
import { toWorkflow } from '../../src/vteam/workflow-mapping.ts';
import { WebClient } from '@slack/web-api';
import { blocksText, cardPosts, cardsIn, CHANNELS, PROJECT, startHarness, VTEAM_URL, type Harness } from './harness.ts';

const [C1, C2] = CHANNELS;

describe('workflow cards', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('posts one card per workflow in each bound channel, with its documents and Publish buttons', async () => {
    h.addWorkflow('rfe-1', {}, ['specs/001-x/spec.md', 'specs/001-x/plan.md']);
    const service = h.service();
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length === 1 && cardsIn(h, C2).length === 1);

    const card = cardsIn(h, C1)[0]!;
    const text = blocksText(card.blocks);
    expect(text).toContain('Workflow rfe-1');
    expect(text).toContain('Allow users to switch themes');
    expect(text).toContain('github.com/org/spec-repo');
    expect(text).toContain('ambient-rfe-1');
    expect(text).toContain(`${VTEAM_URL}/projects/${PROJECT}/rfe/rfe-1`);
    expect(text).toContain('specs/001-x/plan.md');
    expect(text.match(/"action_id":"publish_to_jira"/g)).toHaveLength(2);

    // A second workflow appears while watching.
    h.addWorkflow('rfe-2');
    await h.slack.waitFor(() => cardsIn(h, C1).length === 2 && cardsIn(h, C2).length === 2);
    await service.idle();
    expect(cardPosts(h)).toHaveLength(4);
    expect(service.stats()).toMatchObject({ leader: true, workflows: 2, posted: 4 });
  });

  it('edits the card and adds one thread reply when someone else links a document', async () => {
    h.addWorkflow('rfe-1', {}, ['specs/001-x/spec.md', 'specs/001-x/plan.md']);
    const service = h.service();
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length === 1 && cardsIn(h, C2).length === 1);

    h.fixture.kube.modify('rfeworkflows', PROJECT, 'rfe-1', (o) => {
      (o.spec as { jiraLinks: unknown[] }).jiraLinks = [{ path: 'specs/001-x/plan.md', jiraKey: 'PROJ-7' }];
    });
    for (const channel of [C1, C2]) {
      const card = cardsIn(h, channel)[0]!;
      await h.slack.waitFor(() => blocksText(card.blocks).includes('PROJ-7'));
      const replies = await h.slack.waitFor(() => {
        const r = h.slack.repliesTo(channel, card.ts);
        return r.length > 0 && r;
      });
      expect(replies).toHaveLength(1);
      expect(replies[0]!.text).toContain('PROJ-7');
      expect(replies[0]!.text).toContain('specs/001-x/plan.md');
      expect(blocksText(card.blocks).match(/"action_id":"publish_to_jira"/g)).toHaveLength(1);
    }
    await service.idle();
    expect(h.slack.repliesTo(C1, cardsIn(h, C1)[0]!.ts)).toHaveLength(1);
  });

  it('does not announce a link the publish path already replied about', async () => {
    h.addWorkflow('rfe-1', {}, ['specs/001-x/spec.md']);
    const service = h.service({ announceGraceMs: 1_500 });
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length === 1 && cardsIn(h, C2).length === 1);

    // The publish path: CR written, then its thread reply in the channel the click came from (C1).
    const updated = h.fixture.kube.modify('rfeworkflows', PROJECT, 'rfe-1', (o) => {
      (o.spec as { jiraLinks: unknown[] }).jiraLinks = [{ path: 'specs/001-x/spec.md', jiraKey: 'PROJ-1' }];
    });
    const threads = createCardThreads({
      client: new WebClient('xoxb-test-token', { slackApiUrl: h.slack.apiUrl }),
      store: h.store,
      locks: h.locks,
      logger: h.logger,
      rowsOf: h.rowsOf,
      vteamUrl: VTEAM_URL,
    });
    const thread = await threads.ensure({ channelId: C1 }, toWorkflow(updated)!);
    expect(thread.created).toBe(false);

    // C2 did not see the publish: it is told after the grace period; C1 is not told twice.
    const c2 = cardsIn(h, C2)[0]!;
    await h.slack.waitFor(() => h.slack.repliesTo(C2, c2.ts).length === 1);
    await service.idle();
    const c1 = cardsIn(h, C1)[0]!;
    expect(blocksText(c1.blocks)).toContain('PROJ-1');
    expect(h.slack.repliesTo(C1, c1.ts)).toHaveLength(0);
  });

  it('tells the thread about new documents found on resync, and about a deleted workflow', async () => {
    h.addWorkflow('rfe-1', {}, ['specs/001-x/spec.md']);
    const service = h.service({ resyncMs: 300 });
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length === 1);
    const card = cardsIn(h, C1)[0]!;

    h.documents.set(`${PROJECT}/rfe-1`, ['specs/001-x/spec.md', 'specs/001-x/plan.md']);
    await h.slack.waitFor(() => h.slack.repliesTo(C1, card.ts).some((r) => r.text.includes('New document') && r.text.includes('plan.md')));
    expect(blocksText(card.blocks)).toContain('specs/001-x/plan.md');

    h.fixture.kube.remove('rfeworkflows', PROJECT, 'rfe-1');
    await h.slack.waitFor(() => h.slack.repliesTo(C1, card.ts).some((r) => r.text.includes('deleted')));
    expect(blocksText(card.blocks)).toContain('deleted');
    expect(blocksText(card.blocks)).not.toContain('publish_to_jira');
    await service.idle();
    expect(cardsIn(h, C1)).toHaveLength(1);
  });

  it('posts nothing new after a restart over the same store', async () => {
    h.addWorkflow('rfe-1');
    h.addWorkflow('rfe-2');
    const first = h.service({ identity: 'pod-a' });
    await first.start();
    await h.slack.waitFor(() => cardPosts(h).length === 4);
    await first.idle();
    await first.stop();

    const callsBefore = h.slack.calls.length;
    const second = h.service({ identity: 'pod-a' });
    await second.start();
    await h.slack.waitFor(() => second.isLeader() && second.stats().workflows === 2);
    await waitIdle(second);
    expect(h.slack.calls.slice(callsBefore).filter((c) => c.method.startsWith('chat.'))).toEqual([]);
  });

  it('with two replicas posts each card once, and the second takes over when the first dies', async () => {
    h.addWorkflow('rfe-1');
    const a = h.service({ identity: 'pod-a' });
    const b = h.service({ identity: 'pod-b' });
    await Promise.all([a.start(), b.start()]);
    await h.slack.waitFor(() => cardPosts(h).length === 2);
    await h.slack.waitFor(() => a.isLeader() !== b.isLeader());
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    h.addWorkflow('rfe-2');
    await h.slack.waitFor(() => cardPosts(h).length === 4);

    await leader.stop({ release: false }); // killed: the lease is not released
    await h.slack.waitFor(() => follower.isLeader(), 10_000);
    h.addWorkflow('rfe-3');
    await h.slack.waitFor(() => cardPosts(h).length === 6);
    await waitIdle(follower);
    for (const channel of CHANNELS)
      expect(
        cardsIn(h, channel)
          .map((m) => m.text)
          .sort(),
      ).toEqual(['rfe-1', 'rfe-2', 'rfe-3'].map((n) => `RFE workflow: Workflow ${n}`));
  });

  it('converges after dropped watch connections and a 410 relist', async () => {
    h.addWorkflow('rfe-1');
    const service = h.service();
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length === 1);
    const card = cardsIn(h, C1)[0]!;

    // Dropped: the watch resumes from its resourceVersion and sees the change made meanwhile.
    h.fixture.kube.dropWatches();
    h.fixture.kube.modify('rfeworkflows', PROJECT, 'rfe-1', (o) => {
      (o.spec as Record<string, unknown>).title = 'Renamed once';
    });
    await h.slack.waitFor(() => blocksText(card.blocks).includes('Renamed once'));

    // History compacted while disconnected: 410 Gone, full relist, still converges.
    const lists = h.fixture.kube.count('list', 'rfeworkflows');
    h.fixture.kube.addSecret(PROJECT, 'unrelated', { a: 'b' }); // moves the server past the watch's resourceVersion
    h.fixture.kube.compactHistory();
    h.fixture.kube.dropWatches();
    h.fixture.kube.modify('rfeworkflows', PROJECT, 'rfe-1', (o) => {
      (o.spec as Record<string, unknown>).title = 'Renamed twice';
    });
    h.addWorkflow('rfe-2');
    await h.slack.waitFor(() => blocksText(card.blocks).includes('Renamed twice') && cardsIn(h, C1).length === 2);
    expect(h.fixture.kube.count('list', 'rfeworkflows')).toBeGreaterThan(lists);
    await service.idle();
    expect(cardPosts(h, C1)).toHaveLength(2);
  });

  it('posts the cards of a channel bound later, without a restart', async () => {
    h.addWorkflow('rfe-1');
    h.addWorkflow('rfe-2');
    const service = h.service();
    await service.start();
    await h.slack.waitFor(() => cardPosts(h).length === 4);

    h.fixture.kube.modify('projectsettings', PROJECT, 'projectsettings', (o) => {
      o.metadata.annotations = { 'vteam.ambient-code/slack-channels': [...CHANNELS, 'C0000000003'].join(',') };
    });
    await h.slack.waitFor(() => cardsIn(h, 'C0000000003').length === 2);
    await service.idle();
    expect(cardPosts(h)).toHaveLength(6);
  });

  it('reports a channel it cannot post in once, and does not keep trying', async () => {
    h.slack.failChannel(C2, 'not_in_channel');
    h.addWorkflow('rfe-1');
    h.addWorkflow('rfe-2');
    const service = h.service();
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length === 2);
    await waitIdle(service);
    h.addWorkflow('rfe-3');
    await h.slack.waitFor(() => cardsIn(h, C1).length === 3);
    await waitIdle(service);

    expect(cardPosts(h, C2)).toHaveLength(1);
    expect(await createChannelProblems(h.store).list()).toEqual([expect.objectContaining({ channelId: C2, error: 'not_in_channel' })]);
    expect(h.logs.filter((l) => l.level === 40 && l.channelId === C2 && /cannot post/.test(l.msg))).toHaveLength(1);
    expect(service.stats().blockedChannels).toEqual([C2]);
  });

  it('shows a change ahead of a backlog of first postings, and reports the backlog', async () => {
    // One channel, 40 workflows already there at start, 100 ms per write: the first sweep takes about 4 s.
    await h.close();
    h = await startHarness({ channels: [C1] });
    for (let i = 0; i < 40; i += 1) h.addWorkflow(`rfe-${String(i).padStart(2, '0')}`);
    const metrics = createMetrics();
    const service = h.service({ postIntervalMs: 100, metrics });
    const scraped = async () => (await metrics.registry.getSingleMetric('vteam_slack_cards_queued')!.get()).values[0]!.value;
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length >= 3);
    expect(service.stats().queued).toBeGreaterThan(20);
    expect(await scraped()).toBeGreaterThan(20);

    // Someone links a document of the workflow the sweep would reach last.
    h.fixture.kube.modify('rfeworkflows', PROJECT, 'rfe-39', (o) => {
      (o.spec as { jiraLinks: unknown[] }).jiraLinks = [{ path: 'specs/001-x/spec.md', jiraKey: 'PROJ-9' }];
    });
    await h.slack.waitFor(() =>
      cardsIn(h, C1).some((c) => blocksText(c.blocks).includes('Workflow rfe-39') && blocksText(c.blocks).includes('PROJ-9')),
    );
    expect(cardsIn(h, C1).length).toBeLessThan(20);
    await service.idle();
    expect(cardsIn(h, C1)).toHaveLength(40);
    expect(await scraped()).toBe(0);
  });

  it('waits out a 429 and posts the card once', async () => {
    h.slack.rateLimitNext('chat.postMessage', 1);
    h.addWorkflow('rfe-1');
    const service = h.service();
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length === 1 && cardsIn(h, C2).length === 1);
    await service.idle();
    // One refused attempt, then one card per channel.
    expect(cardPosts(h)).toHaveLength(3);
    expect(cardsIn(h, C1)).toHaveLength(1);
    expect(h.logs.some((l) => /rate limit/.test(l.msg) && l.retryAfterMs === 1000)).toBe(true);
  });

  it('stays idle while the RFEWorkflow CRD is not served, and starts when it appears', async () => {
    h.fixture.kube.setServed('rfeworkflows', false);
    h.addWorkflow('rfe-1');
    const service = h.service();
    await service.start();
    await h.slack.waitFor(() => h.logs.some((l) => /does not serve/.test(l.msg)));
    expect(cardPosts(h)).toHaveLength(0);
    h.fixture.kube.setServed('rfeworkflows', true);
    await h.slack.waitFor(() => cardPosts(h).length === 2);
    expect(h.logs.filter((l) => /does not serve/.test(l.msg))).toHaveLength(1);
  });

  it('survives losing leadership while a resync waits on the cluster', async () => {
    // CI once saw `Cannot read properties of undefined (reading 'values')` as an unhandled rejection:
    // leadership ended while the resync listed namespaces, and the resync went on with the watch gone.
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', record);
    try {
      h.addWorkflow('rfe-1');
      // Namespace lists hang, so the first resync is still waiting for one when leadership ends.
      h.fixture.kube.failNext({ verb: 'list', resource: 'namespaces' }, 'hang', 1_000);
      const service = h.service();
      await service.start();
      await h.slack.waitFor(() => service.isLeader() && h.fixture.kube.count('list', 'namespaces') > 0);

      h.fixture.kube.failNext({ resource: 'leases' }, { status: 500 }, 1_000); // cannot renew: steps down
      await h.slack.waitFor(() => !service.isLeader(), 10_000);
      await h.fixture.close(); // the API server goes away: the hung list fails and the resync resumes
      await h.slack.waitFor(() => h.logs.some((l) => /could not list the managed namespaces/.test(l.msg)), 10_000);
      await new Promise((r) => setTimeout(r, 200)); // the resync's remaining steps, and Node's rejection tracking

      expect(unhandled).toEqual([]);
      expect(h.logs.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
      expect(cardPosts(h)).toHaveLength(0); // no leader, no writes
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('posts a new card when the old one was deleted from the channel', async () => {
    h.addWorkflow('rfe-1');
    const service = h.service();
    await service.start();
    await h.slack.waitFor(() => cardsIn(h, C1).length === 1);
    h.slack.deleteMessage(C1, cardsIn(h, C1)[0]!.ts);
    h.fixture.kube.modify('rfeworkflows', PROJECT, 'rfe-1', (o) => {
      (o.spec as Record<string, unknown>).title = 'Renamed';
    });
    await h.slack.waitFor(() => cardsIn(h, C1).length === 1 && blocksText(cardsIn(h, C1)[0]!.blocks).includes('Renamed'));
  });
});

/** Idle and still idle a moment later (events may still be on their way from the fake). */
async function waitIdle(service: { idle(): Promise<void>; stats(): { queued: number } }): Promise<void> {
  for (let stable = 0; stable < 3;) {
    await service.idle();
    await new Promise((r) => setTimeout(r, 100));
    stable = service.stats().queued === 0 ? stable + 1 : 0;
  }
}
