/**
 * Keys in `spec.jiraLinks` are CR data: anyone who may edit the RFEWorkflow can write any key there,
 * and the bot writes to Jira as the user who clicks, with all of their Jira rights. So before writing
 * to an issue named by such a key, the key must belong to the project's configured Jira project.
 */
import { errors, type VteamError } from '../errors.ts';
import { isIssueKey } from './issue-content.ts';
import type { JiraLink, JiraSettings, WorkflowRef } from './model.ts';

/** Why the bot must not write to the issue this link names; undefined when it may. */
export function linkedIssueRefusal(
  link: JiraLink,
  settings: Pick<JiraSettings, 'projectKey'>,
  workflow: WorkflowRef,
): VteamError | undefined {
  const key = link.jiraKey;
  const fix = `fix the link of \`${link.path}\` in the workflow's \`spec.jiraLinks\``;
  if (!isIssueKey(key)) {
    // The value itself is not echoed: it is arbitrary CR text.
    return errors.badRequest(
      `The Jira link recorded for \`${link.path}\` is not a Jira issue key, so nothing was sent to Jira; ${fix} (a key such as \`${settings.projectKey}-123\`).`,
    );
  }
  if (key.slice(0, key.lastIndexOf('-')) !== settings.projectKey) {
    return errors.badRequest(
      `\`${key}\` is not in Jira project \`${settings.projectKey}\` configured for project \`${workflow.namespace}\`, so it was not updated; ${fix}, or ask a project admin to correct the project's Jira settings with \`/vteam jira-config ${workflow.namespace}\`.`,
    );
  }
  return undefined;
}
