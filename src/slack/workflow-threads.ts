import { setTimeout as sleep } from 'node:timers/promises';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { cardLockName, createCardStore, type CardRecord } from '../cards/card-store.ts';
import { linkMap, renderCard } from '../cards/render.ts';
import type { Workflow } from '../publishing/model.ts';
import type { DocumentRow } from '../publishing/model.ts';
import type { KeyValueStore, LockService } from '../storage/types.ts';

export interface ThreadTarget {
  teamId: string;
  channelId: string;
}

/**
 * The publish path's side of the workflow cards: one parent message (card) per workflow per channel,
 * created on first need; its `ts` lives in the shared store (cards/card-store.ts, the same record the
 * card reconciler keeps) so restarts and other replicas reply in the same thread instead of reposting.
 * Whatever this path replies about (a publish, an update) is marked as known on the record, so the
 * reconciler does not announce the same link a second time.
 */
export function createWorkflowThreads(deps: {
  client: WebClient;
  store: KeyValueStore;
  locks: LockService;
  logger: Logger;
  rowsOf: (workflow: Workflow) => Promise<DocumentRow[]>;
  vteamUrl?: string | undefined;
}) {
  const { client, locks, logger } = deps;
  const cards = createCardStore(deps.store);

  async function rows(workflow: Workflow): Promise<DocumentRow[]> {
    return deps.rowsOf(workflow).catch((error: unknown) => {
      // A card without rows is better than no thread at all.
      logger.warn({ err: error, workflow: workflow.name }, 'could not list documents for the card');
      return [] as DocumentRow[];
    });
  }

  async function render(workflow: Workflow) {
    return renderCard(workflow, await rows(workflow), deps.vteamUrl);
  }

  /** The workflow's links are on the card and in this thread now: the reconciler must not announce them. */
  async function markLinksKnown(target: ThreadTarget, workflow: Workflow): Promise<void> {
    const links = linkMap(workflow);
    await cards.update(target.channelId, workflow, (current) => {
      // Records without tracked links get their baseline from the reconciler.
      if (!current?.links) return undefined;
      if (Object.entries(links).every(([path, key]) => current.links![path] === key)) return undefined;
      const pendingLinks = Object.fromEntries(Object.entries(current.pendingLinks ?? {}).filter(([path]) => links[path] === undefined));
      return { ...current, links: { ...current.links, ...links }, pendingLinks };
    });
  }

  /** The thread's parent ts, posting the card if the channel has none yet. */
  async function ensure(target: ThreadTarget, workflow: Workflow): Promise<{ ts: string; created: boolean }> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const existing = await cards.get(target.channelId, workflow);
      if (existing && !existing.deleted) {
        await markLinksKnown(target, workflow);
        return { ts: existing.ts, created: false };
      }
      const result = await locks.withLock(cardLockName(target.channelId, workflow), 15_000, async () => {
        const again = await cards.get(target.channelId, workflow);
        if (again && !again.deleted) return { ts: again.ts, created: false };
        const documents = await rows(workflow);
        const card = renderCard(workflow, documents, deps.vteamUrl);
        const posted = await client.chat.postMessage({ channel: target.channelId, text: card.text, blocks: card.blocks, unfurl_links: false });
        if (!posted.ts) throw new Error('chat.postMessage returned no ts');
        const record: CardRecord = { ts: posted.ts, title: workflow.title, digest: card.digest, documents: documents.map((d) => d.path), links: linkMap(workflow) };
        await cards.update(target.channelId, workflow, () => record);
        return { ts: posted.ts, created: true };
      });
      if (result.acquired) {
        if (!result.value.created) await markLinksKnown(target, workflow);
        return result.value;
      }
      await sleep(100); // another request (or the card reconciler) is posting the card right now
    }
    throw new Error('timed out waiting for the workflow card to be posted');
  }

  return { ensure, render };
}

export type WorkflowThreads = ReturnType<typeof createWorkflowThreads>;
