import { describe, expect, it } from 'vitest';
import { linkedIssueRefusal } from '../../src/publishing/linked-issue-guard.ts';

const settings = { projectKey: 'PROJ' };
const workflow = { namespace: 'team-a', name: 'rfe-1' };
const refusal = (jiraKey: string) => linkedIssueRefusal({ path: 'specs/001/spec.md', jiraKey }, settings, workflow)?.userMessage;

describe('which linked issues the bot may write to', () => {
  it('accepts keys of the configured Jira project', () => {
    expect(refusal('PROJ-1')).toBeUndefined();
    expect(refusal('PROJ-12345')).toBeUndefined();
  });

  it.each(['OTHER-1', 'PROJX-1', 'PRO-1', 'PROJ_A-7'])('refuses %s, another project, naming the configured one', (key) => {
    expect(refusal(key)).toBe(
      `\`${key}\` is not in Jira project \`PROJ\` configured for project \`team-a\`, so it was not updated; fix the link of \`specs/001/spec.md\` in the workflow's \`spec.jiraLinks\`, or ask a project admin to correct the project's Jira settings with \`/vteam jira-config team-a\`.`,
    );
  });

  it.each(['proj-1', 'PROJ-0', 'PROJ-01', ' PROJ-1', 'PROJ-1 ', 'PROJ-1\n<!channel>', 'PROJ', '-1', 'PROJ-1-2', '<https://evil|PROJ-1>'])(
    'refuses %j, not an issue key, without repeating it',
    (key) => {
      const message = refusal(key);
      expect(message).toMatch(
        /^The Jira link recorded for `specs\/001\/spec\.md` is not a Jira issue key, so nothing was sent to Jira; fix the link/,
      );
      expect(message).not.toContain('<');
    },
  );
});
