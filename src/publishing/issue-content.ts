import { createHash } from 'node:crypto';
import type { DocumentContent, JiraIssue, JiraSettings, Phase, Workflow, WorkflowRef } from './model.ts';
import { phaseOf } from './paths.ts';

/** Jira limits: summary 255 characters, description (a text field) 32,767. */
const SUMMARY_MAX = 255;
const DESCRIPTION_MAX = 32_000;
const ISSUE_KEY = /^[A-Z][A-Z0-9_]+-[1-9][0-9]*$/;

/** Label every issue the bot creates carries, to find them in Jira. */
export const BOT_LABEL = 'vteam-rfe';

/** A stable, Jira-safe label naming one (workflow, path): how the bot finds its own issue after a crash. */
export function idempotencyLabel(ref: WorkflowRef, path: string): string {
  return `vteam-${documentId(ref, path)}`;
}

/** Short stable id of one document of one workflow (hex, 16 chars). */
export function documentId(ref: WorkflowRef, path: string): string {
  const name = `${ref.namespace}/${ref.name}:${path}`;
  let id = documentIds.get(name);
  if (id === undefined) {
    id = createHash('sha256').update(name).digest('hex').slice(0, 16);
    // Every mapping of a workflow asks again (its in-flight annotations are keyed by it): remembered, bounded.
    if (documentIds.size >= DOCUMENT_IDS_KEPT) documentIds.clear();
    documentIds.set(name, id);
  }
  return id;
}

const DOCUMENT_IDS_KEPT = 10_000;
const documentIds = new Map<string, string>();

export function issueSummary(workflow: Workflow, phase: Phase): string {
  const title = workflow.title.replace(/\s+/g, ' ').trim() || workflow.name;
  const summary = `[RFE] ${title} - ${phase}`;
  return summary.length <= SUMMARY_MAX ? summary : `${summary.slice(0, SUMMARY_MAX - 1)}…`;
}

/**
 * Markdown, which Rovo turns into ADF and mcp-atlassian into wiki markup on Server/DC. No `---`
 * rule under the Source line: the DC conversion reads it as an empty `h2.` heading.
 */
export function issueDescription(document: DocumentContent): string {
  const header = `**Source:** ${document.sourceUrl}\n\n`;
  const room = DESCRIPTION_MAX - header.length;
  const body =
    document.markdown.length <= room
      ? document.markdown
      : `${document.markdown.slice(0, room - 80)}\n\n_(truncated: the full document is at the Source link above)_`;
  return header + body;
}

/** `--type`/modal choice first, then the project's type for this phase, then its default. */
export function chooseIssueType(settings: JiraSettings, phase: Phase, explicit?: string): string {
  const chosen = explicit?.trim() || settings.issueTypes[phase] || settings.issueTypes.default;
  return chosen;
}

/** Whether `text` is a Jira issue key such as `PROJ-123`. */
export function isIssueKey(text: string): boolean {
  return ISSUE_KEY.test(text);
}

/** spec.parentOutcome, only when it is a well-formed issue key (it is user-written CR data). */
export function parentKey(workflow: Workflow): string | undefined {
  const key = workflow.parentOutcome?.trim();
  return key && isIssueKey(key) ? key : undefined;
}

/** An issue known only from the workflow's link (no Jira call): what "already published" shows. */
export function linkedIssue(workflow: Workflow, path: string, key: string, url: string): JiraIssue {
  return { key, url, summary: issueSummary(workflow, phaseOf(path)), issueType: '' };
}
