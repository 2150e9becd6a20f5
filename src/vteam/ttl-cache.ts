/**
 * A tiny read-through cache: each key is loaded at most once per TTL, concurrent readers share one
 * in-flight load, and failed loads are not cached (the next reader tries again).
 */
export interface TtlCache<T> {
  get(key: string, load: () => Promise<T>): Promise<T>;
  clear(): void;
}

export function createTtlCache<T>(ttlMs: number, now: () => number = Date.now): TtlCache<T> {
  const entries = new Map<string, { value: Promise<T>; expiresAt: number }>();
  return {
    get(key, load) {
      const entry = entries.get(key);
      if (entry && entry.expiresAt > now()) return entry.value;
      const value = load();
      if (ttlMs > 0) {
        entries.set(key, { value, expiresAt: now() + ttlMs });
        value.catch(() => {
          if (entries.get(key)?.value === value) entries.delete(key);
        });
      }
      return value;
    },
    clear: () => entries.clear(),
  };
}
