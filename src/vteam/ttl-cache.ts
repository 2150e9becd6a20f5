/**
 * A tiny read-through cache: each key is loaded at most once per TTL, concurrent readers share one
 * in-flight load, and failed loads are not cached (the next reader tries again). Past half its TTL a
 * value is reloaded in the background while it is still served, so steady traffic never waits for a
 * reload, and nothing served is older than the TTL.
 */
export interface TtlCache<T> {
  get(key: string, load: () => Promise<T>): Promise<T>;
  clear(): void;
}

interface Entry<T> {
  value: Promise<T>;
  /** When the load that produced `value` started. */
  loadedAt: number;
  refreshing: boolean;
}

export function createTtlCache<T>(ttlMs: number, now: () => number = Date.now): TtlCache<T> {
  const entries = new Map<string, Entry<T>>();

  function refresh(key: string, entry: Entry<T>, load: () => Promise<T>): void {
    entry.refreshing = true;
    const startedAt = now();
    const value = load();
    value.then(
      () => {
        if (entries.get(key) === entry) entries.set(key, { value, loadedAt: startedAt, refreshing: false });
      },
      // The current value is served until its TTL; the next reader past half-life tries again.
      () => {
        entry.refreshing = false;
      },
    );
  }

  return {
    get(key, load) {
      const entry = entries.get(key);
      const at = now();
      if (entry && at < entry.loadedAt + ttlMs) {
        if (!entry.refreshing && at >= entry.loadedAt + ttlMs / 2) refresh(key, entry, load);
        return entry.value;
      }
      const value = load();
      if (ttlMs > 0) {
        const fresh: Entry<T> = { value, loadedAt: at, refreshing: false };
        entries.set(key, fresh);
        value.catch(() => {
          if (entries.get(key) === fresh) entries.delete(key);
        });
      }
      return value;
    },
    clear: () => entries.clear(),
  };
}
