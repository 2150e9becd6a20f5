/**
 * Precise "it appeared in Slack" times. The fake Slack records calls in arrays and offers a 25 ms
 * polling waitFor; for wall-time measurement the bench hooks those arrays' push instead, so the
 * moment a call is recorded is observed synchronously, with no polling error and no polling load.
 */
import type { FakeSlack, ResponseUrlPost, SlackCall } from '../test/support/fake-slack.ts';

export type SlackEvent = { kind: 'call'; call: SlackCall; at: number } | { kind: 'response'; response: ResponseUrlPost; at: number };
type Listener = (event: SlackEvent) => void;

export interface SlackObserver {
  /** Resolves with the time (performance.now()) of the first call or response matching `predicate`. */
  next(predicate: (event: SlackEvent) => boolean, timeoutMs?: number): Promise<number>;
  detach(): void;
}

export function observeSlack(slack: FakeSlack): SlackObserver {
  const listeners = new Set<Listener>();
  const calls = slack.calls as SlackCall[] & { push: (...items: SlackCall[]) => number };
  const responses = slack.responses as ResponseUrlPost[] & { push: (...items: ResponseUrlPost[]) => number };
  calls.push = function push(...items: SlackCall[]): number {
    const length = Array.prototype.push.apply(this, items);
    const at = performance.now();
    for (const call of items) for (const listener of [...listeners]) listener({ kind: 'call', call, at });
    return length;
  };
  responses.push = function push(...items: ResponseUrlPost[]): number {
    const length = Array.prototype.push.apply(this, items);
    const at = performance.now();
    for (const response of items) for (const listener of [...listeners]) listener({ kind: 'response', response, at });
    return length;
  };
  return {
    next(predicate, timeoutMs = 30_000) {
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`no matching Slack message within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener: Listener = (event) => {
          if (!predicate(event)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(event.at);
        };
        listeners.add(listener);
      });
    },
    detach() {
      listeners.clear();
      delete (calls as Partial<typeof calls>).push;
      delete (responses as Partial<typeof responses>).push;
    },
  };
}
