/**
 * Where a workflow card lives in a channel, and what the channel has been shown and told about it, in
 * the shared store. The publish path (card-threads.ts) and the card reconciler both post through
 * card-poster.ts, under the same keys and lock names, so whichever comes first posts the card and the
 * other reuses it.
 */
import type { WorkflowRef } from '../publishing/model.ts';
import type { KeyValueStore } from '../storage/types.ts';

export interface CardRecord {
  /** The card message; thread replies use it as thread_ts. */
  ts: string;
  /** Title at the last render (a deleted workflow's card is re-rendered from it). */
  title?: string | undefined;
  /** Hash of the last rendered card: unchanged → no chat.update. */
  digest?: string | undefined;
  /** Document paths the card showed at the last render; absent on records written before cards tracked them. */
  documents?: string[] | undefined;
  /** path → Jira key this channel has been told about (on the card when posted, or in a thread reply). */
  links?: Record<string, string> | undefined;
  /** Links seen in the CR but not announced yet: path → {key, since}; the publish path gets a grace period to claim them. */
  pendingLinks?: Record<string, { key: string; since: number }> | undefined;
  /** The workflow was deleted; the card stays for reference. A workflow recreated later gets a new card. */
  deleted?: boolean | undefined;
}

/** Slack channel ids are unique across a workspace (and an Enterprise Grid org), so no team in the key. */
export const cardKey = (channelId: string, ref: WorkflowRef) => `card:${channelId}:${ref.namespace}/${ref.name}`;
/** Held while a card is being posted, by either path, so it is posted once. */
export const cardLockName = (channelId: string, ref: WorkflowRef) => `lock:${cardKey(channelId, ref)}`;
const PREFIX = 'card:';
/** Before cards were keyed by channel alone: `card:<team>:<channel>:<ns>/<name>`. */
const LEGACY = /^card:([^:]+):([^:]+):([^:/]+)\/([^:/]+)$/;

export function createCardStore(store: KeyValueStore) {
  async function get(channelId: string, ref: WorkflowRef): Promise<CardRecord | undefined> {
    return store.get<CardRecord>(cardKey(channelId, ref));
  }

  /**
   * Read-modify-write with compare-and-swap, so the publish path (any replica) and the reconciler
   * (the leader) never lose each other's fields. `change` returns undefined to leave the record as is.
   */
  async function update(
    channelId: string,
    ref: WorkflowRef,
    change: (current: CardRecord | undefined) => CardRecord | undefined,
  ): Promise<CardRecord | undefined> {
    const key = cardKey(channelId, ref);
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await store.get<CardRecord>(key);
      const next = change(current);
      if (next === undefined) return current;
      const written = current === undefined ? await store.setIfAbsent(key, next) : await store.compareAndSwap(key, current, next);
      if (written) return next;
    }
    throw new Error(`could not update ${key}: too many concurrent writers`);
  }

  /** Every card as { channelId, ref, record }. */
  async function all(): Promise<{ channelId: string; ref: WorkflowRef; record: CardRecord }[]> {
    const keys = await store.keys(PREFIX);
    const found = await Promise.all(
      keys.map(async (key) => {
        const parsed = /^card:([^:]+):([^:/]+)\/([^:/]+)$/.exec(key);
        if (!parsed) return undefined;
        const record = await store.get<CardRecord>(key);
        return record ? { channelId: parsed[1]!, ref: { namespace: parsed[2]!, name: parsed[3]! }, record } : undefined;
      }),
    );
    return found.filter((c) => c !== undefined);
  }

  /** Moves records of the earlier `card:<team>:<channel>:…` scheme to the channel-only key (idempotent). */
  async function migrateLegacyKeys(): Promise<number> {
    let moved = 0;
    for (const key of await store.keys(PREFIX)) {
      const parsed = LEGACY.exec(key);
      if (!parsed) continue;
      const record = await store.get<CardRecord>(key);
      if (record && (await store.setIfAbsent(cardKey(parsed[2]!, { namespace: parsed[3]!, name: parsed[4]! }), record))) moved++;
      await store.delete(key);
    }
    return moved;
  }

  return { get, update, all, migrateLegacyKeys };
}

export type CardStore = ReturnType<typeof createCardStore>;
