import { describe, expect, it } from 'vitest';
import { errors } from '../../src/errors.ts';
import { describeFailure, runProbe, scrub } from '../../src/status/probe.ts';

describe('runProbe', () => {
  it('reports the value of a probe that answers in time', async () => {
    expect(await runProbe(Date.now() + 1000, async () => 42)).toMatchObject({ state: 'done', value: 42 });
  });

  it('reports a probe that fails, with a short reason', async () => {
    const result = await runProbe(Date.now() + 1000, async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    });
    expect(result).toMatchObject({ state: 'failed', reason: 'connection refused' });
  });

  it('abandons a probe that hangs past the deadline and aborts its signal', async () => {
    let aborted: AbortSignal | undefined;
    const result = await runProbe(Date.now() + 50, (signal) => {
      aborted = signal;
      return new Promise(() => undefined);
    });
    expect(result).toMatchObject({ state: 'timed-out' });
    expect(aborted?.aborted).toBe(true);
  });

  it('a probe that rejects after being abandoned does not surface as an unhandled rejection', async () => {
    const result = await runProbe(Date.now() + 20, () => new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 60)));
    expect(result.state).toBe('timed-out');
    await new Promise((resolve) => setTimeout(resolve, 80));
  });
});

describe('describeFailure', () => {
  it('uses the user message of our own errors, HTTP codes and network codes', () => {
    expect(describeFailure(errors.kubernetesUnavailable(new Error('x')))).toBe(
      'The vTeam cluster cannot be reached right now; please try again in a minute.',
    );
    expect(describeFailure(Object.assign(new Error('HTTP-Code: 403 Message: forbidden body…'), { code: 403 }))).toBe('HTTP 403');
    expect(describeFailure(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) }))).toBe(
      'host not found',
    );
    expect(describeFailure(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe('timed out');
  });

  it('scrubs free text of anything token-like', () => {
    expect(describeFailure(new Error('rejected Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig'))).not.toContain('eyJ');
    expect(scrub('redis://user:hunter2@redis:6379 failed')).toBe('redis://***@redis:6379 failed');
    expect(scrub('token xoxb-1-2-abc leaked')).not.toContain('xoxb-1-2-abc');
    expect(scrub('a'.repeat(500)).length).toBe(160);
  });
});
