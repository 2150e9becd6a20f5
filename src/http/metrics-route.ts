import type { CustomRoute } from '@slack/bolt';
import type { Registry } from 'prom-client';

/** `/metrics` in the Prometheus text format, from prom-client's registry. */
export function metricsRoute(registry: Registry): CustomRoute {
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
