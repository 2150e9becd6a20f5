import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/atlassian/circuit-breaker.ts';
import type { CircuitState } from '../../src/atlassian/circuit-breaker.ts';

function breaker() {
  let now = 1_000_000;
  const changes: CircuitState[] = [];
  const circuit = new CircuitBreaker({
    failureThreshold: 3,
    windowMs: 10_000,
    cooldownMs: 5_000,
    now: () => now,
    onStateChange: (state) => changes.push(state),
  });
  return {
    circuit,
    changes,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of failures within the window, and refuses calls', () => {
    const { circuit, changes } = breaker();
    circuit.failure();
    circuit.failure();
    expect(circuit.tryPass()).toBe('pass');
    circuit.failure();
    expect(circuit.state()).toBe('open');
    expect(circuit.tryPass()).toBe('refuse');
    expect(changes).toEqual(['open']);
  });

  it('forgets failures older than the window, and a success resets the count', () => {
    const { circuit, advance } = breaker();
    circuit.failure();
    circuit.failure();
    advance(10_001);
    circuit.failure();
    expect(circuit.state()).toBe('closed');
    circuit.failure();
    circuit.success();
    circuit.failure();
    circuit.failure();
    expect(circuit.state()).toBe('closed');
  });

  it('after the cooldown lets exactly one probe through; success closes', () => {
    const { circuit, changes, advance } = breaker();
    for (let i = 0; i < 3; i += 1) circuit.failure();
    advance(5_000);
    expect(circuit.state()).toBe('half-open');
    expect(circuit.tryPass()).toBe('probe');
    expect(circuit.tryPass()).toBe('refuse');
    circuit.success();
    expect(circuit.state()).toBe('closed');
    expect(circuit.tryPass()).toBe('pass');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  it('a failed probe opens it again for another cooldown', () => {
    const { circuit, advance } = breaker();
    for (let i = 0; i < 3; i += 1) circuit.failure();
    advance(5_000);
    expect(circuit.tryPass()).toBe('probe');
    circuit.failure();
    expect(circuit.state()).toBe('open');
    advance(4_999);
    expect(circuit.tryPass()).toBe('refuse');
    advance(1);
    expect(circuit.tryPass()).toBe('probe');
  });

  it('a probe that never reached the server frees the way for the next one', () => {
    const { circuit, advance } = breaker();
    for (let i = 0; i < 3; i += 1) circuit.failure();
    advance(5_000);
    expect(circuit.tryPass()).toBe('probe');
    circuit.endProbe();
    expect(circuit.tryPass()).toBe('probe');
  });
});
