import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppRoute } from './routes.ts';

export type ReadinessCheck = () => Promise<void>;

export interface ReadinessOptions {
  store: ReadinessCheck;
  /** False once shutdown began: the replica stops receiving new work. */
  accepting?: () => boolean;
  /** Socket Mode only: whether the WebSocket to Slack is up (see trackSocketModeConnection). */
  slackConnected?: () => boolean;
}

/**
 * The checks /readyz runs, whether this replica can serve Slack: store reachable, Slack connected
 * (Socket Mode), not shutting down. Not the Kubernetes API: it is shared by every replica, so a blip
 * would take them all out of the Service at once, and Slack would get 503s instead of the friendly
 * "cluster unavailable" answer. Its state shows in /vteam jira-status and vteam_slack_kubernetes_up.
 */
export function readinessChecks(options: ReadinessOptions): Record<string, ReadinessCheck> {
  const { accepting, slackConnected } = options;
  return {
    store: options.store,
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
 * `/healthz`: the process answers. `/readyz`: every check (readinessChecks) passes within a short
 * timeout; the body names the ones that do not (no secrets, no stack traces).
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
