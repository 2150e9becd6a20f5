import type { HomeView, KnownBlock } from '@slack/types';
import type { RecentPublish } from '../../publishing/user-records.ts';
import type { AtlassianLink } from '../../storage/types.ts';
import { ACTIONS } from '../action-values.ts';
import { clip, code, escapeMrkdwn, link, mrkdwnSection } from './text.ts';

/** A link button still sends an action, which must be acknowledged. */
export const OPEN_SIGN_IN = 'open_atlassian_sign_in';

const connectButton = (text = 'Connect Atlassian account') => ({
  type: 'button' as const,
  action_id: ACTIONS.connect,
  text: { type: 'plain_text' as const, text },
  style: 'primary' as const,
  value: 'connect',
});

/**
 * The prompt to link an account. It carries a button, never a URL: each click mints a fresh,
 * single-use sign-in link, so an old DM never holds an expired one.
 */
export function connectPrompt(reason: 'missing' | 'broken' | 'asked', path?: string): { text: string; blocks: KnownBlock[] } {
  const waiting = path ? ` Your publish of ${code(clip(path, 200))} continues by itself once you are connected.` : '';
  const text =
    reason === 'broken'
      ? `Jira authentication expired. Please re-authenticate: connect your Atlassian account again.${waiting}`
      : `Connect your Atlassian account so that Jira issues are created as you, with your own permissions.${waiting}`;
  return {
    text,
    blocks: [
      mrkdwnSection(text),
      { type: 'actions', elements: [connectButton(reason === 'broken' ? 'Reconnect Atlassian account' : undefined)] },
    ],
  };
}

/**
 * What replaces the prompt after a click: a fresh sign-in link (the bot's `/oauth/start`, which
 * binds the sign-in to the browser that opens it) and a way to get another.
 */
export function signInLink(
  signInUrl: string,
  expiresAt: number,
  via: 'bot' | 'contextforge' = 'bot',
): { text: string; blocks: KnownBlock[] } {
  const minutes = Math.max(1, Math.round((expiresAt - Date.now()) / 60_000));
  // MCF's own page after the sign-in is written for its admins; the bot notices the link by itself.
  const after =
    via === 'contextforge'
      ? ' When a page says "OAuth Authorization Successful", close it: the bot notices within seconds and tells you here.'
      : '';
  const text = `Sign in to Atlassian to connect your account. This link works once, for ${minutes} minutes; finish the sign-in in the browser it opens.${after}`;
  return {
    text,
    blocks: [
      mrkdwnSection(text),
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: OPEN_SIGN_IN,
            text: { type: 'plain_text', text: 'Open Atlassian sign-in' },
            url: signInUrl,
            style: 'primary',
          },
          { type: 'button', action_id: ACTIONS.connect, text: { type: 'plain_text', text: 'Get a new link' }, value: 'connect' },
        ],
      },
    ],
  };
}

export function connectedMessage(link: AtlassianLink): { text: string } {
  const sites = listed((link.sites ?? []).map((s) => clip(s.url.replace(/^https?:\/\//, ''), 80)));
  const who = link.accountName ? ` as ${escapeMrkdwn(clip(link.accountName, 80))}` : '';
  // No site list (it could not be read just now) is not "no site": it is read again at the first publish.
  const where = sites === '' ? '' : ` to ${escapeMrkdwn(sites)}`;
  return { text: `:white_check_mark: Connected${who}${where}. Jira issues you publish are now created with your own Atlassian account.` };
}

/** After a link through MCP Context Forge: MCF holds the tokens, so there is no account or site list to show. */
export function gatewayConnectedMessage(): { text: string } {
  return {
    text: ':white_check_mark: Connected: MCP Context Forge now holds your Atlassian authorization, and Jira issues you publish are created with your own Atlassian account.',
  };
}

/** `/vteam disconnect` behind MCP Context Forge: the link is MCF's, and MCF offers no way to remove it. */
export function gatewayDisconnectMessage(teamId: string | undefined): { text: string } {
  const team = teamId === undefined ? "the Atlassian server's team" : `the team ${code(clip(teamId, 128))}`;
  return {
    text: `Your Atlassian authorization is held by MCP Context Forge, not by this bot, and MCF offers no way to remove it from here: revoke it yourself in your Atlassian account settings (Connected apps), or ask your MCF admin to remove you from ${team} or to deactivate your MCF user.`,
  };
}

export function homeView(linkState: AtlassianLink | undefined, recent: RecentPublish[]): HomeView {
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: 'vTeam for Slack' } }];
  if (!linkState) {
    blocks.push(...connectPrompt('asked').blocks);
  } else {
    const sites = listed((linkState.sites ?? []).map((s) => link(s.url, clip(s.name, 80)))) || '_read at your next publish_';
    const since = `<!date^${Math.floor(linkState.linkedAt / 1000)}^{date_short_pretty}|${new Date(linkState.linkedAt).toISOString()}>`;
    const expiry = linkState.expiresAt ? ` · token renews <!date^${Math.floor(linkState.expiresAt / 1000)}^{time}|soon>` : '';
    const status = linkState.broken
      ? ':warning: *Atlassian link broken*: reconnect to publish again.'
      : `:link: *Atlassian account connected*${linkState.accountName ? ` as ${escapeMrkdwn(clip(linkState.accountName, 80))}` : ''}`;
    blocks.push(mrkdwnSection(`${status}\nSites: ${sites}\nSince ${since}${expiry}`), {
      type: 'actions',
      elements: [
        linkState.broken
          ? connectButton('Reconnect Atlassian account')
          : {
              type: 'button',
              action_id: ACTIONS.disconnect,
              text: { type: 'plain_text', text: 'Disconnect' },
              style: 'danger',
              value: 'disconnect',
              confirm: {
                title: { type: 'plain_text', text: 'Disconnect Atlassian?' },
                text: { type: 'plain_text', text: 'Publishing will ask you to connect again. Issues and links stay as they are.' },
                confirm: { type: 'plain_text', text: 'Disconnect' },
                deny: { type: 'plain_text', text: 'Cancel' },
              },
            },
      ],
    });
  }
  blocks.push({ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: '*Your recent publishes*' } });
  if (recent.length === 0) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'Nothing yet. Use `/vteam publish <workflow>` in a channel bound to a vTeam project.' }],
    });
  }
  for (const entry of recent) {
    blocks.push(
      mrkdwnSection(
        `${link(entry.issue.url, clip(entry.issue.key, 40))} · ${escapeMrkdwn(clip(entry.title, 80))} · ${code(clip(entry.path, 200))} · <!date^${Math.floor(entry.at / 1000)}^{date_short_pretty}|${new Date(entry.at).toISOString()}>`,
      ),
    );
  }
  return { type: 'home', blocks };
}

/** The first few of a list, and how many more: a user may have granted dozens of sites. */
function listed(items: string[], shown = 5): string {
  const head = items.slice(0, shown).join(', ');
  return items.length > shown ? `${head} and ${items.length - shown} more` : head;
}
