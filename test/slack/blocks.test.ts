import { describe, expect, it } from 'vitest';
import { documentPicker } from '../../src/slack/blocks/documents.ts';
import { publishedReply } from '../../src/slack/blocks/replies.ts';
import { escapeMrkdwn, link } from '../../src/slack/blocks/text.ts';
import type { Workflow } from '../../src/publishing/model.ts';

const workflow: Workflow = {
  namespace: 'team-a',
  name: 'rfe-1',
  title: 'Dark <!channel> & mode',
  description: 'x',
  jiraLinks: [],
  resourceVersion: '1',
  branchName: 'ambient-dark',
  umbrellaRepo: { url: 'https://github.com/org/specs', branch: 'main' },
};

describe('Block Kit builders', () => {
  it('escape hostile text so a title cannot ping a channel or inject links', () => {
    expect(escapeMrkdwn('<!channel> & <http://x|y>')).toBe('&lt;!channel&gt; &amp; &lt;http://x|y&gt;');
    expect(link('javascript:alert(1)', 'x')).toBe('x');
    const picker = documentPicker(workflow, [{ path: 'specs/spec.md', phase: 'specify' }]);
    expect(JSON.stringify(picker.blocks)).not.toContain('<!channel>');
  });

  it('show a Publish button for unpublished documents and the link for published ones', () => {
    const picker = documentPicker(workflow, [
      { path: 'specs/spec.md', phase: 'specify', jiraKey: 'PROJ-1', url: 'https://acme.atlassian.net/browse/PROJ-1' },
      { path: 'specs/plan.md', phase: 'plan' },
    ]);
    const json = JSON.stringify(picker.blocks);
    expect(json).toContain('<https://acme.atlassian.net/browse/PROJ-1|PROJ-1>');
    expect(json.match(/publish_to_jira/g)).toHaveLength(1);
    expect(picker.blocks.length).toBeLessThanOrEqual(50);
  });

  it("cap the picker at Slack's 50 blocks", () => {
    const rows = Array.from({ length: 120 }, (_, i) => ({ path: `specs/${i}/spec.md`, phase: 'specify' }));
    expect(documentPicker(workflow, rows).blocks.length).toBeLessThanOrEqual(50);
  });

  it('credit the publisher without pinging anyone else', () => {
    const reply = publishedReply(
      workflow,
      'specs/spec.md',
      { key: 'PROJ-7', url: 'https://acme.atlassian.net/browse/PROJ-7', summary: '[RFE] Dark - specify', issueType: 'Task' },
      { teamId: 'T', userId: 'U1' },
      false,
    );
    expect(JSON.stringify(reply.blocks)).toContain('<@U1>');
    expect(JSON.stringify(reply.blocks)).toContain('PROJ-7');
  });
});
