import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import { describeKubeFailure, kubeFailureFields, kubeFailureSummary } from './kube-errors.ts';

export interface ApiHealth {
  stop(): void;
}

/**
 * Asks the Kubernetes API server for its version every `intervalMs` (a cheap GET /version, bounded by
 * the clients' timeout) and keeps vteam_slack_kubernetes_up at 1 while it answers, 0 while it does not.
 * Readiness does not depend on the API; this gauge (and its alert) and /vteam jira-status tell its state.
 * Only changes are logged.
 */
export function watchApiHealth(options: {
  ping: () => Promise<void>;
  metrics: Pick<Metrics, 'kubernetesUp'>;
  intervalMs?: number;
  /** The API server, for log lines (KubeClients.server). */
  apiServer?: string | undefined;
  logger?: Logger | undefined;
}): ApiHealth {
  const { ping, metrics, logger } = options;
  let up: boolean | undefined;
  let probing = false;
  let stopped = false;

  async function probe(): Promise<void> {
    if (probing || stopped) return;
    probing = true;
    try {
      await ping();
      if (stopped) return;
      metrics.kubernetesUp.set(1);
      if (up === false) logger?.info('the Kubernetes API answers again');
      up = true;
    } catch (error) {
      if (stopped) return;
      metrics.kubernetesUp.set(0);
      if (up !== false) {
        // Host and cause, no stack trace; no cluster at all was already said once at start.
        const failure = describeKubeFailure(error, options.apiServer ?? 'the configured API server');
        const text = `the Kubernetes API does not answer: ${kubeFailureSummary(failure)}`;
        if (failure.kind === 'not-configured') logger?.debug({ kubernetes: failure.kubernetes, cause: failure.cause }, text);
        else logger?.warn(kubeFailureFields(failure, error), text);
      }
      up = false;
    } finally {
      probing = false;
    }
  }

  void probe();
  const timer = setInterval(() => void probe(), options.intervalMs ?? 15_000);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
