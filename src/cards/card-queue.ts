/**
 * One channel's card work: which workflows to look at, each once however often it was asked for.
 * Two lanes: a live change (someone just published, or edited the workflow) goes ahead of sweeps
 * (first posting, new bindings, periodic resync), which at Slack's one write per second per channel
 * can take minutes for a large project.
 */
export type CardPriority = 'change' | 'sweep';

export class CardQueue {
  private readonly changes = new Set<string>();
  private readonly sweeps = new Set<string>();
  running = false;

  add(key: string, priority: CardPriority): void {
    if (priority === 'change') {
      this.sweeps.delete(key);
      this.changes.add(key);
    } else if (!this.changes.has(key)) {
      this.sweeps.add(key);
    }
  }

  /** The next workflow key to look at (changes first, each lane in arrival order), removed. */
  take(): string | undefined {
    const lane = this.changes.size > 0 ? this.changes : this.sweeps;
    const key = lane.values().next().value;
    if (key !== undefined) lane.delete(key);
    return key;
  }

  get size(): number {
    return this.changes.size + this.sweeps.size;
  }

  clear(): void {
    this.changes.clear();
    this.sweeps.clear();
  }
}
