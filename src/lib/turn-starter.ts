/**
 * Starts deferred work a few pieces per event-loop turn, in the check phase (setImmediate).
 *
 * Work started after an acknowledgement runs its first synchronous stretch at once (SQLite store
 * calls never yield). Started all in one check phase, a burst of 200 requests is one long turn:
 * timers, sockets and the acks of requests still arriving wait behind all of it. A few per turn
 * leaves the loop free between them, and keeps the arrival order.
 */
export class TurnStarter {
  private readonly queue: (() => void)[] = [];
  private scheduled = false;
  private readonly perTurn: number;

  constructor(perTurn = 4) {
    if (!(perTurn >= 1)) throw new RangeError('perTurn must be at least 1');
    this.perTurn = perTurn;
  }

  /** Runs `start` in a later check phase, after the work queued before it. */
  defer(start: () => void): void {
    this.queue.push(start);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  get waiting(): number {
    return this.queue.length;
  }

  private readonly drain = (): void => {
    for (let n = 0; n < this.perTurn && this.queue.length > 0; n++) this.queue.shift()!();
    // An immediate queued from the check phase runs on the next turn: timers and I/O come first.
    if (this.queue.length > 0) setImmediate(this.drain);
    else this.scheduled = false;
  };
}
