import type { KeyValueStore } from '../storage/types.ts';
import type { JiraIssue, ReplyTo, SlackUserRef, WorkflowRef } from './model.ts';
import { documentId } from './issue-content.ts';

/**
 * The write-ahead record of one publish, kept in the shared store from just before the Jira create
 * until the link is in the CR. It is what makes a crash recoverable without a duplicate:
 * - `creating`: the create may or may not have reached Jira (crash mid-call) → search by label first;
 * - `uncertain`: the create failed in a way that may still have created the issue → search, never re-create;
 * - `created`: Jira answered with a key → only the CR link is missing.
 */
export interface JournalEntry {
  v: 1;
  state: 'creating' | 'uncertain' | 'created';
  workflow: WorkflowRef;
  path: string;
  label: string;
  user: SlackUserRef;
  issueType?: string | undefined;
  /** The publish's placement (PublishRequest.hierarchy): a recovered create picks the same parent. */
  hierarchy?: boolean | undefined;
  replyTo: ReplyTo;
  issue?: JiraIssue | undefined;
  /** Recovery rounds that failed for a passing reason; bounded so a lasting fault is reported, not retried forever. */
  recoveryAttempts?: number | undefined;
  updatedAt: number;
}

const PREFIX = 'journal:';
/** Long enough for any recovery; short enough that abandoned records do not pile up. */
const RETENTION_MS = 7 * 24 * 3600 * 1000;

export function journalKey(ref: WorkflowRef, path: string): string {
  return `${PREFIX}${ref.namespace}/${ref.name}:${documentId(ref, path)}`;
}

export function createJournal(store: KeyValueStore) {
  return {
    get: (ref: WorkflowRef, path: string) => store.get<JournalEntry>(journalKey(ref, path)),
    put: (entry: Omit<JournalEntry, 'v' | 'updatedAt'>) =>
      store.set<JournalEntry>(journalKey(entry.workflow, entry.path), { ...entry, v: 1, updatedAt: Date.now() }, RETENTION_MS),
    remove: (ref: WorkflowRef, path: string) => store.delete(journalKey(ref, path)).then(() => undefined),
    async pending(): Promise<JournalEntry[]> {
      const keys = await store.keys(PREFIX);
      const entries = await Promise.all(keys.map((k) => store.get<JournalEntry>(k)));
      return entries.filter((e): e is JournalEntry => e?.v === 1);
    },
  };
}

export type Journal = ReturnType<typeof createJournal>;
