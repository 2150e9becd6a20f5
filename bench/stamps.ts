/**
 * Arrival times of what the fakes record. The fakes keep plain arrays of requests; hooking each array's
 * push gives the bench process's clock (the same performance.now() the requests were sent with) for
 * every recorded request, without changing the fakes.
 */
export interface Stamps<T> {
  at(item: T): number | undefined;
  detach(): void;
}

export function stampPushes<T extends object>(array: T[]): Stamps<T> {
  const times = new WeakMap<T, number>();
  const hooked = array as T[] & { push: (...items: T[]) => number };
  const previous = Object.prototype.hasOwnProperty.call(array, 'push') ? hooked.push : undefined;
  hooked.push = function push(...items: T[]): number {
    const now = performance.now();
    for (const item of items) times.set(item, now);
    return previous ? previous.apply(this, items) : Array.prototype.push.apply(this, items);
  };
  return {
    at: (item) => times.get(item),
    detach() {
      if (previous) hooked.push = previous;
      else delete (hooked as Partial<typeof hooked>).push;
    },
  };
}
