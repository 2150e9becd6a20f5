/**
 * The publish path's way to a workflow's thread: the card on record, or one posted through the
 * shared posting path; the links it replies about are marked known so the reconciler stays quiet.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebClient } from '@slack/web-api';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCardStore, type CardStore } from '../../src/cards/card-store.ts';
import { createCardThreads } from '../../src/cards/card-threads.ts';
import type { DocumentRow, Workflow } from '../../src/publishing/model.ts';
import type { KeyValueStore, LockService } from '../../src/storage/types.ts';
import { CHANNEL, openStore, PLAN, rowsOf, SPEC, workflowLinking } from './fixtures.ts';

describe('workflow threads', () => {
  let store: KeyValueStore;
  let locksAs: (owner: string) => LockService;
  let cards: CardStore;
  let posts: Record<string, unknown>[];
  let warnings: string[];
  /** chat.postMessage as the bot's client answers it, a little slowly (so callers overlap). */
  const client = {
    chat: {
      postMessage: async (args: Record<string, unknown>) => {
        await sleep(50);
        posts.push(args);
        return { ok: true, ts: `${posts.length}.0` };
      },
    },
  } as unknown as WebClient;
  const threadsAs = (owner: string, documents: (w: Workflow) => Promise<DocumentRow[]> = async (w) => rowsOf(w)) =>
    createCardThreads({
      client,
      store,
      locks: locksAs(owner),
      rowsOf: documents,
      vteamUrl: 'https://vteam.example.com',
      logger: pino(
        { level: 'warn' },
        {
          write: (line: string) => {
            warnings.push((JSON.parse(line) as { msg: string }).msg);
          },
        },
      ),
    });

  beforeEach(async () => {
    ({ store, locksAs } = await openStore());
    cards = createCardStore(store);
    posts = [];
    warnings = [];
  });
  afterEach(async () => {
    await store.close();
  });

  it('posts the card on first need, then replies under the same card', async () => {
    const threads = threadsAs('pod-a');
    const workflow = workflowLinking();
    expect(await threads.ensure({ channelId: CHANNEL }, workflow)).toEqual({ ts: '1.0', created: true });
    expect(await threads.ensure({ channelId: CHANNEL }, workflow)).toEqual({ ts: '1.0', created: false });
    expect(posts).toEqual([expect.objectContaining({ channel: CHANNEL, text: 'RFE workflow: Dark mode', unfurl_links: false })]);
    expect(posts[0]).not.toHaveProperty('thread_ts');
  });

  it('gives replicas asking at once one card, the others waiting for it', async () => {
    const workflow = workflowLinking();
    const results = await Promise.all(
      ['pod-a', 'pod-b', 'pod-c'].map((owner) => threadsAs(owner).ensure({ channelId: CHANNEL }, workflow)),
    );
    expect(posts).toHaveLength(1);
    expect(results.map((r) => r.ts)).toEqual(['1.0', '1.0', '1.0']);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('marks the links it replies about as known and takes them off the pending list', async () => {
    const since = Date.now();
    await cards.update(CHANNEL, workflowLinking(), () => ({
      ts: '7.0',
      documents: [SPEC, PLAN],
      links: {},
      pendingLinks: { [SPEC]: { key: 'PROJ-1', since }, [PLAN]: { key: 'PROJ-2', since } },
    }));
    const result = await threadsAs('pod-a').ensure({ channelId: CHANNEL }, workflowLinking({ [SPEC]: 'PROJ-1' }));
    expect(result).toEqual({ ts: '7.0', created: false });
    expect(posts).toEqual([]);
    expect(await cards.get(CHANNEL, workflowLinking())).toMatchObject({
      links: { [SPEC]: 'PROJ-1' },
      pendingLinks: { [PLAN]: { key: 'PROJ-2', since } },
    });
  });

  it('leaves a record without tracked links to the reconciler, which takes its baseline', async () => {
    await cards.update(CHANNEL, workflowLinking(), () => ({ ts: '7.0' }));
    await threadsAs('pod-a').ensure({ channelId: CHANNEL }, workflowLinking({ [SPEC]: 'PROJ-1' }));
    expect(await cards.get(CHANNEL, workflowLinking())).toEqual({ ts: '7.0' });
  });

  it('posts a card without documents rather than no thread when they cannot be listed', async () => {
    const threads = threadsAs('pod-a', async () => {
      throw new Error('GitHub is down');
    });
    expect(await threads.ensure({ channelId: CHANNEL }, workflowLinking())).toEqual({ ts: '1.0', created: true });
    expect(await cards.get(CHANNEL, workflowLinking())).toMatchObject({ ts: '1.0', documents: [] });
    expect(warnings).toEqual(['could not list documents for the card']);
  });
});
