import type { FetchFunction } from '@slack/web-api';
import type { Metrics } from './metrics.ts';

/**
 * The `fetch` of every Slack Web API client (WebClientOptions.fetch: the bot's own clients, and Bolt's,
 * which also posts to response_url with it): each HTTP request is timed into
 * vteam_slack_slack_api_duration_seconds{method, outcome}. WebClient has no per-call hook; its fetch
 * is the one seam all clients share. Retries are separate requests, each observed.
 *
 * outcome: `ok`; Slack's error code (`channel_not_found`…) for an `{ok:false}` answer; `ratelimited`
 * (429); `http_<status>`; `timeout`; `unreachable` (no answer).
 */
export function slackApiFetch(metrics: Pick<Metrics, 'slackApiDuration'>, base: typeof fetch = globalThis.fetch): FetchFunction {
  return async (url, init) => {
    const method = methodOf(url);
    const started = performance.now();
    const observe = (outcome: string) => metrics.slackApiDuration.observe({ method, outcome }, (performance.now() - started) / 1000);
    let response: Response;
    try {
      response = await base(url, init);
    } catch (error) {
      observe(isTimeout(error) ? 'timeout' : 'unreachable');
      throw error;
    }
    observe(await outcomeOf(response));
    return response;
  };
}

const METHOD = /^[a-z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9]+)+$/;
const ERROR_CODE = /^[a-z0-9_]{1,64}$/;

/** `chat.postMessage` from …/api/chat.postMessage; `response_url` for Slack's response URLs; else `other`. */
function methodOf(url: string | URL): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return 'other';
  }
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (METHOD.test(last)) return last;
  return /^\/(?:commands|actions)\//.test(path) ? 'response_url' : 'other';
}

async function outcomeOf(response: Response): Promise<string> {
  if (response.status === 429) return 'ratelimited';
  if (response.status < 200 || response.status > 299) return `http_${response.status}`;
  if (!(response.headers.get('content-type') ?? '').includes('application/json')) return 'ok';
  // A copy is read, so the caller still gets the body whole.
  const body = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { ok?: unknown; error?: unknown } | undefined;
  if (body?.ok !== false) return 'ok';
  return typeof body.error === 'string' && ERROR_CODE.test(body.error) ? body.error : 'error';
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}
