/**
 * The load generator's own thread: signed requests are sent and timed here, away from the bench's
 * main event loop, which also runs every fake server. A busy fake must not show up as a slow ack.
 *
 * node:http, not fetch(): undici's fetch adds tens of milliseconds per request when 50 start at once
 * in a fresh thread (measured against a server that answers instantly), which would be counted as
 * the app's. Each request opens its own connection, as Slack's do.
 */
import { request } from 'node:http';
import { parentPort } from 'node:worker_threads';
import { signSlackBody } from '../test/support/slack-requests.ts';
import type { LoadPlan, LoadResult } from './load-generator.ts';

function post(plan: LoadPlan, body: string, url: URL): Promise<{ status: number; ms: number }> {
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
    ...signSlackBody(plan.signingSecret, body),
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function run(plan: LoadPlan): Promise<LoadResult[]> {
  const target = new URL('/slack/events', plan.appUrl);
  const warmUpTarget = new URL('/healthz', plan.appUrl);
  // A fresh thread runs the request code cold (interpreted, lazily loaded): warm it on the app's
  // health route, untimed, with as many requests at once as the plan will send.
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: Math.min(plan.requests.length, 50) }, () => post(plan, 'warm-up', warmUpTarget).catch(() => undefined)),
    );
  }
  const results: LoadResult[] = new Array<LoadResult>(plan.requests.length);
  const fire = async (index: number) => {
    const sentAt = performance.timeOrigin + performance.now();
    try {
      const answer = await post(plan, plan.requests[index]!.body, target);
      results[index] = { index, status: answer.status, ms: answer.ms, sentAt };
    } catch (error) {
      results[index] = { index, status: 0, ms: Number.NaN, sentAt, error: String(error) };
    }
  };
  if (plan.mode === 'all-at-once') {
    await Promise.all(plan.requests.map((_, i) => fire(i)));
  } else if (plan.mode === 'scheduled') {
    const start = performance.now();
    await Promise.all(
      plan.requests.map(async (r, i) => {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, (r.atMs ?? 0) - (performance.now() - start))));
        await fire(i);
      }),
    );
  } else {
    // Each user sends its requests back to back; all users at the same time.
    const byUser = new Map<number, number[]>();
    plan.requests.forEach((r, i) => byUser.set(r.user, [...(byUser.get(r.user) ?? []), i]));
    await Promise.all(
      [...byUser.values()].map(async (indexes) => {
        for (const i of indexes) await fire(i);
      }),
    );
  }
  return results;
}

// One plan at a time, for as long as the bench runs (load-generator.ts).
parentPort?.on('message', (plan: LoadPlan) => {
  run(plan).then(
    (results) => parentPort?.postMessage(results),
    (error: unknown) => {
      throw error;
    },
  );
});
