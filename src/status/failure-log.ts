/**
 * The last publish failures, shared by every replica through the store (one capped list under one
 * key, appended with compare-and-swap), so `/vteam jira-status` shows the same history wherever it
 * runs. Best effort by design: recording never fails or slows the publish that failed.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { KeyValueStore } from '../storage/types.ts';
import { scrub } from './probe.ts';

export interface PublishFailure {
  /** An ErrorCode (`MCP_UNREACHABLE`, `AUTH_EXPIRED`, …). */
  code: string;
  /** The user-facing message; it is clipped and scrubbed again before storing. */
  message: string;
  /** Epoch ms. */
  at: number;
  /** `namespace/name` of the workflow, when known. */
  workflow?: string | undefined;
  path?: string | undefined;
  /** Slack user id of who asked, so they can see their own failures wherever they ask. */
  user?: string | undefined;
}

export interface FailureLog {
  record(failure: PublishFailure): Promise<void>;
  /** Newest first, at most `n`; with `include`, only the entries it accepts (filtered before counting). */
  recent(n: number, include?: (failure: PublishFailure) => boolean): Promise<PublishFailure[]>;
}

export interface FailureLogOptions {
  logger?: Logger | undefined;
  /** Entries kept. Default 50. */
  capacity?: number;
  /** Entries older than this are dropped. Default 7 days. */
  maxAgeMs?: number;
  now?: () => number;
}

const KEY = 'status:publish-failures';
/** Compare-and-swap rounds before giving up; with jitter, enough for a burst of failing publishes. */
const ATTEMPTS = 16;

const entrySchema = z.object({
  code: z.string().max(64),
  message: z.string().max(400),
  at: z.number(),
  workflow: z.string().max(300).optional(),
  path: z.string().max(300).optional(),
  user: z.string().max(64).optional(),
});

export function createFailureLog(store: KeyValueStore, options: FailureLogOptions = {}): FailureLog {
  const capacity = options.capacity ?? 50;
  const maxAgeMs = options.maxAgeMs ?? 7 * 24 * 3600 * 1000;
  const now = options.now ?? Date.now;

  const fresh = (entries: PublishFailure[]) => entries.filter((entry) => entry.at >= now() - maxAgeMs);

  async function read(): Promise<PublishFailure[] | undefined> {
    const raw = await store.get<unknown>(KEY);
    return raw === undefined ? undefined : parseEntries(raw);
  }

  // One writer per process: failures that arrive while a write is under way go together in the next
  // one, so a burst costs a few compare-and-swaps instead of one contended round each.
  let waiting: { entry: PublishFailure; done: () => void }[] = [];
  let writing: Promise<void> | undefined;

  async function append(entries: PublishFailure[]): Promise<void> {
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
        const current = await store.get<unknown>(KEY);
        if (current === undefined) {
          if (await store.setIfAbsent(KEY, entries.slice(0, capacity))) return;
          continue;
        }
        const next = [...entries, ...fresh(parseEntries(current))].slice(0, capacity);
        if (await store.compareAndSwap(KEY, current, next)) return;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
      }
      options.logger?.debug({ codes: entries.map((e) => e.code) }, 'publish failures not recorded: the failure log was busy');
    } catch (error) {
      options.logger?.warn({ err: error, codes: entries.map((e) => e.code) }, 'could not record publish failures');
    }
  }

  async function drain(): Promise<void> {
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      // Newest first, as the list is kept.
      await append(batch.map((w) => w.entry).reverse());
      for (const w of batch) w.done();
    }
    writing = undefined;
  }

  return {
    record(failure) {
      const entry = sanitize(failure);
      return new Promise<void>((resolve) => {
        waiting.push({ entry, done: resolve });
        writing ??= drain();
      });
    },
    async recent(n, include = () => true) {
      const entries = fresh((await read()) ?? []).filter(include);
      return entries.sort((a, b) => b.at - a.at).slice(0, Math.max(0, n));
    },
  };
}

/** Whatever was stored, only the valid entries survive (the store is shared; trust nothing). */
function parseEntries(raw: unknown): PublishFailure[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item) => {
    const parsed = entrySchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

function sanitize(failure: PublishFailure): PublishFailure {
  const entry: PublishFailure = {
    code: scrub(String(failure.code), 64) || 'UNKNOWN',
    message: scrub(String(failure.message), 400),
    at: Number.isFinite(failure.at) ? failure.at : Date.now(),
  };
  if (failure.workflow !== undefined) entry.workflow = scrub(String(failure.workflow), 300);
  if (failure.path !== undefined) entry.path = scrub(String(failure.path), 300);
  if (failure.user !== undefined) entry.user = scrub(String(failure.user), 64);
  return entry;
}
