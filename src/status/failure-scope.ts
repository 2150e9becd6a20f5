/**
 * Which recorded publish failures a non-administrator may see in `/vteam jira-status`: failures carry
 * workflow names, paths, Jira errors and Secret names, so only those of the projects bound to the
 * channel they ask in, and their own (wherever they happened: they were told about them already).
 */
import type { PublishFailure } from './failure-log.ts';

export function failureScope(userId: string, boundProjects: readonly string[]): (failure: PublishFailure) => boolean {
  const projects = new Set(boundProjects);
  return (failure) => failure.user === userId || (failure.workflow !== undefined && projects.has(projectOf(failure.workflow)));
}

/** `team-a/rfe-1` → `team-a`; a name without a project matches none. */
function projectOf(workflow: string): string {
  const slash = workflow.indexOf('/');
  return slash < 0 ? '' : workflow.slice(0, slash);
}
