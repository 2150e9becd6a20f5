/**
 * The load generator's own thread: signed requests are sent and timed here, away from the bench's
 * main event loop, which also runs every fake server. A busy fake must not show up as a slow ack.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { postToSlackEvents } from '../test/support/slack-requests.ts';
import type { LoadPlan, LoadResult } from './load-generator.ts';

const plan = workerData as LoadPlan;

async function run(): Promise<LoadResult[]> {
  const results: LoadResult[] = new Array<LoadResult>(plan.requests.length);
  const fire = async (index: number) => {
    const sentAt = performance.timeOrigin + performance.now();
    try {
      const answer = await postToSlackEvents(plan.appUrl, plan.signingSecret, plan.requests[index]!.body);
      results[index] = { index, status: answer.status, ms: answer.ms, sentAt };
    } catch (error) {
      results[index] = { index, status: 0, ms: Number.NaN, sentAt, error: String(error) };
    }
  };
  if (plan.mode === 'all-at-once') {
    await Promise.all(plan.requests.map((_, i) => fire(i)));
  } else {
    // Each user sends its requests back to back; all users at the same time.
    const byUser = new Map<number, number[]>();
    plan.requests.forEach((r, i) => byUser.set(r.user, [...(byUser.get(r.user) ?? []), i]));
    await Promise.all([...byUser.values()].map(async (indexes) => {
      for (const i of indexes) await fire(i);
    }));
  }
  return results;
}

run().then((results) => parentPort?.postMessage(results), (error: unknown) => { throw error; });
