/**
 * A round-robin queue over lanes (one lane per user): `shift` takes the oldest item of the lane
 * whose turn it is, then moves that lane to the back. One user's hundred clicks therefore wait
 * behind everyone else's first click instead of in front of them. Pure data structure.
 */
export class FairQueue<T> {
  /** Map order is the rotation order: the first lane is served next. */
  private readonly lanes = new Map<string, T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(lane: string, item: T): void {
    const items = this.lanes.get(lane);
    if (items === undefined) this.lanes.set(lane, [item]);
    else items.push(item);
    this.count += 1;
  }

  /** Puts an item back at the very front (its lane served next), e.g. a call retried after a 429. */
  unshift(lane: string, item: T): void {
    const items = this.lanes.get(lane) ?? [];
    items.unshift(item);
    const rest = [...this.lanes].filter(([name]) => name !== lane);
    this.lanes.clear();
    this.lanes.set(lane, items);
    for (const [name, queued] of rest) this.lanes.set(name, queued);
    this.count += 1;
  }

  shift(): T | undefined {
    const first = this.lanes.entries().next();
    if (first.done === true) return undefined;
    const [lane, items] = first.value;
    const item = items.shift();
    this.lanes.delete(lane);
    if (items.length > 0) this.lanes.set(lane, items);
    if (item !== undefined) this.count -= 1;
    return item;
  }

  /** Removes every item `drop` selects (e.g. calls whose wait has run out); returns them. */
  removeWhere(drop: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const [lane, items] of [...this.lanes]) {
      const kept = items.filter((item) => {
        if (!drop(item)) return true;
        removed.push(item);
        return false;
      });
      if (kept.length > 0) this.lanes.set(lane, kept);
      else this.lanes.delete(lane);
    }
    this.count -= removed.length;
    return removed;
  }

  /** Each item's place in the order `shift` will serve them, from 1, if nothing else arrives. */
  positions(): Map<T, number> {
    const positions = new Map<T, number>();
    const lanes = [...this.lanes.values()];
    const rounds = Math.max(0, ...lanes.map((items) => items.length));
    let position = 0;
    for (let round = 0; round < rounds; round += 1) {
      for (const items of lanes) {
        const item = items[round];
        if (item !== undefined) positions.set(item, ++position);
      }
    }
    return positions;
  }
}
