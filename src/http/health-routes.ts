import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppRoute } from './routes.ts';

export type ReadinessCheck = () => Promise<void>;

export interface ReadinessOptions {
  store: ReadinessCheck;
  kubernetes: ReadinessCheck;
  /** False once shutdown began: the replica stops receiving new work. */
  accepting?: () => boolean;
  /** Socket Mode only: whether the WebSocket to Slack is up (see trackSocketModeConnection). */
  slackConnected?: () => boolean;
}

/** The checks /readyz runs: store and Kubernetes reachable, Slack connected (Socket Mode), not shutting down. */
export function readinessChecks(options: ReadinessOptions): Record<string, ReadinessCheck> {
  const { accepting, slackConnected } = options;
  return {
    store: options.store,
    kubernetes: options.kubernetes,
    ...(slackConnected === undefined
      ? {}
      : {
          slack: async () => {
            if (!slackConnected()) throw new Error('Socket Mode is not connected');
          },
        }),
    ...(accepting === undefined
      ? {}
      : {
          accepting: async () => {
            if (!accepting()) throw new Error('shutting down');
          },
        }),
  };
}

/**
 * `/healthz`: the process answers. `/readyz`: every dependency the bot needs to serve a publish
 * answers within a short timeout; the body names the ones that do not (no secrets, no stack traces).
 */
export function healthRoutes(checks: Record<string, ReadinessCheck>, timeoutMs = 2000): AppRoute[] {
  return [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req: IncomingMessage, res: ServerResponse) => json(res, 200, { status: 'ok' }),
    },
    {
      path: '/readyz',
      method: ['GET'],
      handler: async (_req: IncomingMessage, res: ServerResponse) => {
        const results = await Promise.all(
          Object.entries(checks).map(async ([name, check]) => {
            try {
              await withTimeout(check(), timeoutMs);
              return [name, 'ok'] as const;
            } catch {
              return [name, 'unavailable'] as const;
            }
          }),
        );
        const ready = results.every(([, state]) => state === 'ok');
        json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
      },
    },
  ];
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
