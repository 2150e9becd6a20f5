import { describe, expect, it } from 'vitest';
import { chooseIssueType, idempotencyLabel, issueDescription, issueSummary, parentKey } from '../../src/publishing/issue-content.ts';
import type { JiraSettings, Workflow } from '../../src/publishing/model.ts';

const workflow: Workflow = {
  namespace: 'team-a',
  name: 'rfe-1',
  title: ' Dark\n mode ',
  description: '',
  jiraLinks: [],
  resourceVersion: '1',
};
const settings: JiraSettings = {
  siteUrl: 'https://acme.atlassian.net',
  projectKey: 'PROJ',
  issueTypes: { default: 'Task', plan: 'Epic' },
  source: 'runner-secret',
  secretName: 's',
};

describe('issue content', () => {
  it("builds the summary as [RFE] <title> - <phase>, on one line and within Jira's 255 characters", () => {
    expect(issueSummary(workflow, 'specify')).toBe('[RFE] Dark mode - specify');
    expect(issueSummary({ ...workflow, title: 'x'.repeat(400) }, 'plan').length).toBe(255);
  });

  it('starts the description with a Source link and keeps the markdown, truncating huge documents', () => {
    const doc = {
      path: 'specs/spec.md',
      phase: 'specify',
      markdown: '# Spec\nBody',
      sourceUrl: 'https://github.com/o/r/blob/b/specs/spec.md',
    };
    expect(issueDescription(doc)).toBe('**Source:** https://github.com/o/r/blob/b/specs/spec.md\n\n# Spec\nBody');
    const huge = issueDescription({ ...doc, markdown: 'y'.repeat(100_000) });
    expect(huge.length).toBeLessThanOrEqual(32_000);
    expect(huge).toContain('truncated');
  });

  it('chooses --type, then the phase type, then the default', () => {
    expect(chooseIssueType(settings, 'plan', 'Story')).toBe('Story');
    expect(chooseIssueType(settings, 'plan')).toBe('Epic');
    expect(chooseIssueType(settings, 'tasks')).toBe('Task');
  });

  it('uses parentOutcome only when it is an issue key', () => {
    expect(parentKey({ ...workflow, parentOutcome: 'RHASTRAT-456' })).toBe('RHASTRAT-456');
    expect(parentKey({ ...workflow, parentOutcome: 'x" OR 1=1' })).toBeUndefined();
  });

  it('derives a stable Jira-safe label per (workflow, path)', () => {
    const a = idempotencyLabel(workflow, 'specs/spec.md');
    expect(a).toMatch(/^vteam-[0-9a-f]{16}$/);
    expect(idempotencyLabel(workflow, 'specs/spec.md')).toBe(a);
    expect(idempotencyLabel(workflow, 'specs/plan.md')).not.toBe(a);
  });
});
