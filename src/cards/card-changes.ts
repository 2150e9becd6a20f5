/**
 * What changed on a card since the channel last saw it, and the one short thread reply that tells it.
 * Pure: the reconciler supplies the stored record, the current rows and the clock.
 *
 * Links the bot publishes are announced by the publish path itself (its thread reply, and it marks
 * them as known in the record). A link that appears in the CR and is not known yet waits `graceMs`
 * (kept in the record as pending, so a new leader continues the wait) for the publish path to claim
 * it; only then is it announced here, as made outside this channel (vTeam UI, or a publish from
 * another bound channel). Removed and re-keyed links and new documents are told at once.
 */
import type { DocumentRow } from '../publishing/model.ts';
import { clip, clipMrkdwn, code, escapeMrkdwn, LIMITS, link } from '../slack/blocks/text.ts';
import type { CardRecord } from './card-store.ts';

export interface CardChanges {
  newDocuments: string[];
  announced: { path: string; key: string; url?: string | undefined }[];
  removed: { path: string; key: string }[];
  /** What the record should hold afterwards. */
  documents: string[];
  links: Record<string, string>;
  pendingLinks: Record<string, { key: string; since: number }>;
  /** When a pending link's grace ends (the card must be looked at again then). */
  wakeAt?: number | undefined;
}

export function cardChanges(record: CardRecord, rows: DocumentRow[], now: number, graceMs: number): CardChanges {
  const documents = rows.map((r) => r.path);
  const current = new Map(rows.filter((r) => r.jiraKey).map((r) => [r.path, r]));
  // Records from before cards tracked state: take the present as the baseline, say nothing.
  if (record.documents === undefined || record.links === undefined) {
    return {
      newDocuments: [],
      announced: [],
      removed: [],
      documents,
      links: Object.fromEntries([...current].map(([p, r]) => [p, r.jiraKey!])),
      pendingLinks: {},
    };
  }
  const seen = new Set(record.documents);
  const newDocuments = documents.filter((p) => !seen.has(p));

  const links = { ...record.links };
  const pendingLinks: CardChanges['pendingLinks'] = {};
  const announced: CardChanges['announced'] = [];
  const removed: CardChanges['removed'] = [];
  let wakeAt: number | undefined;
  for (const [path, key] of Object.entries(record.links)) {
    if (!current.has(path)) {
      removed.push({ path, key });
      delete links[path];
    }
  }
  for (const [path, row] of current) {
    const key = row.jiraKey!;
    if (links[path] === key) continue;
    const pending = record.pendingLinks?.[path];
    const since = pending?.key === key ? pending.since : now;
    if (now - since >= graceMs) {
      announced.push({ path, key, url: row.url });
      links[path] = key;
    } else {
      pendingLinks[path] = { key, since };
      wakeAt = Math.min(wakeAt ?? Infinity, since + graceMs);
    }
  }
  return { newDocuments, announced, removed, documents, links, pendingLinks, wakeAt };
}

/** One short reply for everything worth telling; undefined when nothing is. */
export function changesReply(changes: Pick<CardChanges, 'newDocuments' | 'announced' | 'removed'>): { text: string } | undefined {
  const lines: string[] = [];
  if (changes.newDocuments.length > 0) {
    lines.push(
      `:page_facing_up: New document${changes.newDocuments.length > 1 ? 's' : ''}: ${changes.newDocuments.map(shownPath).join(', ')}`,
    );
  }
  for (const l of changes.announced)
    lines.push(`:link: ${link(l.url, shownKey(l.key))} linked to ${shownPath(l.path)} outside this channel`);
  for (const l of changes.removed)
    lines.push(`:heavy_minus_sign: Link to ${escapeMrkdwn(shownKey(l.key))} removed from ${shownPath(l.path)}`);
  return lines.length > 0 ? { text: clipMrkdwn(lines.join('\n'), LIMITS.messageText) } : undefined;
}

// Paths and keys come from the CR (anyone who may edit it): shown escaped and of bounded length.
const shownPath = (path: string) => code(clip(path, 500));
const shownKey = (key: string) => clip(key, 100);

export const DELETED_REPLY = { text: ':wastebasket: Workflow deleted in vTeam.' };
