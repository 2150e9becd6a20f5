/** The card as Slack shows it, plus a digest so an unchanged card is not edited again. */
import { createHash } from 'node:crypto';
import type { KnownBlock } from '@slack/types';
import type { Workflow, WorkflowRef } from '../publishing/model.ts';
import type { DocumentRow } from '../publishing/model.ts';
import { splitTaskPath } from '../publishing/tasks.ts';
import { deletedWorkflowCard, workflowCard } from '../slack/blocks/documents.ts';

export interface RenderedCard {
  text: string;
  blocks: KnownBlock[];
  digest: string;
}

export function renderCard(workflow: Workflow, rows: DocumentRow[], vteamUrl: string | undefined): RenderedCard {
  return withDigest(workflowCard(workflow, rows, vteamUrl));
}

export function renderDeletedCard(ref: WorkflowRef, title: string | undefined): RenderedCard {
  return withDigest(deletedWorkflowCard(ref, title));
}

function withDigest(card: { text: string; blocks: KnownBlock[] }): RenderedCard {
  const digest = createHash('sha256')
    .update(JSON.stringify([card.text, card.blocks]))
    .digest('base64url')
    .slice(0, 22);
  return { ...card, digest };
}

/**
 * path → key of a workflow's document links, as stored in card records. Task issues' links
 * (`<tasks path>#T012`) are not rows of the card, so they are left out: else every one of them would
 * read as a link removed.
 */
export function linkMap(workflow: Pick<Workflow, 'jiraLinks'>): Record<string, string> {
  return Object.fromEntries(workflow.jiraLinks.filter((l) => splitTaskPath(l.path) === undefined).map((l) => [l.path, l.jiraKey]));
}
