import { describe, expect, it } from 'vitest';
import { TurnStarter } from '../../src/lib/turn-starter.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnStarter', () => {
  it('starts deferred work in order, a few per event-loop turn, never in the caller', async () => {
    const starter = new TurnStarter(2);
    const started: number[] = [];
    for (let i = 1; i <= 5; i++) starter.defer(() => started.push(i));
    expect(started).toEqual([]);
    expect(starter.waiting).toBe(5);
    await nextTurn();
    expect(started).toEqual([1, 2]);
    await nextTurn();
    expect(started).toEqual([1, 2, 3, 4]);
    await nextTurn();
    expect(started).toEqual([1, 2, 3, 4, 5]);
    expect(starter.waiting).toBe(0);
  });

  it('lets a timer that fell due during one piece of work run before the next piece', async () => {
    const starter = new TurnStarter(1);
    const events: string[] = [];
    let timerRan!: Promise<void>;
    const busy = (name: string) => () => {
      const until = performance.now() + 3;
      while (performance.now() < until);
      events.push(name);
    };
    starter.defer(() => {
      timerRan = new Promise<void>((resolve) => setTimeout(() => resolve(void events.push('timer')), 0));
      busy('a')();
    });
    for (const name of ['b', 'c', 'd']) starter.defer(busy(name));
    while (starter.waiting > 0) await nextTurn();
    await timerRan;
    // All four in one check phase would give a, b, c, d, timer.
    expect(events).toEqual(['a', 'timer', 'b', 'c', 'd']);
  });

  it('starts again after running dry', async () => {
    const starter = new TurnStarter();
    const started: string[] = [];
    starter.defer(() => started.push('first'));
    await nextTurn();
    starter.defer(() => started.push('second'));
    await nextTurn();
    expect(started).toEqual(['first', 'second']);
  });
});
