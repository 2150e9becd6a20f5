/**
 * A workflow's documents with their link state: what cards, pickers and the publish command show.
 * Built before the publish service and the Slack surface, so neither needs the other to list rows.
 */
import { isVteamError } from '../errors.ts';
import type { DocumentRow, Workflow } from './model.ts';
import { phaseOf } from './paths.ts';
import { splitTaskPath } from './tasks.ts';
import type { DocumentSource, JiraGateway, ProjectDirectory } from './ports.ts';

export interface RowsOptions {
  /** Cards and pickers: a workflow whose branch is not seeded yet has no documents yet, rather than failing. */
  branchMayBeMissing?: boolean;
}

export type DocumentRows = (workflow: Workflow, options?: RowsOptions) => Promise<DocumentRow[]>;

export function createDocumentRows(deps: {
  documents: DocumentSource;
  projects: Pick<ProjectDirectory, 'jiraSettings'>;
  jira: Pick<JiraGateway, 'browseUrl'>;
}): DocumentRows {
  const { documents, projects, jira } = deps;
  return async (workflow, options = {}) => {
    const [docs, { settings }] = await Promise.all([
      documents.list(workflow).catch((error: unknown) => {
        if (options.branchMayBeMissing && isVteamError(error, 'NO_FEATURE_BRANCH')) return [];
        throw error;
      }),
      projects.jiraSettings(workflow.namespace),
    ]);
    // Links made for paths the listing does not show (renamed files, other layouts) stay visible.
    const listed = new Set(docs.map((d) => d.path));
    // A task's link (`<tasks-path>#T012`) is counted on its document's row, not shown as a row.
    const extra = workflow.jiraLinks
      .filter((l) => !listed.has(l.path) && splitTaskPath(l.path) === undefined)
      .map((l) => ({ path: l.path, phase: phaseOf(l.path) }));
    return [...docs, ...extra].map((doc) => {
      const link = workflow.jiraLinks.find((l) => l.path === doc.path);
      return { ...doc, jiraKey: link?.jiraKey, url: link && settings ? jira.browseUrl(settings.siteUrl, link.jiraKey) : undefined };
    });
  };
}
