import { ConfigError, describeConfig, loadConfig } from './config/config.ts';
import { createLogger } from './logging.ts';
import { createVteamSlack } from './app.ts';
import { installProcessHandlers } from './process-handlers.ts';

/** Process entry point: configuration, logger, process-level handlers, the app, and signals. Nothing else. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  installProcessHandlers(logger);
  logger.info({ config: describeConfig(process.env), mode: config.slack.mode }, 'starting vteam-slack');

  let stopping = false;
  const stop = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down: finishing in-flight work');
    try {
      await app.stop();
      process.exit(exitCode);
    } catch (error) {
      logger.error({ err: error }, 'unclean shutdown');
      process.exit(1);
    }
  };
  // stop() cannot reject (it catches, logs and exits), so the callers below need not wait for it.
  // A fatal report (Slack refused the app token) shuts down in order, like a signal, but exits 1.
  const app = await createVteamSlack(config, logger, { onFatal: () => void stop('fatal', 1) });
  await app.start();
  logger.info({ port: config.http.port, mode: config.slack.mode }, 'vteam-slack is listening');
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('SIGINT', () => void stop('SIGINT', 0));
}

main().catch((error: unknown) => {
  console.error(`vteam-slack failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
