/** Runs a plan of signed Slack requests on a worker thread and returns each one's ack round trip. */
import { Worker } from 'node:worker_threads';

export interface PlannedRequest {
  user: number;
  /** `scheduled` mode: when to send it, in ms after the plan starts. */
  atMs?: number;
  /** The form body Slack would POST (signed by the worker at send time). */
  body: string;
}

export interface LoadPlan {
  appUrl: string;
  signingSecret: string;
  /**
   * `per-user-bursts`: every user sends its own requests back to back, all users at once.
   * `scheduled`: each request at its own `atMs`, whether or not earlier ones were answered (open loop).
   */
  mode: 'per-user-bursts' | 'all-at-once' | 'scheduled';
  requests: PlannedRequest[];
}

export interface LoadResult {
  index: number;
  status: number;
  ms: number;
  /** Epoch ms (performance.timeOrigin based) when the request was sent. */
  sentAt: number;
  error?: string;
}

/**
 * One load-generator thread for the whole bench, started before the bench lowers its own priority (see
 * run.ts), so it keeps the app's priority while the fake servers give way. Plans run one at a time.
 */
let worker: Worker | undefined;
let queue: Promise<unknown> = Promise.resolve();

/** Starts the load generator's thread now (at the caller's current priority); later calls reuse it. */
export function startLoadGenerator(): void {
  if (worker !== undefined) return;
  worker = new Worker(new URL('./load-worker.ts', import.meta.url));
  worker.unref();
}

export async function stopLoadGenerator(): Promise<void> {
  const running = worker;
  worker = undefined;
  await running?.terminate();
}

export function runLoad(plan: LoadPlan): Promise<LoadResult[]> {
  startLoadGenerator();
  const thread = worker!;
  const run = queue.then(
    () =>
      new Promise<LoadResult[]>((resolve, reject) => {
        const onMessage = (results: LoadResult[]) => {
          cleanup();
          resolve(results);
        };
        const onError = (error: Error) => {
          cleanup();
          reject(error);
        };
        const onExit = (code: number) => {
          cleanup();
          reject(new Error(`load worker exited with ${code}`));
        };
        const cleanup = () => {
          thread.off('message', onMessage).off('error', onError).off('exit', onExit);
        };
        thread.on('message', onMessage).on('error', onError).on('exit', onExit);
        thread.postMessage(plan);
      }),
  );
  queue = run.catch(() => undefined);
  return run;
}
