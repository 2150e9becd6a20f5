/**
 * The nets under every background task, for the whole process.
 *
 * An unhandled rejection is one task's bug (a card sweep, a probe, a timer): Node would end the
 * process for it, and every Slack request with it. Here it is logged at error level with its stack and
 * cause, counted, and the process keeps serving.
 *
 * An uncaught exception is different: a synchronous callback stopped half-way, so state may be
 * inconsistent. It is logged, and Node still ends the process with status 1 (only a monitor listens),
 * for the orchestrator to restart it; journaled publishes are finished by recovery.
 */
import type { Logger } from 'pino';
import { processMetrics } from './observability/metrics.ts';

/** Installs both handlers; returns the function that removes them. */
export function installProcessHandlers(
  logger: Logger,
  unhandledRejections: { inc(): void } = processMetrics.unhandledRejections,
): () => void {
  const onUnhandledRejection = (reason: unknown) => {
    unhandledRejections.inc();
    logger.error({ err: reason, event: 'unhandledRejection' }, 'a promise rejection was not handled (a bug); the process keeps serving');
  };
  const onUncaughtException = (error: Error, origin: string) => {
    logger.fatal({ err: error, event: origin }, 'uncaught exception (a bug); the process exits');
  };
  process.on('unhandledRejection', onUnhandledRejection);
  process.on('uncaughtExceptionMonitor', onUncaughtException);
  return () => {
    process.off('unhandledRejection', onUnhandledRejection);
    process.off('uncaughtExceptionMonitor', onUncaughtException);
  };
}
