import type { App } from '@slack/bolt';
import type { Metrics } from '../observability/metrics.ts';

export type SlackRequestKind = 'command' | 'action' | 'view' | 'options' | 'shortcut' | 'event' | 'other';

/**
 * Times every Slack request from the moment the receiver (HTTP or Socket Mode) hands it to Bolt to its
 * acknowledgement, into vteam_slack_ack_duration_seconds{kind}. Wraps App#processEvent, the one entry
 * both receivers call, rather than a global middleware: Bolt acknowledges Events API requests itself
 * before any middleware runs, and the time spent before the middleware (authorization) counts too.
 */
export function timeAcks(app: App, metrics: Pick<Metrics, 'ackDuration'>): void {
  const handle = app.processEvent.bind(app);
  app.processEvent = (event) => {
    const started = performance.now();
    const kind = requestKind(event.body);
    let observed = false;
    const ack = event.ack;
    return handle({
      ...event,
      ack: async (response?: unknown) => {
        try {
          await ack(response);
        } finally {
          if (!observed) {
            observed = true;
            metrics.ackDuration.observe({ kind }, (performance.now() - started) / 1000);
          }
        }
      },
    });
  };
}

export function requestKind(body: Record<string, unknown>): SlackRequestKind {
  if (typeof body.command === 'string') return 'command';
  switch (body.type) {
    case 'block_actions':
    case 'interactive_message':
      return 'action';
    case 'view_submission':
    case 'view_closed':
      return 'view';
    case 'block_suggestion':
    case 'dialog_suggestion':
      return 'options';
    case 'shortcut':
    case 'message_action':
      return 'shortcut';
    case 'event_callback':
      return 'event';
    default:
      return 'other';
  }
}
