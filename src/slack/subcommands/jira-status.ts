/**
 * `/vteam jira-status`: the caller's view of whether publishing works, answered ephemerally within
 * Slack's patience (the status service bounds every probe). Others' failures are shown only for the
 * projects bound to the channel asked in; administrators see every project's, and configuration
 * problems across projects and channels.
 */
import type { Logger } from 'pino';
import type { StatusService } from '../../status/status-service.ts';
import { jiraStatusMessage } from '../blocks/status.ts';
import type { Subcommand } from '../handlers/vteam-command.ts';

export interface JiraStatusDeps {
  status: StatusService;
  /** Whether a Slack user id is an administrator (see createAdminCheck). */
  isAdmin: (userId: string) => Promise<boolean>;
  logger?: Logger | undefined;
}

export function createJiraStatusSubcommand(deps: JiraStatusDeps): Subcommand {
  return {
    name: 'jira-status',
    help: '`/vteam jira-status`: whether publishing to Jira works for you (MCP server, your Atlassian link, rate budget, cluster, recent failures)',
    async run({ user, channelId, respond }) {
      const isAdmin = deps.isAdmin(user.userId).catch((error: unknown) => {
        deps.logger?.warn({ err: error }, 'admin check failed; showing the non-admin view');
        return false;
      });
      const report = await deps.status.report(user, { isAdmin, channelId });
      await respond({ response_type: 'ephemeral', ...jiraStatusMessage(report) });
    },
  };
}
