/**
 * Sends only the latest of a stream of states: at most one send in flight, and at least `intervalMs`
 * between the starts of two sends. A progress message edited this way stays within Slack's pace for
 * editing one message (about one a second) and is never more than an interval and one send behind.
 * Throttle libraries (lodash.throttle, p-throttle) neither wait for an async send to finish nor drop
 * the states it made stale, which is the whole point here.
 */
export class CoalescingSender<T> {
  private latest: { value: T } | undefined;
  private sending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastStart = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly send: (value: T) => Promise<void>;
  private readonly options: { intervalMs: number; onError: (error: unknown) => void; now?: () => number };

  constructor(send: (value: T) => Promise<void>, options: { intervalMs: number; onError: (error: unknown) => void; now?: () => number }) {
    this.send = send;
    this.options = options;
  }

  /** Replaces the state waiting to be sent; sends it as soon as the pace allows. */
  push(value: T): void {
    if (this.closed) return;
    this.latest = { value };
    this.pump();
  }

  /** Drops what is waiting, lets a send in flight finish, then sends `final` (its failure is thrown). */
  async close(final: T): Promise<void> {
    this.closed = true;
    this.latest = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sending;
    await this.send(final);
  }

  private pump(): void {
    if (this.sending !== undefined || this.timer !== undefined || this.latest === undefined) return;
    const now = this.options.now ?? Date.now;
    const wait = this.lastStart + this.options.intervalMs - now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    const { value } = this.latest;
    this.latest = undefined;
    this.lastStart = now();
    this.sending = this.send(value)
      .catch(this.options.onError)
      .finally(() => {
        this.sending = undefined;
        if (!this.closed) this.pump();
      });
  }
}
