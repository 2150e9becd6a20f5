/**
 * The publish state machine (publish-service + publish-attempt) against in-memory ports with the
 * real store and locks: every way an attempt can be interrupted ends with one issue, one link, and a
 * user who heard the outcome.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorld, request, SPEC, type World } from './world.ts';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const told = (w: World) => w.told.filter((t) => t.kind !== 'queued').map((t) => `${t.kind}:${t.text}`);
const leftovers = async (w: World) => [
  ...(await w.store.keys('journal:')),
  ...(await w.store.keys('lock:')),
  ...(w.workflows.workflow.inFlight ?? []).map((i) => `in-flight ${i.path}`),
];
/** A record on the workflow as a worker (maybe long gone) left it. */
const recordInFlight = (w: World, r: { ageMs: number; userId: string; channelId: string }) =>
  w.workflows.markInFlight(w.workflows.workflow, {
    path: SPEC,
    since: Date.now() - r.ageMs,
    fence: 'another-worker',
    user: { teamId: 'T1', userId: r.userId },
    replyTo: { channelId: r.channelId, userId: r.userId },
  });
const wipeJournal = async (w: World) => {
  for (const key of await w.store.keys('journal:')) await w.store.delete(key);
};

interface Case {
  name: string;
  settleMs?: number;
  arrange?: (w: World) => void;
  /** Between the first and the second click (when there is one). */
  between?: (w: World) => Promise<void>;
  clicks: 1 | 2;
  issues: number;
  link: string;
  heard: string[];
}

const cases: Case[] = [
  { name: 'a plain publish creates one issue and links it', clicks: 1, issues: 1, link: 'PROJ-1', heard: ['published:PROJ-1'] },
  {
    name: 'a retry after a 502 that created nothing creates the issue once, and says so',
    arrange: (w) => {
      w.jira.createFaults = ['unreachable-nothing-created'];
    },
    clicks: 2,
    issues: 1,
    link: 'PROJ-1',
    heard: ['failed:MCP_UNREACHABLE', 'published:PROJ-1'],
  },
  {
    name: "a retry after a lost answer finds the issue though Jira's search lags behind the create",
    settleMs: 2_000,
    arrange: (w) => {
      w.jira.createFaults = ['lost-answer'];
      w.jira.searchLagMs = 400;
    },
    clicks: 2,
    issues: 1,
    link: 'PROJ-1',
    heard: ['failed:MCP_UNREACHABLE', 'found:PROJ-1'],
  },
  {
    name: 'the store losing the journal between the create and the CR write: the retry links the first issue',
    arrange: (w) => {
      w.workflows.failNextLinkWrites = 1;
    },
    between: wipeJournal,
    clicks: 2,
    issues: 1,
    link: 'PROJ-1',
    heard: ['failed:KUBERNETES_UNAVAILABLE', 'found:PROJ-1'],
  },
  {
    name: 'a link written by someone else meanwhile is kept, and the duplicate named',
    arrange: (w) => {
      w.workflows.beforeLinkWrite = () => {
        w.workflows.workflow.jiraLinks.push({ path: SPEC, jiraKey: 'UI-7' });
      };
    },
    clicks: 1,
    issues: 1,
    link: 'UI-7',
    heard: ['duplicate:UI-7 kept, PROJ-1 duplicate'],
  },
  {
    name: 'Jira refusing the issue leaves no record behind, so the retry creates without searching',
    arrange: (w) => {
      w.jira.createFaults = ['rejected'];
    },
    clicks: 2,
    issues: 1,
    link: 'PROJ-1',
    heard: ['failed:JIRA_REJECTED', 'published:PROJ-1'],
  },
];

describe('one replica, faults between clicks', () => {
  it.each(cases)('$name', async (c) => {
    const w = (world = await createWorld({ settleMs: c.settleMs }));
    c.arrange?.(w);
    const service = w.replica('a');
    await service.publish(request());
    if (c.clicks === 2) {
      await c.between?.(w);
      await service.publish(request());
    }
    expect(w.jira.issues).toHaveLength(c.issues);
    expect(w.workflows.workflow.jiraLinks).toEqual([{ path: SPEC, jiraKey: c.link }]);
    expect(told(w)).toEqual(c.heard);
    expect(await leftovers(w)).toEqual([]);
  });

  it('a refused create is not searched for on the retry (nothing can exist)', async () => {
    const w = (world = await createWorld());
    w.jira.createFaults = ['rejected'];
    const service = w.replica('a');
    await service.publish(request());
    await service.publish(request());
    expect(w.jira.calls).toEqual(['create', 'create']);
  });
});

describe('the workflow read before the lease', () => {
  it('someone links the document between that read and the in-flight write: nothing is created, the user hears of the link', async () => {
    const w = (world = await createWorld());
    w.workflows.beforeInFlightWrite = () => w.workflows.linkElsewhere({ path: SPEC, jiraKey: 'PROJ-77' });
    await w.replica('a').publish(request());
    expect(w.jira.issues).toHaveLength(0);
    expect(told(w)).toEqual(['already-linked:PROJ-77']);
    expect(await leftovers(w)).toEqual([]);
  });

  it('a change to another document meanwhile does not stop the publish', async () => {
    const w = (world = await createWorld());
    w.workflows.beforeInFlightWrite = () => w.workflows.linkElsewhere({ path: 'specs/001-x/plan.md', jiraKey: 'PROJ-50' });
    await w.replica('a').publish(request());
    expect(told(w)).toEqual(['published:PROJ-1']);
    expect(w.workflows.workflow.jiraLinks.map((l) => l.jiraKey)).toEqual(['PROJ-50', 'PROJ-1']);
  });

  it('a document that cannot be read leaves no in-flight record behind (it is read while the record is written)', async () => {
    const w = (world = await createWorld());
    w.documentFaults.read = 1;
    await w.replica('a').publish(request());
    expect(told(w)).toEqual(['failed:DOCUMENT_SOURCE_FAILED']);
    expect(w.jira.calls).toEqual([]);
    expect(await leftovers(w)).toEqual([]);
  });
});

describe('a lease lost while waiting on a 429', () => {
  it('the worker that lost it never creates; the one that took over does, once', async () => {
    const w = (world = await createWorld());
    const [a, b] = [w.replica('a'), w.replica('b')];
    w.jira.createFaults = ['rate-limited'];
    // While A sleeps on Retry-After, its lease vanishes (a Redis failover) and B's recovery takes over.
    w.jira.onRateLimited = async () => {
      for (const key of await w.store.keys('lock:')) await w.store.delete(key);
      await b.recoverInterrupted();
    };
    await a.publish(request());
    expect(w.jira.issues).toHaveLength(1);
    expect(w.workflows.workflow.jiraLinks).toEqual([{ path: SPEC, jiraKey: 'PROJ-1' }]);
    // B finished it (recovered) and A, starting over under a new lease, found it linked.
    expect(told(w)).toEqual(['published:PROJ-1', 'already-linked:PROJ-1']);
    expect(await leftovers(w)).toEqual([]);
  });

  it('a worker that cannot reach the store to prove its lease does not create; recovery finishes once the lease expires', async () => {
    const w = (world = await createWorld());
    const a = w.replica('a');
    w.jira.createFaults = ['rate-limited'];
    const compareAndSwap = w.store.compareAndSwap.bind(w.store);
    // From the 429 on, the store stops answering compare-and-swaps: the lease can be neither renewed nor proven.
    w.jira.onRateLimited = () => {
      w.store.compareAndSwap = () => Promise.reject(new Error('store unreachable'));
    };
    await a.publish(request());
    expect(w.jira.issues).toHaveLength(0);
    expect(told(w)).toEqual(['failed:PUBLISH_IN_PROGRESS']);

    // The store is back and the unrenewed lease has expired: the journal and the record lead recovery.
    w.store.compareAndSwap = compareAndSwap;
    for (const key of await w.store.keys('lock:')) await w.store.delete(key);
    await w.replica('b').recoverInterrupted();
    expect(w.jira.issues).toHaveLength(1);
    expect(w.workflows.workflow.jiraLinks).toEqual([{ path: SPEC, jiraKey: 'PROJ-1' }]);
    expect(told(w)).toEqual(['failed:PUBLISH_IN_PROGRESS', 'published:PROJ-1']);
    expect(await leftovers(w)).toEqual([]);
  });
});

describe('recovery from the record on the workflow (the store lost everything)', () => {
  it('an issue created before the store was lost is found, linked, and the user told', async () => {
    const w = (world = await createWorld({ leaseMs: 50 }));
    w.workflows.failNextLinkWrites = 1;
    await w.replica('a').publish(request());
    await wipeJournal(w);
    await sleep(150); // older than any live attempt could be
    await w.replica('b').recoverInterrupted();
    expect(w.workflows.workflow.jiraLinks).toEqual([{ path: SPEC, jiraKey: 'PROJ-1' }]);
    expect(told(w)).toEqual(['failed:KUBERNETES_UNAVAILABLE', 'found:PROJ-1']);
    expect(await leftovers(w)).toEqual([]);
  });

  it('a record whose create never reached Jira is cleared and the user told to publish again', async () => {
    const w = (world = await createWorld({ leaseMs: 50 }));
    await recordInFlight(w, { ageMs: 10_000, userId: 'U1', channelId: 'C1' });
    await w.replica('b').recoverInterrupted();
    expect(w.jira.issues).toHaveLength(0);
    expect(told(w)).toEqual(['failed:NOT_PUBLISHED']);
    expect(await leftovers(w)).toEqual([]);
  });

  it('a forged record naming a channel not bound to the project is ignored', async () => {
    const w = (world = await createWorld({ leaseMs: 50 }));
    await recordInFlight(w, { ageMs: 10_000, userId: 'U9', channelId: 'C-ATTACKER' });
    await w.replica('b').recoverInterrupted();
    expect(w.jira.calls).toEqual([]);
    expect(told(w)).toEqual([]);
  });

  it('a record younger than a live attempt could be is left alone', async () => {
    const w = (world = await createWorld({ leaseMs: 30_000 }));
    await recordInFlight(w, { ageMs: 0, userId: 'U1', channelId: 'C1' });
    await w.replica('b').recoverInterrupted();
    expect(w.jira.calls).toEqual([]);
    expect(w.workflows.workflow.inFlight).toHaveLength(1);
  });
});

describe('the user is told even when the reply cannot be sent at first', () => {
  it('a thread reply that fails leaves the journal entry, and recovery tells the user once', async () => {
    const w = (world = await createWorld());
    w.slackFaults.published = 1;
    await w.replica('a').publish(request());
    expect(w.workflows.workflow.jiraLinks).toEqual([{ path: SPEC, jiraKey: 'PROJ-1' }]);
    expect(told(w)).toEqual([]);
    expect(await w.store.keys('journal:')).toHaveLength(1);
    await w.replica('b').recoverInterrupted();
    expect(told(w)).toEqual(['published:PROJ-1']);
    expect(w.jira.issues).toHaveLength(1);
    expect(await leftovers(w)).toEqual([]);
    await w.replica('b').recoverInterrupted();
    expect(told(w)).toEqual(['published:PROJ-1']);
  });
});

describe('what the record on the workflow holds', () => {
  it('no response_url (a credential for the channel) is written to the cluster', async () => {
    const w = (world = await createWorld());
    w.workflows.failNextLinkWrites = 1;
    await w.replica('a').publish(request());
    const [intent] = w.workflows.workflow.inFlight ?? [];
    expect(intent?.replyTo).toEqual({ teamId: 'T1', channelId: 'C1', userId: 'U1' });
    expect(JSON.stringify(intent)).not.toContain('hooks.slack.com');
  });
});

describe('a burst of publishes on one replica', () => {
  it('prepares at most `preparingAtOnce` at a time, and publishes every one', async () => {
    const w = (world = await createWorld());
    let reading = 0;
    let mostAtOnce = 0;
    const documents = {
      list: async () => [],
      read: async (_w: unknown, path: string) => {
        reading += 1;
        mostAtOnce = Math.max(mostAtOnce, reading);
        await sleep(5);
        reading -= 1;
        return { path, phase: 'specify' as const, markdown: '# Doc', sourceUrl: 'https://github.com/o/r/blob/b/doc.md' };
      },
    };
    const service = w.replica('a', {
      documents,
      options: { leaseMs: 30_000, rateLimitMaxWaitMs: 60_000, searchSettleMs: 0, preparingAtOnce: 2 },
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => service.publish(request(`specs/001-x/doc-${i}.md`))));
    expect(mostAtOnce).toBe(2);
    expect(w.jira.issues).toHaveLength(10);
    expect(told(w).filter((t) => t.startsWith('published:'))).toHaveLength(10);
  });
});
