import { errors } from '../errors.ts';
import type { Workflow } from './model.ts';

/**
 * Finds the one workflow a user meant among those visible to the channel: by `<project>/<name>`,
 * by name, by exact title, or by an unambiguous title prefix (case-insensitive).
 */
export function resolveWorkflow(argument: string, candidates: readonly Workflow[]): Workflow {
  const arg = argument.trim();
  const qualified = /^([^/\s]+)\/([^/\s]+)$/.exec(arg);
  if (qualified) {
    const match = candidates.find((w) => w.namespace === qualified[1] && w.name === qualified[2]);
    if (match) return match;
    throw errors.workflowNotFound(arg);
  }

  const byName = candidates.filter((w) => w.name === arg);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) throw errors.workflowAmbiguous(arg, byName.map(qualifiedName));

  const needle = fold(arg);
  if (needle.length === 0) throw errors.workflowNotFound(arg);
  const byTitle = candidates.filter((w) => fold(w.title) === needle);
  if (byTitle.length === 1) return byTitle[0]!;
  const byPrefix = byTitle.length > 1 ? byTitle : candidates.filter((w) => fold(w.title).startsWith(needle));
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw errors.workflowAmbiguous(arg, byPrefix.map(qualifiedName));
  throw errors.workflowNotFound(arg);
}

export function qualifiedName(w: { namespace: string; name: string }): string {
  return `${w.namespace}/${w.name}`;
}

function fold(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, ' ').trim().toLowerCase();
}
