import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PublishRequest } from '../../src/publishing/model.ts';
import { createPendingPublishes } from '../../src/publishing/user-records.ts';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';

const MINUTE = 60_000;
const alice = { teamId: 'T1', userId: 'U1' };
const request = (path: string): PublishRequest => ({
  user: alice,
  channelId: 'C1',
  workflow: { namespace: 'team-a', name: 'rfe-1' },
  path,
  replyTo: { channelId: 'C1', userId: 'U1' },
});

let store: KeyValueStore;
beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  store = await createStore('sqlite::memory:');
});
afterEach(async () => {
  vi.useRealTimers();
  await store.close();
});

describe('a publish waiting for the Atlassian link', () => {
  it('resumes once when the link comes in time; the latest request wins', async () => {
    const pending = createPendingPublishes(store, { maxAgeMs: 15 * MINUTE });
    await pending.save(request('specs/001-x/spec.md'));
    await pending.save(request('specs/001-x/plan.md'));
    vi.advanceTimersByTime(14 * MINUTE);
    const [first, second] = await Promise.all([pending.take(alice), pending.take(alice)]);
    const taken = [first, second].filter((t) => t !== undefined);
    expect(taken).toHaveLength(1); // two replicas' callbacks: only one resumes it
    expect(taken[0]).toMatchObject({ fresh: true, request: { path: 'specs/001-x/plan.md' } });
    expect(await pending.take(alice)).toBeUndefined();
  });

  it('is handed back as stale after its lifetime, so the user hears it was dropped', async () => {
    const pending = createPendingPublishes(store, { maxAgeMs: 15 * MINUTE });
    await pending.save(request('specs/001-x/spec.md'));
    vi.advanceTimersByTime(16 * MINUTE);
    expect(await pending.take(alice)).toMatchObject({ fresh: false, request: { path: 'specs/001-x/spec.md' } });
  });

  it('is forgotten entirely long after that', async () => {
    const pending = createPendingPublishes(store, { maxAgeMs: 15 * MINUTE });
    await pending.save(request('specs/001-x/spec.md'));
    vi.advanceTimersByTime(61 * MINUTE);
    expect(await pending.take(alice)).toBeUndefined();
  });
});
