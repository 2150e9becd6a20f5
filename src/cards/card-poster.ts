/**
 * The one place a workflow card is posted. The publish path (card-threads.ts, on any replica) and the
 * card reconciler (the leader) both come here, so each workflow gets one card per channel: posted under
 * the card's lock, after the store was checked again inside it, and recorded before the lock is freed.
 * How the message reaches Slack is the caller's: the publish path answers at once, the reconciler is paced.
 */
import type { DocumentRow, Workflow } from '../publishing/model.ts';
import type { LockService } from '../storage/types.ts';
import { cardLockName, type CardRecord, type CardStore } from './card-store.ts';
import { linkMap, renderCard, type RenderedCard } from './render.ts';

/** The lock is renewed while the post runs: its lifetime matters only when the poster dies holding it. */
const CARD_LOCK_MS = 30_000;

/** The card (the parent of the workflow's thread) and whether this call posted it. */
export interface PostedCard {
  ts: string;
  created: boolean;
}

export interface CardPosting {
  /** The rows the card shows; read only when the card is really posted. */
  rows: () => Promise<DocumentRow[]>;
  /** Sends the card as a top-level message in the channel and returns its ts. */
  send: (card: RenderedCard) => Promise<string>;
  /** Asked inside the lock, right before posting: false leaves the card to someone else. */
  mayPost?: () => boolean;
}

export function createCardPoster(deps: { cards: CardStore; locks: LockService; vteamUrl?: string | undefined }) {
  const { cards, locks } = deps;

  /**
   * The workflow's card in the channel: the one on record, or one posted now. 'busy' when someone
   * else holds the card's lock (they are posting it right now) or `mayPost` said no.
   */
  async function postOnce(channelId: string, workflow: Workflow, posting: CardPosting): Promise<PostedCard | 'busy'> {
    const result = await locks.withLock(cardLockName(channelId, workflow), CARD_LOCK_MS, async (): Promise<PostedCard | 'busy'> => {
      const existing = await cards.get(channelId, workflow);
      if (existing && !existing.deleted) return { ts: existing.ts, created: false };
      if (posting.mayPost && !posting.mayPost()) return 'busy';
      const rows = await posting.rows();
      const card = renderCard(workflow, rows, deps.vteamUrl);
      const ts = await posting.send(card);
      const record: CardRecord = {
        ts,
        title: workflow.title,
        digest: card.digest,
        documents: rows.map((r) => r.path),
        links: linkMap(workflow),
      };
      // A deleted card's record is replaced: the recreated workflow has its own card.
      await cards.update(channelId, workflow, () => record);
      return { ts, created: true };
    });
    return result.acquired ? result.value : 'busy';
  }

  return { postOnce };
}

export type CardPoster = ReturnType<typeof createCardPoster>;
