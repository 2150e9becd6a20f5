import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { errors } from '../../src/errors.ts';
import type { Workflow } from '../../src/publishing/model.ts';
import type { JiraCallOptions } from '../../src/publishing/ports.ts';
import { createRateLimitWaits } from '../../src/publishing/rate-limit-waits.ts';

const WORKFLOW: Workflow = { namespace: 'team-a', name: 'rfe-1', title: 'Dark mode', description: '', jiraLinks: [], resourceVersion: '1' };
const REPLY_TO = { teamId: 'T1', userId: 'U1', channelId: 'C1' };

interface Told {
  position?: number | undefined;
  retryAfterMs?: number | undefined;
}

function setup(options: { wait?: (ms: number) => Promise<unknown> } = {}) {
  const told: Told[] = [];
  const waits = createRateLimitWaits({
    notifier: {
      queued: async (_replyTo, info) => {
        told.push({ position: info.position, retryAfterMs: info.retryAfterMs });
      },
    },
    logger: pino({ level: 'silent' }),
    maxWaitMs: 10_000,
    queueNoticeAfterMs: 2_000,
    wait: options.wait,
  });
  return { told, waits };
}

/** A call held in the rate limiter's queue until `finish` is called; `queued` reports a position. */
function heldCall() {
  let hooks: JiraCallOptions | undefined;
  let finish!: (key: string) => void;
  const done = new Promise<string>((resolve) => (finish = resolve));
  return {
    call: (options: JiraCallOptions) => {
      hooks = options;
      return done;
    },
    queued: (position: number, etaMs?: number) => hooks!.onQueued!({ position, etaMs }),
    started: () => hooks!.onStarted!(),
    finish,
  };
}

describe('rate-limit waits: telling a user their publish is queued', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('says nothing when the queue lets the call through before the notice delay', async () => {
    const { told, waits } = setup();
    const held = heldCall();
    const result = waits(REPLY_TO, WORKFLOW, 'spec.md', held.call);
    held.queued(7);
    await vi.advanceTimersByTimeAsync(1_900);
    held.finish('PROJ-1');
    expect(await result).toBe('PROJ-1');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(told).toEqual([]);
  });

  it('tells the latest place once the wait has lasted the notice delay, then once more at the front', async () => {
    const { told, waits } = setup();
    const held = heldCall();
    const result = waits(REPLY_TO, WORKFLOW, 'spec.md', held.call);
    held.queued(30);
    await vi.advanceTimersByTimeAsync(1_000);
    held.queued(12);
    expect(told).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(told).toEqual([{ position: 12, retryAfterMs: undefined }]);
    held.queued(5); // moved, but not to the front: not worth a message
    held.queued(1);
    held.queued(1);
    held.finish('PROJ-2');
    await result;
    expect(told).toEqual([{ position: 12 }, { position: 1 }].map((t) => ({ ...t, retryAfterMs: undefined })));
  });

  it('says nothing when a slot came before the notice delay, however long the call itself then takes', async () => {
    const { told, waits } = setup();
    const held = heldCall();
    const result = waits(REPLY_TO, WORKFLOW, 'spec.md', held.call);
    held.queued(9);
    await vi.advanceTimersByTimeAsync(1_500);
    held.started();
    await vi.advanceTimersByTimeAsync(5_000); // a slow create: not "queued"
    held.finish('PROJ-5');
    await result;
    expect(told).toEqual([]);
  });

  it('tells at once when the queue knows when it ends: a pause Jira asked for, or a spent budget', async () => {
    const { told, waits } = setup();
    const paused = heldCall();
    const first = waits(REPLY_TO, WORKFLOW, 'spec.md', paused.call);
    paused.queued(1, 1_000); // Jira's 429 with Retry-After: 1
    expect(told).toEqual([{ position: 1, retryAfterMs: 1_000 }]);
    paused.finish('PROJ-3');
    await first;

    const spent = heldCall();
    const second = waits(REPLY_TO, WORKFLOW, 'plan.md', spent.call);
    spent.queued(3, 45_000);
    expect(told).toHaveLength(2);
    expect(told[1]).toEqual({ position: 3, retryAfterMs: 45_000 });
    spent.finish('PROJ-4');
    await second;
  });

  it("tells at once about Jira's own 429 and waits its Retry-After before trying again", async () => {
    const waited: number[] = [];
    const { told, waits } = setup({ wait: async (ms) => void waited.push(ms) });
    let calls = 0;
    const result = await waits(REPLY_TO, WORKFLOW, 'spec.md', async () => {
      calls += 1;
      if (calls === 1) throw errors.rateLimited(3_000);
      return 'PROJ-4';
    });
    expect(result).toBe('PROJ-4');
    expect(waited).toEqual([3_000]);
    expect(told).toEqual([{ position: undefined, retryAfterMs: 3_000 }]);
  });

  it('a call that fails while queued leaves no notice behind', async () => {
    const { told, waits } = setup();
    const result = waits(REPLY_TO, WORKFLOW, 'spec.md', async (options) => {
      options.onQueued!({ position: 4 });
      throw errors.mcpUnreachable(new Error('store down'));
    });
    await expect(result).rejects.toMatchObject({ code: 'MCP_UNREACHABLE' });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(told).toEqual([]);
  });
});
