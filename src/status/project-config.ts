/**
 * Which bound projects cannot publish because of their configuration (shown to administrators).
 * The settings are read through the ProjectDirectory, so the check sees exactly what a publish sees.
 */
import type { JiraSettings } from '../publishing/model.ts';
import type { ProjectDirectory } from '../publishing/ports.ts';
import type { ProjectProblem } from './report.ts';
import { describeFailure } from './probe.ts';

const PARALLEL = 8;

/** What is wrong with one project's Jira settings; undefined when they look usable. Pure. */
export function settingsProblem(settings: JiraSettings | undefined, secretName: string): string | undefined {
  if (settings === undefined)
    return `no Jira settings: set JIRA_URL and JIRA_PROJECT in the Secret \`${secretName}\` (or run \`/vteam jira-config\`)`;
  let url: URL;
  try {
    url = new URL(settings.siteUrl);
  } catch {
    return `the Jira site \`${settings.siteUrl}\` is not a URL`;
  }
  if (url.protocol !== 'https:') return `the Jira site \`${settings.siteUrl}\` is not https`;
  if (!/^[A-Z][A-Z0-9_]*$/.test(settings.projectKey)) return `the Jira project key \`${settings.projectKey}\` is not valid`;
  if (!settings.issueTypes.default) return 'no default issue type';
  return undefined;
}

export async function findProjectProblems(
  projects: Pick<ProjectDirectory, 'bindings' | 'jiraSettings'>,
  signal?: AbortSignal,
): Promise<ProjectProblem[]> {
  const bindings = await projects.bindings();
  const problems: (ProjectProblem | undefined)[] = new Array(bindings.length);
  let next = 0;
  const worker = async () => {
    while (next < bindings.length && signal?.aborted !== true) {
      const index = next++;
      const binding = bindings[index]!;
      let problem: string | undefined;
      try {
        const { settings, secretName } = await projects.jiraSettings(binding.namespace);
        problem = settingsProblem(settings, secretName);
      } catch (error) {
        problem = `its Jira settings cannot be read (${describeFailure(error)})`;
      }
      if (problem !== undefined) problems[index] = { namespace: binding.namespace, channels: binding.channels, problem };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, bindings.length) }, worker));
  return problems.filter((p): p is ProjectProblem => p !== undefined).sort((a, b) => a.namespace.localeCompare(b.namespace));
}
