/** Pure: which files of a workspace listing are the workflow's documents, as the vTeam UI finds them. */
import type { WorkflowDocument } from '../publishing/model.ts';
import { PHASE_DOCUMENTS, phaseOf } from '../publishing/paths.ts';

export interface ListingEntry {
  /** Workspace/repository-relative path. */
  path: string;
  isDir: boolean;
}

/**
 * Documents are `specs/<first subdirectory>/{spec,plan,tasks}.md` (e.g. specs/001-dark-mode/), or bare
 * `specs/{spec,plan,tasks}.md` when that subdirectory holds none; always in phase order.
 */
export function documentsIn(entries: readonly ListingEntry[]): WorkflowDocument[] {
  const files = new Set(entries.filter((e) => !e.isDir).map((e) => e.path));
  const firstSubdirectory = entries
    .filter((e) => e.isDir && /^specs\/[^/]+$/.test(e.path))
    .map((e) => e.path)
    .sort(byteOrder)[0];
  const inDirectory = (dir: string) => PHASE_DOCUMENTS.map((name) => `${dir}/${name}`).filter((p) => files.has(p));
  const paths = firstSubdirectory ? inDirectory(firstSubdirectory) : [];
  return (paths.length > 0 ? paths : inDirectory('specs')).map((path) => ({ path, phase: phaseOf(path) }));
}

/** Git sorts names bytewise; localeCompare would reorder case and punctuation. */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
