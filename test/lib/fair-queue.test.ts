import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../src/lib/fair-queue.ts';

function drain<T>(queue: FairQueue<T>): T[] {
  const out: T[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item);
  return out;
}

describe('FairQueue', () => {
  it('serves users round-robin, so a late user is not stuck behind an early flood', () => {
    const queue = new FairQueue<string>();
    for (let i = 1; i <= 5; i += 1) queue.push('A', `a${i}`);
    queue.push('B', 'b1');
    queue.push('C', 'c1');
    queue.push('C', 'c2');
    expect(queue.size).toBe(8);
    expect(drain(queue)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3', 'a4', 'a5']);
    expect(queue.size).toBe(0);
  });

  it('predicts each item’s position in that order', () => {
    const queue = new FairQueue<string>();
    for (const item of ['a1', 'a2', 'a3']) queue.push('A', item);
    queue.push('B', 'b1');
    const positions = queue.positions();
    expect(Object.fromEntries(positions)).toEqual({ a1: 1, b1: 2, a2: 3, a3: 4 });
    expect(drain(queue)).toEqual(['a1', 'b1', 'a2', 'a3']);
  });

  it('puts a retried item back at the very front', () => {
    const queue = new FairQueue<string>();
    queue.push('A', 'a1');
    queue.push('B', 'b1');
    queue.unshift('B', 'b0');
    expect(drain(queue)).toEqual(['b0', 'a1', 'b1']);
  });

  it('removes selected items and keeps the count right', () => {
    const queue = new FairQueue<number>();
    for (let i = 0; i < 6; i += 1) queue.push(i % 2 === 0 ? 'even' : 'odd', i);
    expect(queue.removeWhere((n) => n > 2).sort()).toEqual([3, 4, 5]);
    expect(queue.size).toBe(3);
    expect(drain(queue)).toEqual([0, 1, 2]);
  });
});
