import type { Registry } from 'prom-client';
import type { AppRoute } from './routes.ts';

/** `/metrics` in the Prometheus text format, from prom-client's registry. */
export function metricsRoute(registry: Registry): AppRoute {
  return {
    path: '/metrics',
    method: ['GET'],
    handler: async (_req, res) => {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      res.end(body);
    },
  };
}
