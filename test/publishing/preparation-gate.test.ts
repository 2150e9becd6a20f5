import { describe, expect, it } from 'vitest';
import { PreparationGate } from '../../src/publishing/preparation-gate.ts';

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PreparationGate', () => {
  it('lets `size` in at once and the next one in as soon as one leaves', async () => {
    const gate = new PreparationGate(2);
    const a = await gate.enter('U1');
    await gate.enter('U2');
    let thirdIn = false;
    const third = gate.enter('U3').then((leave) => ((thirdIn = true), leave));
    await settle();
    expect(thirdIn).toBe(false);
    expect(gate.load).toEqual({ inside: 2, waiting: 1 });
    a();
    a(); // leaving twice frees one place only
    await third;
    expect(gate.load).toEqual({ inside: 2, waiting: 0 });
  });

  it("lets waiters in round-robin by user: one user's many clicks do not hold back another's one", async () => {
    const gate = new PreparationGate(1);
    const first = await gate.enter('busy');
    const order: string[] = [];
    const waiters = [
      ...['busy-1', 'busy-2', 'busy-3'].map((name) => gate.enter('busy').then((leave) => ({ name, leave }))),
      gate.enter('other').then((leave) => ({ name: 'other', leave })),
    ];
    const admitted = waiters.map((w) =>
      w.then(({ name, leave }) => {
        order.push(name);
        leave();
      }),
    );
    first();
    await Promise.all(admitted);
    expect(order).toEqual(['busy-1', 'other', 'busy-2', 'busy-3']);
    expect(gate.load).toEqual({ inside: 0, waiting: 0 });
  });
});
