/**
 * Brings one card (one workflow in one channel) in line with the workflow: posts it once (through
 * card-poster.ts, as the publish path does), edits it when what it shows changed, and adds one short
 * thread reply for changes people should notice. Slack writes go through the paced writer.
 */
import type { Logger } from 'pino';
import type { Workflow, WorkflowRef } from '../publishing/model.ts';
import type { DocumentRow } from '../publishing/model.ts';
import type { LockService } from '../storage/types.ts';
import { cardChanges, changesReply, DELETED_REPLY } from './card-changes.ts';
import { createCardPoster } from './card-poster.ts';
import type { CardStore } from './card-store.ts';
import { renderCard, renderDeletedCard } from './render.ts';
import { CardMessageGoneError, type SlackWriter } from './slack-writer.ts';

export interface CardOutcome {
  posted: boolean;
  updated: boolean;
  replied: boolean;
  /** A pending link's grace period ends then: look at the card again. */
  wakeAt?: number | undefined;
}

const NOTHING: CardOutcome = { posted: false, updated: false, replied: false };

export function createCardReconciler(deps: {
  cards: CardStore;
  locks: LockService;
  writer: SlackWriter;
  vteamUrl?: string | undefined;
  /** How long a link that appeared in the CR waits for the publish path to announce it. */
  announceGraceMs: number;
  /** Checked before every write: only the leader writes. */
  mayWrite: () => boolean;
  logger?: Logger | undefined;
  now?: () => number;
}) {
  const { cards, locks, writer, logger } = deps;
  const now = deps.now ?? Date.now;
  const poster = createCardPoster({ cards, locks, vteamUrl: deps.vteamUrl });

  async function sync(channelId: string, workflow: Workflow, rows: DocumentRow[]): Promise<CardOutcome> {
    const record = await cards.get(channelId, workflow);
    if (!record || record.deleted) {
      const posted = await poster.postOnce(channelId, workflow, {
        rows: async () => rows,
        send: (card) => writer.post(channelId, card),
        mayPost: deps.mayWrite,
      });
      if (posted === 'busy') return NOTHING; // the publish path is posting it right now, or we no longer lead
      if (posted.created) return { ...NOTHING, posted: true };
      return sync(channelId, workflow, rows);
    }
    const card = renderCard(workflow, rows, deps.vteamUrl);
    const changes = cardChanges(record, rows, now(), deps.announceGraceMs);
    const reply = changesReply(changes);
    let updated = false;
    if (!deps.mayWrite()) return NOTHING;
    if (card.digest !== record.digest) {
      try {
        await writer.update(channelId, record.ts, card);
        updated = true;
      } catch (error) {
        if (!(error instanceof CardMessageGoneError)) throw error;
        logger?.info({ channelId, workflow: `${workflow.namespace}/${workflow.name}` }, 'the card message is gone; posting a new one');
        await cards.update(channelId, workflow, (current) => (current?.ts === record.ts ? { ...current, deleted: true } : undefined));
        return sync(channelId, workflow, rows);
      }
    }
    if (reply) await writer.post(channelId, reply, record.ts);
    await cards.update(channelId, workflow, (current) => {
      if (!current || current.ts !== record.ts) return undefined;
      // Links the publish path marked known meanwhile stay known; its claim wins over our pending list.
      const links = { ...changes.links };
      for (const [path, key] of Object.entries(current.links ?? {}))
        if (!(path in links) && !changes.removed.some((r) => r.path === path)) links[path] = key;
      const pendingLinks = Object.fromEntries(Object.entries(changes.pendingLinks).filter(([path, p]) => links[path] !== p.key));
      return { ...current, title: workflow.title, digest: card.digest, documents: changes.documents, links, pendingLinks };
    });
    return { posted: false, updated, replied: reply !== undefined, wakeAt: changes.wakeAt };
  }

  /** The workflow is gone: the card says so, and the thread gets one reply. */
  async function markDeleted(channelId: string, ref: WorkflowRef, title?: string): Promise<CardOutcome> {
    const record = await cards.get(channelId, ref);
    if (!record || record.deleted || !deps.mayWrite()) return NOTHING;
    const card = renderDeletedCard(ref, title ?? record.title);
    try {
      await writer.update(channelId, record.ts, card);
    } catch (error) {
      if (!(error instanceof CardMessageGoneError)) throw error;
    }
    await writer.post(channelId, DELETED_REPLY, record.ts);
    await cards.update(channelId, ref, (current) =>
      current?.ts === record.ts ? { ...current, deleted: true, digest: card.digest } : undefined,
    );
    return { posted: false, updated: true, replied: true };
  }

  return { sync, markDeleted };
}
