/**
 * The publish path's side of the workflow cards: results are replied in the workflow's thread, whose
 * parent is the card. The card is found in the shared store or posted on first need through the one
 * posting path (card-poster.ts, shared with the reconciler), so restarts and other replicas reply in
 * the same thread instead of reposting. Whatever this path replies about (a publish, an update) is
 * marked as known on the record, so the reconciler does not announce the same link a second time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { DocumentRow, Workflow } from '../publishing/model.ts';
import type { KeyValueStore, LockService } from '../storage/types.ts';
import { createCardPoster, type PostedCard } from './card-poster.ts';
import { createCardStore, type CardStore } from './card-store.ts';
import { linkMap, type RenderedCard } from './render.ts';

export interface ThreadTarget {
  channelId: string;
}

/** How long a publish waits for a card someone else is posting: 50 looks, 100 ms apart. */
const WAIT_ATTEMPTS = 50;
const WAIT_MS = 100;

export function createCardThreads(deps: {
  /** The bot's own client: a publish is answered at once, not behind the reconciler's paced writes. */
  client: WebClient;
  store: KeyValueStore;
  locks: LockService;
  logger: Logger;
  rowsOf: (workflow: Workflow) => Promise<DocumentRow[]>;
  vteamUrl?: string | undefined;
}) {
  const { client, logger } = deps;
  const cards = createCardStore(deps.store);
  const poster = createCardPoster({ cards, locks: deps.locks, vteamUrl: deps.vteamUrl });

  async function rows(workflow: Workflow): Promise<DocumentRow[]> {
    return deps.rowsOf(workflow).catch((error: unknown) => {
      // A card without rows is better than no thread at all.
      logger.warn({ err: error, workflow: workflow.name }, 'could not list documents for the card');
      return [] as DocumentRow[];
    });
  }

  async function send(channelId: string, card: RenderedCard): Promise<string> {
    const posted = await client.chat.postMessage({ channel: channelId, text: card.text, blocks: card.blocks, unfurl_links: false });
    if (!posted.ts) throw new Error('chat.postMessage returned no ts');
    return posted.ts;
  }

  /** The thread's parent ts, posting the card if the channel has none yet. */
  async function ensure(target: ThreadTarget, workflow: Workflow): Promise<PostedCard> {
    const { channelId } = target;
    for (let attempt = 0; attempt < WAIT_ATTEMPTS; attempt++) {
      const existing = await cards.get(channelId, workflow);
      if (existing && !existing.deleted) {
        await markLinksKnown(cards, channelId, workflow);
        return { ts: existing.ts, created: false };
      }
      const card = await poster.postOnce(channelId, workflow, {
        rows: () => rows(workflow),
        send: (rendered) => send(channelId, rendered),
      });
      if (card !== 'busy') {
        // A card posted now already records the workflow's links.
        if (!card.created) await markLinksKnown(cards, channelId, workflow);
        return card;
      }
      await sleep(WAIT_MS); // another request (or the card reconciler) is posting the card right now
    }
    throw new Error('timed out waiting for the workflow card to be posted');
  }

  return { ensure };
}

export type CardThreads = ReturnType<typeof createCardThreads>;

/** The workflow's links are on the card and in this thread now: the reconciler must not announce them. */
async function markLinksKnown(cards: CardStore, channelId: string, workflow: Workflow): Promise<void> {
  const links = linkMap(workflow);
  await cards.update(channelId, workflow, (current) => {
    // Records without tracked links get their baseline from the reconciler.
    if (!current?.links) return undefined;
    if (Object.entries(links).every(([path, key]) => current.links![path] === key)) return undefined;
    const pendingLinks = Object.fromEntries(Object.entries(current.pendingLinks ?? {}).filter(([path]) => links[path] === undefined));
    return { ...current, links: { ...current.links, ...links }, pendingLinks };
  });
}
