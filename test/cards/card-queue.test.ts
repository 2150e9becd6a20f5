import { describe, expect, it } from 'vitest';
import { CardQueue } from '../../src/cards/card-queue.ts';

const drain = (queue: CardQueue) => {
  const keys: string[] = [];
  for (let key = queue.take(); key !== undefined; key = queue.take()) keys.push(key);
  return keys;
};

describe('card queue', () => {
  it('looks at each workflow once, changes before sweeps, each lane in arrival order', () => {
    const queue = new CardQueue();
    for (const key of ['a', 'b', 'c', 'b']) queue.add(key, 'sweep');
    queue.add('d', 'change');
    queue.add('c', 'change'); // a change to a workflow already waiting in the sweep moves it ahead
    queue.add('d', 'sweep'); // …and a sweep does not move a change back
    expect(queue.size).toBe(4);
    expect(drain(queue)).toEqual(['d', 'c', 'a', 'b']);
    expect(queue.size).toBe(0);
  });

  it('clears both lanes', () => {
    const queue = new CardQueue();
    queue.add('a', 'sweep');
    queue.add('b', 'change');
    queue.clear();
    expect(queue.take()).toBeUndefined();
  });
});
