/**
 * The one path that posts a workflow card, shared by the publish path and the reconciler: once per
 * workflow per channel, under the card's lock, recorded before the lock is freed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCardPoster, type CardPosting } from '../../src/cards/card-poster.ts';
import { cardLockName, createCardStore, type CardStore } from '../../src/cards/card-store.ts';
import type { RenderedCard } from '../../src/cards/render.ts';
import type { KeyValueStore, LockService } from '../../src/storage/types.ts';
import { CHANNEL, openStore, PLAN, rowsOf, SPEC, workflowLinking } from './fixtures.ts';

const workflow = workflowLinking({ [SPEC]: 'PROJ-1' });

describe('posting a workflow card', () => {
  let store: KeyValueStore;
  let locksAs: (owner: string) => LockService;
  let cards: CardStore;
  let sent: RenderedCard[];
  const posterAs = (owner: string) => createCardPoster({ cards, locks: locksAs(owner), vteamUrl: 'https://vteam.example.com' });
  const posting = (overrides: Partial<CardPosting> = {}): CardPosting => ({
    rows: async () => rowsOf(workflow),
    send: async (card) => {
      sent.push(card);
      return `${sent.length}.0`;
    },
    ...overrides,
  });

  beforeEach(async () => {
    ({ store, locksAs } = await openStore());
    cards = createCardStore(store);
    sent = [];
  });
  afterEach(async () => {
    await store.close();
  });

  it('posts the card and records what it shows', async () => {
    expect(await posterAs('pod-a').postOnce(CHANNEL, workflow, posting())).toEqual({ ts: '1.0', created: true });
    expect(sent.map((c) => c.text)).toEqual(['RFE workflow: Dark mode']);
    expect(await cards.get(CHANNEL, workflow)).toEqual({
      ts: '1.0',
      title: 'Dark mode',
      digest: sent[0]!.digest,
      documents: [SPEC, PLAN],
      links: { [SPEC]: 'PROJ-1' },
    });
  });

  it('returns the card on record without reading documents or posting', async () => {
    await cards.update(CHANNEL, workflow, () => ({ ts: '7.0' }));
    const rows = async () => {
      throw new Error('documents listed for nothing');
    };
    expect(await posterAs('pod-a').postOnce(CHANNEL, workflow, posting({ rows }))).toEqual({ ts: '7.0', created: false });
    expect(sent).toEqual([]);
  });

  it('posts a new card in place of a deleted one', async () => {
    await cards.update(CHANNEL, workflow, () => ({ ts: '7.0', deleted: true }));
    expect(await posterAs('pod-a').postOnce(CHANNEL, workflow, posting())).toEqual({ ts: '1.0', created: true });
    const record = await cards.get(CHANNEL, workflow);
    expect(record).toMatchObject({ ts: '1.0', documents: [SPEC, PLAN] });
    expect(record).not.toHaveProperty('deleted');
  });

  it('is busy while someone else holds the card lock', async () => {
    const held = await locksAs('pod-b').withLock(cardLockName(CHANNEL, workflow), 5_000, () =>
      posterAs('pod-a').postOnce(CHANNEL, workflow, posting()),
    );
    expect(held).toEqual({ acquired: true, value: 'busy' });
    expect(sent).toEqual([]);
  });

  it('is busy when it may not post (a reconciler that lost leadership), before reading documents', async () => {
    const rows = async () => {
      throw new Error('documents listed for nothing');
    };
    expect(await posterAs('pod-a').postOnce(CHANNEL, workflow, posting({ rows, mayPost: () => false }))).toBe('busy');
    expect(sent).toEqual([]);
    expect(await cards.get(CHANNEL, workflow)).toBeUndefined();
  });

  it('posts once when the publish path and the reconciler of several replicas race', async () => {
    const slowSend: CardPosting['send'] = async (card) => {
      await sleep(50);
      sent.push(card);
      return `${sent.length}.0`;
    };
    const results = await Promise.all(
      ['pod-a', 'pod-b', 'pod-c', 'leader'].map((owner) => posterAs(owner).postOnce(CHANNEL, workflow, posting({ send: slowSend }))),
    );
    expect(sent).toHaveLength(1);
    expect(results.filter((r) => r !== 'busy' && r.created)).toHaveLength(1);
    // Someone who comes later finds the card on record.
    expect(await posterAs('pod-b').postOnce(CHANNEL, workflow, posting())).toEqual({ ts: '1.0', created: false });
  });

  it('records nothing and frees the lock when Slack refuses the card', async () => {
    const refused = async () => {
      throw new Error('not_in_channel');
    };
    await expect(posterAs('pod-a').postOnce(CHANNEL, workflow, posting({ send: refused }))).rejects.toThrow('not_in_channel');
    expect(await cards.get(CHANNEL, workflow)).toBeUndefined();
    expect(await posterAs('pod-b').postOnce(CHANNEL, workflow, posting())).toEqual({ ts: '1.0', created: true });
  });
});
