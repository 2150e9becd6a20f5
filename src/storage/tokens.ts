/**
 * Users' Atlassian links, encrypted at rest. Keyed by Slack organisation (Enterprise Grid) or
 * workspace, and user. The whole link is one AES-GCM envelope bound to its storage key, so the
 * stored value holds no token text and cannot be moved to another user's record.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { sameJson } from './codec.ts';
import { decrypt, encrypt, type KeyRing } from './crypto.ts';
import type { AtlassianLink, KeyValueStore } from './types.ts';

/**
 * Whose link: a Slack user, qualified by workspace and (Enterprise Grid) organisation. The shape of
 * publishing's LinkOwner, declared here so the store stays below the use case.
 */
export interface LinkOwner {
  teamId: string;
  enterpriseId?: string | undefined;
  userId: string;
}

export interface TokenStore {
  get(user: LinkOwner): Promise<AtlassianLink | undefined>;
  /** The link with the exact record it was read from, for a later `replaceIfUnchanged`. */
  read(user: LinkOwner): Promise<StoredLink | undefined>;
  put(user: LinkOwner, link: AtlassianLink): Promise<void>;
  /**
   * Writes `next` only while the stored record is still `previous` (compare-and-swap), so a link
   * deleted (disconnect) or rewritten (relink) meanwhile, by any process, is left as it is. A
   * retry of a write that did land (its answer was lost) counts as replaced.
   */
  replaceIfUnchanged(user: LinkOwner, previous: StoredRecord, next: AtlassianLink): Promise<ReplaceResult>;
  delete(user: LinkOwner): Promise<boolean>;
}

declare const storedRecord: unique symbol;
/** A stored record as read: the encrypted envelope (no token text), opaque to callers. */
export type StoredRecord = string & { readonly [storedRecord]: true };
export interface StoredLink {
  link: AtlassianLink;
  record: StoredRecord;
}
/** `current` is the link stored now (undefined when unreadable). */
export type ReplaceResult = { outcome: 'replaced' } | { outcome: 'deleted' } | { outcome: 'changed'; current: AtlassianLink | undefined };

const linkSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().optional(),
  expiresAt: z.number().optional(),
  scope: z.string().optional(),
  cloudId: z.string().optional(),
  sites: z.array(z.object({ id: z.string(), url: z.string(), name: z.string() })).optional(),
  accountName: z.string().optional(),
  linkedAt: z.number(),
  broken: z.boolean().optional(),
});

/** `atlassian-link:enterprise/E1/U1` or `atlassian-link:team/T1/U1`. */
export function tokenKey(user: LinkOwner): string {
  const scope = user.enterpriseId ? `enterprise/${user.enterpriseId}` : `team/${user.teamId}`;
  return `atlassian-link:${scope}/${user.userId}`;
}

/** Links kept decrypted in memory (the process holds them in memory anyway while it uses them). */
const OPENED_MAX = 500;

export function createTokenStore(store: KeyValueStore, ring: KeyRing, options: { logger?: Logger } = {}): TokenStore {
  const { logger } = options;
  const opened = new Map<string, AtlassianLink>();
  const seal = (link: AtlassianLink, key: string) => encrypt(ring, JSON.stringify(linkSchema.parse(link)), key);

  async function read(user: LinkOwner): Promise<StoredLink | undefined> {
    const key = tokenKey(user);
    const envelope = await store.get<unknown>(key);
    if (envelope === undefined) return undefined;
    const reason = unreadable(envelope, key);
    if (typeof reason !== 'string') return { link: reason.link, record: envelope as StoredRecord };
    // Lost or rotated-out key, or damaged data: the user relinks rather than the app failing.
    logger?.warn(
      { teamId: user.teamId, enterpriseId: user.enterpriseId, userId: user.userId, reason },
      'Stored Atlassian link cannot be read; treating the user as not linked',
    );
    return undefined;
  }

  return {
    get: async (user) => (await read(user))?.link,
    read,
    async put(user, link) {
      const key = tokenKey(user);
      await store.set(key, seal(link, key));
    },
    async replaceIfUnchanged(user, previous, next) {
      const key = tokenKey(user);
      if (await store.compareAndSwap(key, previous, seal(next, key))) return { outcome: 'replaced' };
      const envelope = await store.get<unknown>(key);
      if (envelope === undefined) return { outcome: 'deleted' };
      const found = unreadable(envelope, key);
      const current = typeof found === 'string' ? undefined : found.link;
      // Encryption is randomised, so an earlier attempt that landed is recognised by its plaintext.
      if (current !== undefined && sameJson(current, linkSchema.parse(next))) return { outcome: 'replaced' };
      return { outcome: 'changed', current };
    },
    delete: (user) => store.delete(tokenKey(user)),
  };

  /** The link, or why it cannot be read (a reason that never quotes the secret data). */
  function unreadable(envelope: unknown, key: string): { link: AtlassianLink } | string {
    if (typeof envelope !== 'string') return 'stored value is not an encrypted envelope';
    // Every publish reads its user's link more than once; the same envelope under the same key always
    // opens to the same link, so it is decrypted and validated once.
    const memo = `${key}\n${envelope}`;
    const known = opened.get(memo);
    if (known !== undefined) return { link: structuredClone(known) };
    const result = open(envelope, key);
    if (typeof result !== 'string') {
      opened.set(memo, structuredClone(result.link));
      if (opened.size > OPENED_MAX) opened.delete(opened.keys().next().value!);
    }
    return result;
  }

  function open(envelope: string, key: string): { link: AtlassianLink } | string {
    let plaintext: string;
    try {
      plaintext = decrypt(ring, envelope, key);
    } catch (error) {
      return (error as Error).message;
    }
    try {
      return { link: linkSchema.parse(JSON.parse(plaintext)) };
    } catch {
      return 'decrypted value is not a valid link';
    }
  }
}
