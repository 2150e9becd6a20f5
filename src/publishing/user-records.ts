import type { KeyValueStore } from '../storage/types.ts';
import { userKey, type JiraIssue, type PublishRequest, type SlackUserRef, type WorkflowRef } from './model.ts';

interface PendingRecord {
  request: PublishRequest;
  /** A batch waiting instead of a single publish: `request` then names the workflow, channel and reply target. */
  batch?: PendingBatch | undefined;
  createdAt: number;
}

/** Publish all, or Create issues from tasks of the document `path` (already confirmed). */
export type PendingBatch = { kind: 'all' } | { kind: 'tasks'; path: string };

export interface WaitingPublish {
  request: PublishRequest;
  batch?: PendingBatch | undefined;
  fresh: boolean;
}

/**
 * The publish a user asked for before their Atlassian account was linked. It resumes by itself after
 * the OAuth callback, if that comes within `maxAgeMs`; after that it is dropped with a note.
 */
export function createPendingPublishes(store: KeyValueStore, options: { maxAgeMs: number }) {
  const key = (user: SlackUserRef) => `pending-publish:${userKey(user)}`;
  return {
    maxAgeMs: options.maxAgeMs,
    save: (request: PublishRequest, batch?: PendingBatch) =>
      // Kept longer than it may resume, to tell the user it was dropped rather than forget silently.
      store.set<PendingRecord>(key(request.user), { request, batch, createdAt: Date.now() }, options.maxAgeMs * 4),
    async take(user: SlackUserRef): Promise<WaitingPublish | undefined> {
      const record = await store.get<PendingRecord>(key(user));
      if (!record) return undefined;
      // Only one callback may resume it, even with several replicas.
      if (!(await store.compareAndSwap(key(user), record, undefined))) return undefined;
      return { request: record.request, batch: record.batch, fresh: Date.now() - record.createdAt <= options.maxAgeMs };
    },
  };
}

export interface RecentPublish {
  workflow: WorkflowRef;
  title: string;
  path: string;
  issue: Pick<JiraIssue, 'key' | 'url'>;
  at: number;
}

const RECENT_LIMIT = 10;

/** The last few publishes of a user, for App Home. */
export function createPublishHistory(store: KeyValueStore) {
  const key = (user: SlackUserRef) => `recent-publishes:${userKey(user)}`;
  return {
    async add(user: SlackUserRef, entry: RecentPublish): Promise<void> {
      const list = (await store.get<RecentPublish[]>(key(user))) ?? [];
      await store.set(key(user), [entry, ...list.filter((e) => e.issue.key !== entry.issue.key)].slice(0, RECENT_LIMIT));
    },
    recent: async (user: SlackUserRef): Promise<RecentPublish[]> => (await store.get<RecentPublish[]>(key(user))) ?? [],
  };
}

export type PendingPublishes = ReturnType<typeof createPendingPublishes>;
export type PublishHistory = ReturnType<typeof createPublishHistory>;
