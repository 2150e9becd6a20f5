/**
 * How values are laid out in the backend, shared by the Keyv path (get/set/delete) and the native
 * atomic operations (setIfAbsent, compareAndSwap), so both views read and write the same bytes.
 *
 * A stored value is plain JSON of the value, nothing else. Keyv's own envelope (`{value, expires}`)
 * is deliberately not used: expiry is kept by the backend alone (SQLite `expires` column, Redis PX),
 * so there is a single clock and a single source of truth, and Lua can compare values directly.
 */
import type { Deserialize, Serialize } from 'keyv';

export function encodeValue(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('Cannot store undefined (or a function/symbol); use delete() instead.');
  return json;
}

export function decodeValue(raw: string): unknown {
  return JSON.parse(raw) as unknown;
}

/** Deep JSON equality: what survives JSON.stringify, with object keys in any order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value === undefined ? null : JSON.parse(encodeValue(value)), (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}

/** Keyv (de)serializers that store the bare value; see the module comment. */
export const serialize: Serialize = (data) => encodeValue(data.value);
export const deserialize: Deserialize = (raw) => ({ value: decodeValue(raw) as never });

/** Validates a TTL from the contract (milliseconds, positive) and rounds it for the backends. */
export function ttlOrUndefined(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}
