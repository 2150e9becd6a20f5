import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { RecoverableFailure, classifyTransportError, networkErrorCode } from '../../src/atlassian/failures.ts';
import { createAuthorizingFetch, newProbe, parseRetryAfter } from '../../src/atlassian/http.ts';
import type { CallProbe } from '../../src/atlassian/http.ts';

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, bounded', () => {
    expect(parseRetryAfter('7')).toBe(7_000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(30_000);
    expect(parseRetryAfter('9999999')).toBe(3_600_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('createAuthorizingFetch', () => {
  it('sends the current credential and records 429 Retry-After on the call probe', async () => {
    const seen: Headers[] = [];
    const probes = new AsyncLocalStorage<CallProbe>();
    let credential = { accessToken: 'one', cloudId: 'c1' as string | undefined };
    const wrapped = createAuthorizingFetch({
      probes,
      credential: () => credential,
      fetch: async (_url, init) => {
        seen.push(new Headers(init?.headers));
        return new Response('slow down', { status: 429, headers: { 'retry-after': '3' } });
      },
    });
    const probe = newProbe(new AbortController().signal);
    await probes.run(probe, () => wrapped('http://x/mcp', { method: 'POST', headers: { authorization: 'Bearer stale' } }));
    credential = { accessToken: 'two', cloudId: undefined };
    await wrapped('http://x/mcp', { method: 'POST' });

    expect(seen.map((h) => h.get('authorization'))).toEqual(['Bearer one', 'Bearer two']);
    expect(seen.map((h) => h.get('x-atlassian-cloud-id'))).toEqual(['c1', null]);
    expect(probe).toMatchObject({ requestSent: true, status: 429, retryAfterMs: 3_000 });
  });
});

describe('classifyTransportError', () => {
  const probe = (overrides: Partial<CallProbe> = {}): CallProbe => ({ ...newProbe(new AbortController().signal), ...overrides });

  it('maps HTTP statuses', () => {
    expect(classifyTransportError(new StreamableHTTPError(401, 'x'), probe(), true)).toBeInstanceOf(RecoverableFailure);
    expect(classifyTransportError(new StreamableHTTPError(404, 'x'), probe(), true)).toMatchObject({ kind: 'session-lost' });
    expect(classifyTransportError(new StreamableHTTPError(429, 'x'), probe({ retryAfterMs: 5_000 }), true)).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: 5_000,
    });
    expect(classifyTransportError(new StreamableHTTPError(502, 'x'), probe({ requestSent: true }), true)).toMatchObject({
      code: 'MCP_UNREACHABLE',
      outcomeUnknown: true,
    });
    expect(classifyTransportError(new StreamableHTTPError(502, 'x'), probe({ requestSent: true }), false)).toMatchObject({
      outcomeUnknown: false,
    });
  });

  it('knows a refused connection sent nothing, and a timeout after sending may have acted', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(networkErrorCode(refused)).toBe('ECONNREFUSED');
    expect(classifyTransportError(refused, probe({ requestSent: true }), true)).toMatchObject({
      code: 'MCP_UNREACHABLE',
      outcomeUnknown: false,
    });
    const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(classifyTransportError(reset, probe({ requestSent: true }), true)).toMatchObject({ outcomeUnknown: true });
    expect(classifyTransportError(new Error('aborted'), probe({ requestSent: true, timedOut: true }), true)).toMatchObject({
      code: 'MCP_UNREACHABLE',
      outcomeUnknown: true,
    });
  });
});
