/**
 * A circuit breaker for the MCP server: after `failureThreshold` outages (connection failures,
 * timeouts, 5xx) within `windowMs` it opens and calls fail at once for `cooldownMs`; then one probe
 * call is let through (half-open) — success closes it, failure opens it again.
 *
 * Written here rather than taken from opossum: opossum wraps one function and trips on an error
 * *percentage* over a rolling window, while we need a count of outage-class failures recorded per
 * MCP request (a tool error or a 401 proves the server is up), and a gate checked before a whole
 * gateway operation. The state machine is small; the clock is injectable for tests.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Outages within `windowMs` that open the circuit. Default 5. */
  failureThreshold?: number;
  windowMs?: number;
  /** How long an open circuit refuses calls before letting a probe through. Default 30 s. */
  cooldownMs?: number;
  now?: () => number;
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
}

/** What `tryPass` decided: run normally, run as the half-open probe, or refuse. */
export type Passage = 'pass' | 'probe' | 'refuse';

export class CircuitBreaker {
  private readonly failureThreshold: number;
  private readonly windowMs: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly onStateChange: CircuitBreakerOptions['onStateChange'];
  private current: CircuitState = 'closed';
  private failures: number[] = [];
  private openedAt = 0;
  private probeInFlight = false;

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = Math.max(1, options.failureThreshold ?? 5);
    this.windowMs = options.windowMs ?? 30_000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.onStateChange = options.onStateChange;
  }

  /** The state now (an open circuit whose cooldown has passed reads as half-open). */
  state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.cooldownMs) this.transition('half-open');
    return this.current;
  }

  /** Epoch ms when an open circuit lets a probe through; undefined unless open. */
  retryAt(): number | undefined {
    return this.state() === 'open' ? this.openedAt + this.cooldownMs : undefined;
  }

  /** Called before an operation. A `probe` must end with `success`, `failure` or `endProbe`. */
  tryPass(): Passage {
    const state = this.state();
    if (state === 'closed') return 'pass';
    if (state === 'open' || this.probeInFlight) return 'refuse';
    this.probeInFlight = true;
    return 'probe';
  }

  /** The server answered (whatever it said). */
  success(): void {
    this.failures = [];
    this.probeInFlight = false;
    if (this.current !== 'closed') this.transition('closed');
  }

  /** The server could not be reached, timed out or answered 5xx. */
  failure(): void {
    const now = this.now();
    if (this.current === 'half-open') {
      this.probeInFlight = false;
      this.open(now);
      return;
    }
    if (this.current === 'open') return;
    this.failures = [...this.failures.filter((at) => now - at < this.windowMs), now];
    if (this.failures.length >= this.failureThreshold) this.open(now);
  }

  /** The probe ended without reaching the server (e.g. the user has no link): let another try. */
  endProbe(): void {
    this.probeInFlight = false;
  }

  private open(now: number): void {
    this.openedAt = now;
    this.failures = [];
    this.transition('open');
  }

  private transition(next: CircuitState): void {
    const previous = this.current;
    if (previous === next) return;
    this.current = next;
    this.onStateChange?.(next, previous);
  }
}
