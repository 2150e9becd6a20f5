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

export function runLoad(plan: LoadPlan): Promise<LoadResult[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.ts', import.meta.url), { workerData: plan });
    worker.once('message', (results: LoadResult[]) => {
      resolve(results);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0 && code !== 1) reject(new Error(`load worker exited with ${code}`));
    });
  });
}
