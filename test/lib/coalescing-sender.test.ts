/**
 * CoalescingSender: the progress message of a batch is edited with the latest state only, at most
 * one edit in flight and at most one per interval. Fake timers drive the clock (Date.now included).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CoalescingSender } from '../../src/lib/coalescing-sender.ts';

const INTERVAL = 1000;

/** A send whose calls stay in flight until settled by the test; it tracks how many overlap. */
function controlledSend() {
  const sent: number[] = [];
  const pending: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const send = (value: number) => {
    sent.push(value);
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        inFlight -= 1;
      };
      pending.push({
        resolve: () => {
          done();
          resolve();
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
    });
  };
  return {
    send,
    sent,
    pending,
    mostInFlight: () => mostInFlight,
    /** Settles the oldest send in flight, then lets the sender react. */
    async finish(error?: unknown) {
      const next = pending.shift();
      if (!next) throw new Error('nothing in flight');
      if (error === undefined) next.resolve();
      else next.reject(error);
      await vi.advanceTimersByTimeAsync(0);
    },
  };
}

/** A send that completes at once. */
function instantSend() {
  const sent: number[] = [];
  /** Date.now (faked) at each send's start. */
  const at: number[] = [];
  return {
    sent,
    at,
    send: async (value: number) => {
      sent.push(value);
      at.push(Date.now());
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CoalescingSender', () => {
  it('sends the first value at once', () => {
    const s = instantSend();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError: () => undefined });
    sender.push(1);
    expect(s.sent).toEqual([1]);
  });

  it('coalesces a burst into one more send per interval, carrying the latest value', async () => {
    const s = instantSend();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError: () => undefined });
    for (let value = 1; value <= 25; value++) sender.push(value);
    await vi.advanceTimersByTimeAsync(INTERVAL - 1);
    expect(s.sent).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.sent).toEqual([1, 25]);
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(s.sent).toEqual([1, 25]);
  });

  it('spaces the starts of sends by the interval, however the pushes arrive', async () => {
    const s = instantSend();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError: () => undefined });
    for (let step = 0; step < 50; step++) {
      sender.push(step);
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.advanceTimersByTimeAsync(INTERVAL);
    // 5 s of pushes every 100 ms: one send per second, the last value last.
    expect(s.sent.length).toBeLessThanOrEqual(6);
    expect(s.sent.at(-1)).toBe(49);
    for (let i = 1; i < s.at.length; i++) expect(s.at[i]! - s.at[i - 1]!).toBeGreaterThanOrEqual(INTERVAL);
    expect(s.sent).toEqual([...s.sent].sort((a, b) => a - b));
  });

  it('sends again right away once the interval has passed', async () => {
    const s = instantSend();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError: () => undefined });
    sender.push(1);
    await vi.advanceTimersByTimeAsync(INTERVAL * 3);
    sender.push(2);
    expect(s.sent).toEqual([1, 2]);
  });

  it('never has two sends in flight, and sends the latest value once the slow one ends', async () => {
    const s = controlledSend();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError: () => undefined });
    sender.push(1);
    await vi.advanceTimersByTimeAsync(INTERVAL * 5); // the first edit hangs well past the interval
    sender.push(2);
    sender.push(3);
    await vi.advanceTimersByTimeAsync(INTERVAL * 5);
    expect(s.sent).toEqual([1]);
    await s.finish();
    expect(s.sent).toEqual([1, 3]);
    await s.finish();
    expect(s.mostInFlight()).toBe(1);
  });

  it('close() waits for the send in flight, drops what was waiting, then sends the final value', async () => {
    const s = controlledSend();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError: () => undefined });
    sender.push(1);
    sender.push(2);
    let closed = false;
    const closing = sender.close(25).then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(s.sent).toEqual([1]);
    await s.finish();
    expect(s.sent).toEqual([1, 25]);
    expect(closed).toBe(false); // the final send is still in flight
    await s.finish();
    await closing;
    expect(closed).toBe(true);
    expect(s.mostInFlight()).toBe(1);
    // Nothing is sent after close, even when pushed or when the interval passes.
    sender.push(26);
    await vi.advanceTimersByTimeAsync(INTERVAL * 5);
    expect(s.sent).toEqual([1, 25]);
  });

  it('close() with a value waiting on the interval sends only the final value', async () => {
    const s = instantSend();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError: () => undefined });
    sender.push(1);
    sender.push(2);
    await vi.advanceTimersByTimeAsync(0);
    await sender.close(3);
    await vi.advanceTimersByTimeAsync(INTERVAL * 5);
    expect(s.sent).toEqual([1, 3]);
  });

  it('close() without any push sends the final value', async () => {
    const s = instantSend();
    await new CoalescingSender(s.send, { intervalMs: INTERVAL, onError: () => undefined }).close(0);
    expect(s.sent).toEqual([0]);
  });

  it('reports a failed send to onError and keeps sending later values', async () => {
    const s = controlledSend();
    const onError = vi.fn();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError });
    sender.push(1);
    const failure = new Error('message_not_found');
    await s.finish(failure);
    expect(onError).toHaveBeenCalledExactlyOnceWith(failure);
    sender.push(2);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(s.sent).toEqual([1, 2]);
    await s.finish();
    sender.push(3);
    const closing = sender.close(4);
    await vi.advanceTimersByTimeAsync(0);
    await s.finish();
    await closing;
    expect(s.sent).toEqual([1, 2, 4]);
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it('close() waits for a failing send in flight, then sends the final value', async () => {
    const s = controlledSend();
    const onError = vi.fn();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError });
    sender.push(1);
    const closing = sender.close(2);
    await s.finish(new Error('ratelimited'));
    expect(s.sent).toEqual([1, 2]);
    await s.finish();
    await closing;
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it("close() throws the final send's failure to its caller", async () => {
    const sender = new CoalescingSender(() => Promise.reject(new Error('channel_not_found')), {
      intervalMs: INTERVAL,
      onError: () => undefined,
    });
    await expect(sender.close(1)).rejects.toThrow('channel_not_found');
  });

  it('takes its clock from `now` when given', async () => {
    let now = 0;
    const s = instantSend();
    const sender = new CoalescingSender(s.send, { intervalMs: INTERVAL, onError: () => undefined, now: () => now });
    sender.push(1);
    await vi.advanceTimersByTimeAsync(0);
    now = INTERVAL; // the injected clock says the interval is over, though no timer has fired
    await vi.advanceTimersByTimeAsync(0);
    sender.push(2);
    expect(s.sent).toEqual([1, 2]);
  });
});
