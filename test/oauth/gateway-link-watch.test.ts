/**
 * After a browser is sent to MCP Context Forge, the bot asks as the user until the answer changes:
 * linked (tell them once), refused for good (tell them once), or the sign-in window is over. Real
 * timers with pauses of a few milliseconds.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errors, type VteamError } from '../../src/errors.ts';
import { createGatewayLinkWatch, type GatewayAccess, type GatewayLinkWatch } from '../../src/oauth/gateway-link-watch.ts';
import type { SlackUserRef } from '../../src/publishing/model.ts';

const ada: SlackUserRef = { teamId: 'T1', userId: 'U1' };
const grace: SlackUserRef = { teamId: 'T1', userId: 'U2' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Answer = GatewayAccess | Error | Promise<GatewayAccess>;

/** A watch whose check answers from a script per user (then `unauthorized`), recording everything. */
function harness(options: { windowMs?: number; delaysMs?: number[]; onLinked?: () => Promise<void> } = {}) {
  const script = new Map<string, Answer[]>();
  const checks: string[] = [];
  const linked: string[] = [];
  const refused: [string, VteamError][] = [];
  const logLines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    }),
  );
  const watch = createGatewayLinkWatch({
    async check(user) {
      checks.push(user.userId);
      const next = script.get(user.userId)?.shift() ?? 'unauthorized';
      if (next instanceof Error) throw next;
      return next;
    },
    async onLinked(user) {
      linked.push(user.userId);
      await options.onLinked?.();
    },
    async onRefused(user, error) {
      refused.push([user.userId, error]);
    },
    logger,
    windowMs: options.windowMs ?? 2_000,
    delaysMs: options.delaysMs ?? [5],
  });
  watches.push(watch);
  const answer = (user: SlackUserRef, ...answers: Answer[]) => script.set(user.userId, answers);
  return {
    watch,
    answer,
    checks,
    linked,
    refused,
    logLines,
    countOf: (user: SlackUserRef) => checks.filter((id) => id === user.userId).length,
  };
}

const watches: GatewayLinkWatch[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.close();
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('watching a user link in MCP Context Forge', () => {
  it('asks until the user is linked, tells once, then stops asking', async () => {
    const h = harness();
    h.answer(ada, 'unauthorized', 'unauthorized', 'authorized');
    h.watch.watch(ada);
    await vi.waitFor(() => expect(h.linked).toEqual(['U1']));
    expect(h.checks).toEqual(['U1', 'U1', 'U1']);
    await sleep(50);
    expect(h.checks).toHaveLength(3);
    expect(h.linked).toEqual(['U1']);
    expect(h.refused).toEqual([]);
  });

  it('waits the first pause before asking', async () => {
    const h = harness({ delaysMs: [150] });
    h.answer(ada, 'authorized');
    h.watch.watch(ada);
    await sleep(40);
    expect(h.checks).toEqual([]);
    await vi.waitFor(() => expect(h.linked).toEqual(['U1']));
  });

  it.each([
    ['GATEWAY_ACCESS_DENIED', () => errors.gatewayAccessDenied('team-7')],
    ['GATEWAY_REFUSED (unknown user)', () => errors.gatewayUnknownUser()],
    ['GATEWAY_REFUSED (misconfigured)', () => errors.gatewayMisconfigured(new Error('HTTP 401'))],
  ])('stops at a refusal authorizing cannot cure (%s) and tells the user once', async (_name, refusal) => {
    const h = harness();
    const error = refusal();
    h.answer(ada, 'unauthorized', error, 'authorized');
    h.watch.watch(ada);
    await vi.waitFor(() => expect(h.refused).toHaveLength(1));
    expect(h.refused[0]?.[0]).toBe('U1');
    expect(h.refused[0]?.[1]).toBe(error);
    await sleep(50);
    expect(h.checks).toHaveLength(2);
    expect(h.refused).toHaveLength(1);
    expect(h.linked).toEqual([]);
  });

  it('keeps asking through transient failures (network, MCP unreachable, not linked yet)', async () => {
    const h = harness();
    h.answer(ada, new Error('ECONNRESET'), errors.mcpUnreachable(new Error('timeout')), errors.notLinked(), 'unauthorized', 'authorized');
    h.watch.watch(ada);
    await vi.waitFor(() => expect(h.linked).toEqual(['U1']));
    expect(h.checks).toHaveLength(5);
    expect(h.refused).toEqual([]);
  });

  it('stops silently when the sign-in window is over', async () => {
    const h = harness({ windowMs: 60, delaysMs: [10] });
    h.watch.watch(ada);
    await sleep(150);
    const asked = h.checks.length;
    expect(asked).toBeGreaterThanOrEqual(2);
    await sleep(60);
    expect(h.checks).toHaveLength(asked);
    expect(h.linked).toEqual([]);
    expect(h.refused).toEqual([]);
    expect(h.logLines.some((l) => l.msg === 'stopped waiting for the user to finish authorizing in MCP Context Forge')).toBe(true);
  });

  it('restarts when asked again: one watcher per user, and the earlier one never tells', async () => {
    const h = harness({ delaysMs: [5] });
    const first = deferred<GatewayAccess>();
    h.answer(ada, first.promise, 'unauthorized', 'unauthorized', 'authorized');
    h.watch.watch(ada);
    await vi.waitFor(() => expect(h.checks).toHaveLength(1)); // the first watcher's check is in flight
    h.watch.watch(ada);
    first.resolve('authorized'); // the earlier watcher's answer must not count
    await vi.waitFor(() => expect(h.linked).toEqual(['U1']));
    expect(h.checks).toHaveLength(4); // the new watcher asked three times; the old one never again
    await sleep(50);
    expect(h.linked).toEqual(['U1']);
    expect(h.checks).toHaveLength(4);
  });

  it('never has two watchers asking for the same user', async () => {
    const h = harness({ delaysMs: [20] });
    h.watch.watch(ada);
    h.watch.watch(ada);
    h.watch.watch(ada);
    await sleep(150);
    // One watcher every ~20 ms asks about 7 times in 150 ms; three would ask about 21.
    expect(h.countOf(ada)).toBeGreaterThanOrEqual(2);
    expect(h.countOf(ada)).toBeLessThanOrEqual(8);
  });

  it('restarting gives the user a new window', async () => {
    const h = harness({ windowMs: 200, delaysMs: [10] });
    h.watch.watch(ada);
    await sleep(130);
    h.watch.watch(ada);
    await sleep(130); // past the first window, inside the second
    h.answer(ada, 'authorized');
    await vi.waitFor(() => expect(h.linked).toEqual(['U1']), { timeout: 500 });
  });

  it('an earlier watcher refused while a new one runs does not tell the user', async () => {
    const h = harness({ delaysMs: [5] });
    const first = deferred<GatewayAccess>();
    h.answer(ada, first.promise);
    h.watch.watch(ada);
    await vi.waitFor(() => expect(h.checks).toHaveLength(1));
    h.watch.watch(ada);
    h.answer(ada, 'unauthorized', 'authorized');
    first.reject(errors.gatewayAccessDenied(undefined));
    await vi.waitFor(() => expect(h.linked).toEqual(['U1']));
    expect(h.refused).toEqual([]);
  });

  it('watches several users independently', async () => {
    const h = harness();
    h.answer(ada, 'unauthorized', 'authorized');
    h.answer(grace, 'unauthorized', 'unauthorized', 'unauthorized', 'authorized');
    h.watch.watch(ada);
    h.watch.watch(grace);
    await vi.waitFor(() => expect([...h.linked].sort()).toEqual(['U1', 'U2']));
    expect(h.countOf(ada)).toBe(2);
    expect(h.countOf(grace)).toBe(4);
  });

  it('stops everything on close, even an answer already on its way, and watches nobody afterwards', async () => {
    const h = harness({ delaysMs: [5] });
    const inFlight = deferred<GatewayAccess>();
    h.answer(ada, inFlight.promise);
    h.watch.watch(ada);
    h.watch.watch(grace);
    await vi.waitFor(() => expect(h.countOf(ada)).toBe(1));
    h.watch.close();
    const asked = h.checks.length;
    inFlight.resolve('authorized');
    h.answer(grace, 'authorized');
    h.watch.watch(grace);
    await sleep(50);
    expect(h.checks).toHaveLength(asked);
    expect(h.linked).toEqual([]);
  });

  it('survives a failure to tell the user they are linked', async () => {
    const h = harness({ onLinked: () => Promise.reject(new Error('Slack is down')) });
    h.answer(ada, 'authorized');
    h.watch.watch(ada);
    await vi.waitFor(() => expect(h.logLines.some((l) => l.msg === 'could not finish after the MCF link')).toBe(true));
    expect(h.linked).toEqual(['U1']);
  });
});
