import { createHmac } from 'node:crypto';

/** Builds Slack-signed HTTP requests exactly as Slack sends them (v0 HMAC-SHA256 over the raw body). */
export function signSlackBody(signingSecret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature };
}

export interface SlashCommandInput {
  text: string;
  userId?: string;
  teamId?: string;
  channelId?: string;
  responseUrl: string;
}

export function slashCommandBody(input: SlashCommandInput): string {
  return new URLSearchParams({
    token: 'legacy-unused',
    team_id: input.teamId ?? 'T0001',
    team_domain: 'acme',
    channel_id: input.channelId ?? 'C0001',
    channel_name: 'rfe',
    user_id: input.userId ?? 'U0001',
    user_name: 'alice',
    command: '/vteam',
    text: input.text,
    api_app_id: 'A0001',
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: `trig.${Math.random().toString(36).slice(2)}`,
  }).toString();
}

export interface ButtonClickInput {
  actionId: string;
  value: string;
  userId?: string;
  teamId?: string;
  channelId?: string;
  responseUrl: string;
  messageTs?: string;
  ephemeral?: boolean;
}

export function buttonClickBody(input: ButtonClickInput): string {
  return blockActionsBody(input, {
    type: 'button',
    action_id: input.actionId,
    block_id: 'b1',
    value: input.value,
    text: { type: 'plain_text', text: 'Publish to Jira' },
    action_ts: String(Date.now() / 1000),
  });
}

/** The block_actions envelope around one action, from a message in a channel (ephemeral or not). */
function blockActionsBody(input: ButtonClickInput & { triggerId?: string }, action: Record<string, unknown>): string {
  const teamId = input.teamId ?? 'T0001';
  const channelId = input.channelId ?? 'C0001';
  const ts = input.messageTs ?? '1760000000.000001';
  const payload = {
    type: 'block_actions',
    team: { id: teamId, domain: 'acme' },
    user: { id: input.userId ?? 'U0001', username: 'alice', team_id: teamId },
    api_app_id: 'A0001',
    token: 'legacy-unused',
    container: { type: 'message', message_ts: ts, channel_id: channelId, is_ephemeral: input.ephemeral === true },
    trigger_id: input.triggerId ?? `trig.${Math.random().toString(36).slice(2)}`,
    channel: { id: channelId, name: 'rfe' },
    message: input.ephemeral ? undefined : { type: 'message', ts, text: 'card' },
    response_url: input.responseUrl,
    actions: [action],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** POSTs a signed form body to the app's /slack/events and returns status and body. */
export async function postToSlackEvents(
  appUrl: string,
  signingSecret: string,
  body: string,
  options: { timestamp?: number; signature?: string; json?: boolean } = {},
): Promise<{ status: number; body: string; ms: number }> {
  const headers = {
    'content-type': options.json ? 'application/json' : 'application/x-www-form-urlencoded',
    ...signSlackBody(signingSecret, body, options.timestamp),
    ...(options.signature ? { 'x-slack-signature': options.signature } : {}),
  };
  const started = performance.now();
  const response = await fetch(`${appUrl}/slack/events`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text, ms: performance.now() - started };
}

/** An Events API envelope (JSON), e.g. app_home_opened. */
export function eventBody(event: Record<string, unknown>, teamId = 'T0001'): string {
  return JSON.stringify({
    token: 'legacy-unused',
    team_id: teamId,
    api_app_id: 'A0001',
    type: 'event_callback',
    event_id: `Ev${Math.random().toString(36).slice(2)}`,
    event_time: Math.floor(Date.now() / 1000),
    event: { ...event, event_ts: String(Date.now() / 1000) },
    authorizations: [{ team_id: teamId, user_id: 'UBOT', is_bot: true }],
  });
}

export interface OverflowChoiceInput extends ButtonClickInput {
  optionText?: string;
  triggerId?: string;
}

/** A block_actions payload for an option chosen in an overflow menu, as Slack sends it. */
export function overflowChoiceBody(input: OverflowChoiceInput): string {
  return blockActionsBody(input, {
    type: 'overflow',
    action_id: input.actionId,
    block_id: 'b2',
    selected_option: { text: { type: 'plain_text', text: input.optionText ?? 'Publish as…' }, value: input.value },
    action_ts: String(Date.now() / 1000),
  });
}

export type ViewStateValues = Record<
  string,
  Record<
    string,
    { type: string; value?: string | null; selected_option?: { text: { type: 'plain_text'; text: string }; value: string } | null }
  >
>;

export interface ViewSubmissionInput {
  callbackId: string;
  privateMetadata: string;
  values: ViewStateValues;
  viewId?: string;
  userId?: string;
  teamId?: string;
}

/** A view_submission payload (a modal's Submit), as Slack sends it. */
export function viewSubmissionBody(input: ViewSubmissionInput): string {
  const teamId = input.teamId ?? 'T0001';
  const viewId = input.viewId ?? 'VMODAL';
  const payload = {
    type: 'view_submission',
    team: { id: teamId, domain: 'acme' },
    user: { id: input.userId ?? 'U0001', username: 'alice', name: 'alice', team_id: teamId },
    api_app_id: 'A0001',
    token: 'legacy-unused',
    trigger_id: `trig.${Math.random().toString(36).slice(2)}`,
    is_enterprise_install: false,
    enterprise: null,
    view: {
      id: viewId,
      team_id: teamId,
      type: 'modal',
      callback_id: input.callbackId,
      private_metadata: input.privateMetadata,
      state: { values: input.values },
      hash: '1760000000.abcdef',
      blocks: [],
      title: { type: 'plain_text', text: 'Modal' },
      close: null,
      submit: null,
      app_id: 'A0001',
      bot_id: 'BBOT',
      root_view_id: viewId,
      previous_view_id: null,
      clear_on_close: false,
      notify_on_close: false,
      external_id: '',
    },
    response_urls: [],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
