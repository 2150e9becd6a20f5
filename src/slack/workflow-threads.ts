import { setTimeout as sleep } from 'node:timers/promises';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Workflow } from '../publishing/model.ts';
import type { DocumentRow } from '../publishing/publish-service.ts';
import type { KeyValueStore, LockService } from '../storage/types.ts';
import { workflowCard } from './blocks/documents.ts';

export interface ThreadTarget {
  teamId: string;
  channelId: string;
}

interface CardRecord {
  ts: string;
}

/**
 * One parent message (card) per workflow per channel, created on first need; its `ts` lives in the
 * shared store so restarts and other replicas reply in the same thread instead of reposting.
 */
export function createWorkflowThreads(deps: {
  client: WebClient;
  store: KeyValueStore;
  locks: LockService;
  logger: Logger;
  rowsOf: (workflow: Workflow) => Promise<DocumentRow[]>;
  vteamUrl?: string | undefined;
}) {
  const { client, store, locks, logger } = deps;
  const keyOf = (t: ThreadTarget, w: Workflow) => `card:${t.teamId}:${t.channelId}:${w.namespace}/${w.name}`;

  async function render(workflow: Workflow) {
    const rows = await deps.rowsOf(workflow).catch((error: unknown) => {
      // A card without rows is better than no thread at all.
      logger.warn({ err: error, workflow: workflow.name }, 'could not list documents for the card');
      return [] as DocumentRow[];
    });
    return workflowCard(workflow, rows, deps.vteamUrl);
  }

  /** The thread's parent ts, posting the card if the channel has none yet. */
  async function ensure(target: ThreadTarget, workflow: Workflow): Promise<{ ts: string; created: boolean }> {
    const key = keyOf(target, workflow);
    for (let attempt = 0; attempt < 50; attempt++) {
      const existing = await store.get<CardRecord>(key);
      if (existing) return { ts: existing.ts, created: false };
      const result = await locks.withLock(`lock:${key}`, 15_000, async () => {
        const again = await store.get<CardRecord>(key);
        if (again) return { ts: again.ts, created: false };
        const card = await render(workflow);
        const posted = await client.chat.postMessage({ channel: target.channelId, text: card.text, blocks: card.blocks, unfurl_links: false });
        if (!posted.ts) throw new Error('chat.postMessage returned no ts');
        await store.set<CardRecord>(key, { ts: posted.ts });
        return { ts: posted.ts, created: true };
      });
      if (result.acquired) return result.value;
      await sleep(100); // another request is posting the card right now
    }
    throw new Error('timed out waiting for the workflow card to be posted');
  }

  /** Re-render the card (links and buttons) after a change; no-op when the channel has none. */
  async function refresh(target: ThreadTarget, workflow: Workflow): Promise<void> {
    const existing = await store.get<CardRecord>(keyOf(target, workflow));
    if (!existing) return;
    const card = await render(workflow);
    await client.chat.update({ channel: target.channelId, ts: existing.ts, text: card.text, blocks: card.blocks });
  }

  return { ensure, refresh, render };
}

export type WorkflowThreads = ReturnType<typeof createWorkflowThreads>;
