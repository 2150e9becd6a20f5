/** A workflow, its document rows and a store with locks, for the card modules' unit tests. */
import type { DocumentRow, Workflow } from '../../src/publishing/model.ts';
import { createLockService } from '../../src/storage/locks.ts';
import { createStore } from '../../src/storage/store.ts';

export const CHANNEL = 'C0000000001';
export const SPEC = 'specs/001-x/spec.md';
export const PLAN = 'specs/001-x/plan.md';

export function workflowLinking(links: Record<string, string> = {}): Workflow {
  return {
    namespace: 'team-a',
    name: 'rfe-1',
    title: 'Dark mode',
    description: 'Allow users to switch themes',
    resourceVersion: '1',
    jiraLinks: Object.entries(links).map(([path, jiraKey]) => ({ path, jiraKey })),
  };
}

export function rowsOf(workflow: Workflow): DocumentRow[] {
  return [SPEC, PLAN].map((path) => {
    const jiraKey = workflow.jiraLinks.find((l) => l.path === path)?.jiraKey;
    return {
      path,
      phase: path === PLAN ? 'plan' : 'specify',
      jiraKey,
      url: jiraKey ? `https://acme.atlassian.net/browse/${jiraKey}` : undefined,
    };
  });
}

/** One store; `locksAs` gives each caller (a replica, the reconciler) its own lock owner. */
export async function openStore() {
  const store = await createStore('sqlite::memory:');
  return { store, locksAs: (owner: string) => createLockService(store, { owner }) };
}
