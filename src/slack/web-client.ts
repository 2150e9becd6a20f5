import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { slackLogger } from '../lib/slack-logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { slackApiFetch } from '../observability/slack-api.ts';

/**
 * Every Web API call ends: 8 s per attempt, 2 quick retries (the default is 10 over 30 minutes), so a
 * reply in flight finishes well inside the 25 s shutdown drain. Bolt's listeners and the bot's own
 * client (the notifier, built before Bolt) share these options. With `metrics`, every request is timed
 * (vteam_slack_slack_api_duration_seconds).
 */
export function webClientOptions(
  config: Config,
  metrics?: Pick<Metrics, 'slackApiDuration'>,
): Pick<WebClientOptions, 'slackApiUrl' | 'timeout' | 'retryConfig' | 'fetch'> {
  return {
    ...(config.slack.apiUrl ? { slackApiUrl: withTrailingSlash(config.slack.apiUrl) } : {}),
    timeout: 8_000,
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2_000 },
    ...(metrics ? { fetch: slackApiFetch(metrics) } : {}),
  };
}

/** The bot's Web API client outside Bolt's listeners (results, DMs, thread replies). */
export function createSlackWebClient(config: Config, logger: Logger, metrics?: Pick<Metrics, 'slackApiDuration'>): WebClient {
  return new WebClient(config.slack.botToken, { ...webClientOptions(config, metrics), logger: slackLogger(logger, 'web-api') });
}

export function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
