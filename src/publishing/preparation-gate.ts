/**
 * At most `size` publishes prepare at once: read the workflow and the document, write the in-flight
 * record, the part of a publish that uses this process's CPU rather than waiting on Jira. A burst of
 * clicks then reaches Jira's queue at the pace the process can prepare them, while the rest of the
 * process (Slack's acknowledgements above all) keeps its turn on the event loop. A publish leaves the
 * gate as soon as it waits on Jira, so the gate never holds a slot through Jira's latency. Waiters are
 * let in round-robin by user, as Jira's queue serves them: one user's forty clicks do not hold back
 * another user's one.
 */
import { FairQueue } from '../lib/fair-queue.ts';

export class PreparationGate {
  private readonly size: number;
  private inside = 0;
  private readonly waiting = new FairQueue<() => void>();

  constructor(size: number) {
    if (!(size >= 1)) throw new RangeError('a preparation gate needs room for at least one');
    this.size = size;
  }

  /** Resolves once there is room; the function it gives leaves the gate (calling it again does nothing). */
  async enter(lane: string): Promise<() => void> {
    if (this.inside < this.size) this.inside += 1;
    else await new Promise<void>((admit) => this.waiting.push(lane, admit));
    let left = false;
    return () => {
      if (left) return;
      left = true;
      // The place goes straight to the next waiter, so nobody slips in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.inside -= 1;
    };
  }

  /** Publishes preparing now, and waiting to. */
  get load(): { inside: number; waiting: number } {
    return { inside: this.inside, waiting: this.waiting.size };
  }
}
