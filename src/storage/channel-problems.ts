import type { KeyValueStore } from './types.ts';

/** A channel the bot cannot post in (not invited, archived, deleted): reported once, shown to admins. */
export interface ChannelProblem {
  channelId: string;
  /** Slack's error code, e.g. not_in_channel, is_archived, channel_not_found. */
  error: string;
  at: number;
}

const PREFIX = 'channel-problem:';
/** Forgotten after a day so a fixed channel is retried; the card reconciler reports it again if not. */
const TTL_MS = 24 * 3600 * 1000;

/** Slack errors that retrying cannot fix. */
export const UNPOSTABLE = new Set([
  'not_in_channel',
  'is_archived',
  'channel_not_found',
  'restricted_action',
  'restricted_action_read_only_channel',
  'ekm_access_denied',
]);

export function createChannelProblems(store: KeyValueStore) {
  return {
    /** True the first time this channel/error is reported (so the caller logs once). */
    async report(channelId: string, error: string): Promise<boolean> {
      return store.setIfAbsent<ChannelProblem>(`${PREFIX}${channelId}`, { channelId, error, at: Date.now() }, TTL_MS);
    },
    async has(channelId: string): Promise<boolean> {
      return (await store.get<ChannelProblem>(`${PREFIX}${channelId}`)) !== undefined;
    },
    clear: (channelId: string) => store.delete(`${PREFIX}${channelId}`).then(() => undefined),
    async list(): Promise<ChannelProblem[]> {
      const keys = await store.keys(PREFIX);
      const found = await Promise.all(keys.map((k) => store.get<ChannelProblem>(k)));
      return found.filter((p): p is ChannelProblem => p !== undefined);
    },
  };
}

export type ChannelProblems = ReturnType<typeof createChannelProblems>;
