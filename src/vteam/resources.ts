/** Names of the vTeam resources, fixed by the CRDs (see reference §1, §4, §5). */
export const VTEAM_GROUP = 'vteam.ambient-code';
export const VTEAM_VERSION = 'v1alpha1';
export const RFE_WORKFLOWS = 'rfeworkflows';
export const PROJECT_SETTINGS = 'projectsettings';
/** ProjectSettings is a singleton per namespace with this name (enforced by a CEL rule). */
export const PROJECT_SETTINGS_NAME = 'projectsettings';
export const MANAGED_NAMESPACE_SELECTOR = 'ambient-code.io/managed=true';
export const DEFAULT_RUNNER_SECRET = 'ambient-runner-secrets';

/** Annotations the bot reads on the ProjectSettings object. */
export const ANNOTATIONS = {
  slackChannels: 'vteam.ambient-code/slack-channels',
  jiraSite: 'vteam.ambient-code/jira-site',
  jiraProject: 'vteam.ambient-code/jira-project',
  jiraIssueTypes: 'vteam.ambient-code/jira-issue-types',
} as const;
