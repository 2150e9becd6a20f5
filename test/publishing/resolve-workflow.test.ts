import { describe, expect, it } from 'vitest';
import { resolveWorkflow } from '../../src/publishing/resolve-workflow.ts';
import type { Workflow } from '../../src/publishing/model.ts';

const wf = (namespace: string, name: string, title: string): Workflow => ({
  namespace,
  name,
  title,
  description: '',
  jiraLinks: [],
  resourceVersion: '1',
});
const all = [
  wf('a', 'rfe-1', 'Dark mode'),
  wf('a', 'rfe-2', 'Dark mode for mobile'),
  wf('b', 'rfe-1', 'Search'),
  wf('b', 'rfe-3', 'Billing export'),
];

describe('resolveWorkflow', () => {
  it('finds by <project>/<name>, by unique name, by exact title, by unique title prefix', () => {
    expect(resolveWorkflow('b/rfe-1', all).title).toBe('Search');
    expect(resolveWorkflow('rfe-3', all).title).toBe('Billing export');
    expect(resolveWorkflow('dark MODE', all).name).toBe('rfe-1');
    expect(resolveWorkflow('bill', all).name).toBe('rfe-3');
  });

  it('refuses ambiguity with the candidates named', () => {
    expect(() => resolveWorkflow('rfe-1', all)).toThrow(/`a\/rfe-1`, `b\/rfe-1`/);
    expect(() => resolveWorkflow('Dark', all)).toThrow(/matches several workflows/);
  });

  it('says how to name a workflow when nothing matches', () => {
    expect(() => resolveWorkflow('nope', all)).toThrow(/No RFE workflow matches `nope`/);
    expect(() => resolveWorkflow('c/rfe-1', all)).toThrow(/No RFE workflow matches/);
  });
});
