/**
 * Keeps the bot inside an Atlassian site's limits: at most `concurrency` calls in flight and
 * `hourlyBudget` calls per clock hour per site, counted in the shared store (Redis: across every
 * replica; SQLite: the one process). Calls that cannot start wait in a per-site fair queue
 * (round-robin across users) and are told their position.
 *
 * A 429 pauses the whole site for its Retry-After (the pause is in the store too, so every replica
 * waits) and the call is put back at the front of the queue: a 429 means the server did not process
 * the request, so retrying it cannot duplicate anything. No other failure is retried here — an
 * unclear failure of a create is the caller's to resolve (it looks the issue up by label first).
 *
 * One dispatcher loop per site per process hands out slots. It is woken at once when a local call
 * ends, and when another replica announces a freed slot through the store's notifications; it also
 * polls, as those notifications may be lost or the store may have none.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { errors, isVteamError } from '../errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { JiraCallOptions } from '../publishing/ports.ts';
import type { KeyValueStore } from '../storage/types.ts';
import { FairQueue } from '../lib/fair-queue.ts';
import { SlotNotices } from './slot-notices.ts';
import { Slots } from './slots.ts';
import type { SlotPermit } from './slots.ts';

export interface RateLimiterOptions {
  store: KeyValueStore;
  /** Calls in flight per site, across replicas. */
  concurrency: number;
  /** Upstream requests per clock hour per site, across replicas. */
  hourlyBudget: number;
  /**
   * Upstream requests one call costs: 1 without a gateway; MCP Context Forge makes four of every
   * tool call (initialize, initialized, the call, tools/list). Default 1.
   */
  costPerCall?: number;
  /** Longest a call waits for a 429 pause or the next budget window before it fails. */
  maxWaitMs: number;
  /** Lease of a concurrency slot; renewed while the call runs, so only a dead replica's slot expires. */
  slotLeaseMs?: number;
  /**
   * How often a waiting dispatcher looks for slots freed by other replicas. Default 100 ms, or 1 s
   * while the store's notifications announce them.
   */
  pollMs?: number;
  /** Share of the budget at which a warning is logged (once per hour per site). Default 0.8. */
  warnAtRatio?: number;
  /** Fails queued calls at once, without using a slot or budget (e.g. the MCP circuit is open). */
  refuse?: () => Error | undefined;
  metrics?: Pick<Metrics, 'rateLimited' | 'queueLength' | 'budgetUsed'> | undefined;
  logger?: Logger | undefined;
  now?: () => number;
  /** Who holds slots, for operators reading the store. */
  owner?: string;
}

export interface SiteLimitsSnapshot {
  usedThisHour: number;
  hourlyBudget: number;
  inFlight: number;
  concurrency: number;
  /** Calls waiting in this process's queue. */
  queued: number;
  pausedUntil: number | undefined;
}

const HOUR_MS = 60 * 60_000;

interface Waiter {
  lane: string;
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  deadline: number;
  onQueued: JiraCallOptions['onQueued'];
  /** Last position the caller was told, if any. */
  told: number | undefined;
}

interface Site {
  name: string;
  queue: FairQueue<Waiter>;
  slots: Slots;
  dispatching: boolean;
  /**
   * Set by `nudge`, cleared as each pass of the loop begins: something changed since the pass read
   * the store, so its wait must not start (a wake-up between two store calls is otherwise lost).
   */
  woken: boolean;
  /** Ends the dispatcher's current wait, while it is in one. */
  wake: (() => void) | undefined;
  notices: SlotNotices;
  warnedWindow: number | undefined;
}

export class RateLimiter {
  private readonly options: RateLimiterOptions;
  private readonly sites = new Map<string, Site>();
  private readonly now: () => number;
  private readonly owner: string;
  private closed = false;

  constructor(options: RateLimiterOptions) {
    if (!(options.concurrency >= 1) || !(options.hourlyBudget >= 1))
      throw new RangeError('concurrency and hourlyBudget must be at least 1');
    if (!Number.isInteger(options.costPerCall ?? 1) || (options.costPerCall ?? 1) < 1 || (options.costPerCall ?? 1) > options.hourlyBudget)
      throw new RangeError('costPerCall must be a whole number from 1 to hourlyBudget');
    this.options = options;
    this.now = options.now ?? Date.now;
    this.owner = options.owner ?? `${hostname()}/${process.pid}`;
  }

  /**
   * Runs `work` for `lane` (a user) on `site` once a slot and a budget unit are free; retries it
   * after the site's pause when it fails with RATE_LIMITED.
   */
  run<T>(site: string, lane: string, work: () => Promise<T>, onQueued?: JiraCallOptions['onQueued']): Promise<T> {
    if (this.closed) return Promise.reject(errors.mcpUnreachable(new Error('The rate limiter is closed')));
    const state = this.site(site);
    return new Promise<T>((resolve, reject) => {
      state.queue.push(lane, {
        lane,
        run: work,
        resolve: resolve as (value: unknown) => void,
        reject,
        deadline: this.now() + this.options.maxWaitMs,
        onQueued,
        told: undefined,
      });
      this.options.metrics?.queueLength.set({ site }, state.queue.size);
      this.dispatch(state);
    });
  }

  async status(site: string): Promise<SiteLimitsSnapshot> {
    const state = this.site(site);
    const [used, paused, inFlight] = await Promise.all([
      this.options.store.get<number>(this.budgetKey(site, this.windowOf(this.now()))),
      this.options.store.get<number>(this.pauseKey(site)),
      state.slots.held(),
    ]);
    return {
      usedThisHour: used ?? 0,
      hourlyBudget: this.options.hourlyBudget,
      inFlight,
      concurrency: this.options.concurrency,
      queued: state.queue.size,
      pausedUntil: paused !== undefined && paused > this.now() ? paused : undefined,
    };
  }

  /** Fails every queued call and ends the subscriptions; calls already running finish. */
  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.sites.values()) {
      for (const waiter of state.queue.removeWhere(() => true)) waiter.reject(errors.mcpUnreachable(new Error('Shutting down')));
      this.options.metrics?.queueLength.set({ site: state.name }, 0);
      this.nudge(state);
    }
    await Promise.all([...this.sites.values()].map((state) => state.notices.close()));
  }

  private site(name: string): Site {
    let state = this.sites.get(name);
    if (state === undefined) {
      state = {
        name,
        queue: new FairQueue<Waiter>(),
        slots: new Slots({
          store: this.options.store,
          prefix: `ratelimit:${name}:slot:`,
          size: this.options.concurrency,
          leaseMs: this.options.slotLeaseMs ?? 30_000,
          owner: this.owner,
          logger: this.options.logger,
        }),
        dispatching: false,
        woken: false,
        wake: undefined,
        notices: new SlotNotices({
          store: this.options.store,
          channel: `ratelimit:${name}:freed`,
          onFreed: () => this.nudge(this.site(name)),
          logger: this.options.logger,
        }),
        warnedWindow: undefined,
      };
      this.sites.set(name, state);
    }
    return state;
  }

  private dispatch(state: Site): void {
    if (state.dispatching) return;
    state.dispatching = true;
    state.notices.listen();
    this.loop(state)
      .catch((error: unknown) => {
        // The store failed: fail the waiting calls rather than leave them hanging.
        this.options.logger?.error({ site: state.name, err: error }, 'rate limiter could not reach the store');
        this.rejectWhere(
          state,
          () => true,
          () => errors.mcpUnreachable(error),
        );
      })
      .finally(() => {
        state.dispatching = false;
        if (state.queue.size > 0 && !this.closed) this.dispatch(state);
      });
  }

  private async loop(state: Site): Promise<void> {
    const { store, hourlyBudget } = this.options;
    while (state.queue.size > 0 && !this.closed) {
      state.woken = false; // whatever happened before this pass, its reads see
      const refusal = this.options.refuse?.();
      if (refusal !== undefined) {
        this.rejectWhere(
          state,
          () => true,
          () => refusal,
        );
        return;
      }

      const pausedUntil = (await store.get<number>(this.pauseKey(state.name))) ?? 0;
      if (pausedUntil > this.now()) {
        this.rejectWhere(
          state,
          (waiter) => waiter.deadline < pausedUntil,
          () => errors.rateLimited(pausedUntil - this.now()),
        );
        this.tellPositions(state, true, pausedUntil - this.now());
        await this.sleep(state, pausedUntil - this.now());
        continue;
      }

      const permit = await state.slots.tryAcquire();
      if (permit === undefined) {
        this.tellPositions(state, true, undefined);
        await this.sleep(state, this.pollMs(state));
        continue;
      }

      const window = this.windowOf(this.now());
      const budgetKey = this.budgetKey(state.name, window);
      const cost = this.options.costPerCall ?? 1;
      const used = await store.increment(budgetKey, cost, HOUR_MS + 60_000);
      if (used > hourlyBudget) {
        await store.increment(budgetKey, -cost);
        await permit.release();
        const resetAt = (window + 1) * HOUR_MS;
        this.rejectWhere(
          state,
          (waiter) => waiter.deadline < resetAt,
          () => errors.budgetExhausted(state.name, resetAt - this.now()),
        );
        this.tellPositions(state, true, resetAt - this.now());
        await this.sleep(state, Math.min(resetAt - this.now(), 60_000));
        continue;
      }
      await this.noteBudget(state, used, window);

      const waiter = state.queue.shift();
      this.options.metrics?.queueLength.set({ site: state.name }, state.queue.size);
      if (waiter === undefined) {
        await store.increment(budgetKey, -cost);
        await permit.release();
        return;
      }
      void this.start(state, waiter, permit);
      this.tellPositions(state, false, undefined);
    }
  }

  private async start(state: Site, waiter: Waiter, permit: SlotPermit): Promise<void> {
    // The slot is given back before the caller hears the outcome, so whoever reacts to a result
    // (a status probe, the next publish) already sees the capacity free.
    let settle: () => void;
    try {
      const value = await waiter.run();
      settle = () => waiter.resolve(value);
    } catch (error) {
      settle = await this.afterFailure(state, waiter, error);
    }
    try {
      await permit.release();
      state.notices.announce();
    } finally {
      settle();
      this.nudge(state);
      this.dispatch(state);
    }
  }

  /** Wakes the dispatcher now, or makes its next wait return at once. */
  private nudge(state: Site): void {
    state.woken = true;
    state.wake?.();
  }

  /**
   * Notifications are at most once (one sent while a subscriber reconnects is lost), so a rare poll
   * stays as the safety net; without them, polling is how freed slots are found.
   */
  private pollMs(state: Site): number {
    return this.options.pollMs ?? (state.notices.listening ? 1000 : 100);
  }

  /** What to tell the waiter after its call failed: the error, or nothing when a 429 re-queued it. */
  private async afterFailure(state: Site, waiter: Waiter, error: unknown): Promise<() => void> {
    if (!isVteamError(error, 'RATE_LIMITED') || this.closed) return () => waiter.reject(error);
    // Not processed by the server: safe to run again once the site's pause is over.
    const retryAfterMs = Math.max(0, error.retryAfterMs ?? 0);
    const resumeAt = this.now() + retryAfterMs;
    this.options.metrics?.rateLimited.inc({ site: state.name });
    this.options.logger?.info({ site: state.name, retryAfterMs }, 'Jira answered 429; pausing the site');
    await this.pause(state.name, resumeAt).catch((storeError: unknown) =>
      this.options.logger?.warn({ err: storeError }, 'could not share the 429 pause'),
    );
    if (resumeAt > waiter.deadline) return () => waiter.reject(error);
    return () => {
      state.queue.unshift(waiter.lane, waiter);
      this.options.metrics?.queueLength.set({ site: state.name }, state.queue.size);
      waiter.told = 1;
      safely(() => waiter.onQueued?.({ position: 1, etaMs: retryAfterMs }), this.options.logger);
    };
  }

  /** Keeps the latest pause: a shorter Retry-After never shortens a longer one already set. */
  private async pause(site: string, until: number): Promise<void> {
    const key = this.pauseKey(site);
    const ttl = Math.max(1, until - this.now());
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const current = await this.options.store.get<number>(key);
      if (current !== undefined && current >= until) return;
      if (
        current === undefined
          ? await this.options.store.setIfAbsent(key, until, ttl)
          : await this.options.store.compareAndSwap(key, current, until, ttl)
      )
        return;
    }
  }

  private async noteBudget(state: Site, used: number, window: number): Promise<void> {
    const { hourlyBudget, store } = this.options;
    this.options.metrics?.budgetUsed.set({ site: state.name }, used / hourlyBudget);
    const threshold = Math.ceil(hourlyBudget * (this.options.warnAtRatio ?? 0.8));
    if (used < threshold || state.warnedWindow === window) return;
    state.warnedWindow = window;
    // One replica logs it: the first to claim this hour's marker.
    if (await store.setIfAbsent(`ratelimit:${state.name}:warned:${window}`, true, HOUR_MS + 60_000)) {
      this.options.logger?.warn(
        { site: state.name, used, hourlyBudget },
        `Jira request budget for ${state.name} is ${Math.round((used / hourlyBudget) * 100)} % used this hour`,
      );
    }
  }

  /**
   * Tells waiting callers their place. `first`: the dispatcher is about to wait, so callers not yet
   * told learn they are queued; otherwise only a significant move (halved, or 10 places) is told.
   */
  private tellPositions(state: Site, first: boolean, etaMs: number | undefined): void {
    for (const [waiter, position] of state.queue.positions()) {
      const told = waiter.told;
      const significant = told === undefined ? first : position < told && (position === 1 || position <= told / 2 || told - position >= 10);
      if (!significant) continue;
      waiter.told = position;
      safely(() => waiter.onQueued?.({ position, etaMs }), this.options.logger);
    }
  }

  private rejectWhere(state: Site, select: (waiter: Waiter) => boolean, error: () => unknown): void {
    const removed = state.queue.removeWhere(select);
    for (const waiter of removed) waiter.reject(error());
    if (removed.length > 0) this.options.metrics?.queueLength.set({ site: state.name }, state.queue.size);
  }

  private sleep(state: Site, ms: number): Promise<void> {
    if (state.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        if (state.wake === done) state.wake = undefined;
        resolve();
      }
      state.wake = done;
    });
  }

  private windowOf(at: number): number {
    return Math.floor(at / HOUR_MS);
  }

  private budgetKey(site: string, window: number): string {
    return `ratelimit:${site}:budget:${window}`;
  }

  private pauseKey(site: string): string {
    return `ratelimit:${site}:paused`;
  }
}

/** A caller's notification hook must not break the queue. */
function safely(notify: () => void, logger: Logger | undefined): void {
  try {
    notify();
  } catch (error) {
    logger?.warn({ err: error }, 'onQueued callback failed');
  }
}
