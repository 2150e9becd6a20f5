import { describe, expect, it } from 'vitest';
import {
  channelsLine,
  jiraStatusMessage,
  kubernetesLine,
  limitsLine,
  linkLine,
  mcpLine,
  projectsLine,
} from '../../src/slack/blocks/status.ts';
import type { StatusReport } from '../../src/status/report.ts';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const done = <T>(value: T) => ({ state: 'done' as const, value, ms: 3 });

function report(overrides: Partial<StatusReport> = {}): StatusReport {
  return {
    generatedAt: NOW,
    timeoutMs: 1500,
    mcp: done({
      url: 'https://mcp.atlassian.com/v1/mcp',
      mode: 'authenticated' as const,
      reachable: true,
      rttMs: 80,
      protocolVersion: '2025-06-18',
      dialect: 'rovo' as const,
      toolCount: 25,
      createTool: 'createJiraIssue',
    }),
    link: done({
      state: 'linked' as const,
      sites: [{ name: 'Acme', url: 'https://acme.atlassian.net' }],
      linkedAt: NOW - 86_400_000,
      expiresAt: NOW + 45 * 60_000,
      refreshable: true,
    }),
    limits: done({ sites: [], note: 'no rate limiter is configured' }),
    kubernetes: done({
      rttMs: 5,
      rfeWorkflowsServed: true,
      permissions: { watchWorkflows: true, updateWorkflows: true, patchProjectSettings: true },
    }),
    store: done({ rttMs: 1 }),
    failures: done([]),
    ...overrides,
  };
}

describe('jira-status blocks', () => {
  it("is compact: a title, a context line and one section per area, within Slack's limits", () => {
    const message = jiraStatusMessage(report());
    expect(message.blocks).toHaveLength(2 + 6);
    expect(message.text).toContain('Atlassian MCP server: ok');
    for (const block of message.blocks) {
      if (block.type === 'section') expect(block.text!.text.length).toBeLessThanOrEqual(3000);
    }
    expect(JSON.stringify(message.blocks)).toContain('<!date^');
  });

  it('an admin view adds a divider and the two admin sections', () => {
    const message = jiraStatusMessage(report({ admin: { projects: done([]), channels: done([]) } }));
    expect(message.blocks.map((b) => b.type)).toContain('divider');
    expect(message.blocks).toHaveLength(2 + 8 + 1);
  });

  it('a server without an issue-create tool is a warning that says publishing cannot work', () => {
    const line = mcpLine({
      url: 'https://mcp.example/v1/mcp',
      mode: 'authenticated',
      reachable: true,
      rttMs: 10,
      dialect: 'rovo',
      createTool: undefined,
    });
    expect(line.verdict).toBe('warn');
    expect(line.text).toContain('*no issue-create tool*');
  });

  it('an unexpected HTTP answer without credentials points at the configured URL', () => {
    expect(mcpLine({ url: 'https://mcp.example/x', mode: 'unauthenticated', reachable: true, httpStatus: 404, rttMs: 3 })).toMatchObject({
      verdict: 'warn',
      text: expect.stringContaining('ATLASSIAN_MCP_URL'),
    });
  });

  it('an expired token that cannot be renewed asks to reconnect; a renewable one does not', () => {
    const base = { state: 'linked' as const, sites: [], linkedAt: NOW - 1000, expiresAt: NOW - 1000 };
    expect(linkLine({ ...base, refreshable: false }, NOW)).toMatchObject({
      verdict: 'warn',
      text: expect.stringContaining('/vteam connect'),
    });
    expect(linkLine({ ...base, refreshable: true }, NOW)).toMatchObject({
      verdict: 'ok',
      text: expect.stringContaining('renewed at the next publish'),
    });
  });

  it('the budget is a warning from 80 % and failing when spent', () => {
    const site = {
      site: 'https://acme.atlassian.net',
      hourlyBudget: 1000,
      inFlight: 0,
      concurrency: 4,
      queued: 0,
      circuit: 'closed' as const,
    };
    expect(limitsLine({ sites: [{ ...site, usedThisHour: 799 }] }, NOW).verdict).toBe('ok');
    expect(limitsLine({ sites: [{ ...site, usedThisHour: 800 }] }, NOW).verdict).toBe('warn');
    expect(limitsLine({ sites: [{ ...site, usedThisHour: 1000 }] }, NOW)).toMatchObject({
      verdict: 'fail',
      text: expect.stringContaining('(0 left)'),
    });
    expect(limitsLine({ sites: [{ ...site, usedThisHour: 1, circuit: 'half-open' }] }, NOW).verdict).toBe('warn');
  });

  it('an unanswered permission check is a warning, not a pass', () => {
    const line = kubernetesLine({
      rttMs: 2,
      rfeWorkflowsServed: true,
      permissions: { watchWorkflows: true, updateWorkflows: undefined, patchProjectSettings: true },
    });
    expect(line.verdict).toBe('warn');
    expect(line.text).toContain('could not check whether it may update RFEWorkflows');
  });

  it('hostile names from the cluster or the store cannot inject mentions or links', () => {
    const projects = projectsLine([{ namespace: 'ns', channels: ['<!channel>'], problem: 'bad <!here> <https://evil|click>' }]);
    expect(projects.text).not.toContain('<!here>');
    expect(projects.text).not.toContain('<!channel>');
    expect(projects.text).not.toContain('<https://evil');
    const channels = channelsLine([{ channelId: 'C1|<!everyone>', error: 'not_in_channel', at: NOW }]);
    expect(channels.text).not.toContain('<!everyone>');
    const message = jiraStatusMessage(
      report({ failures: done([{ code: 'X', message: '<!channel> hi', at: NOW, workflow: 'w', path: 'p' }]) }),
    );
    expect(JSON.stringify(message.blocks)).not.toContain('<!channel>');
  });

  it('long lists are clipped with a count of the rest', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ channelId: `C00${i}0`, error: 'not_in_channel', at: NOW }));
    const line = channelsLine(many);
    expect(line.text).toContain('…and 12 more');
    expect(line.text.split('\n')).toHaveLength(1 + 8 + 1);
  });
});

describe('recent failures', () => {
  it('only failures of the last day make the section a warning', async () => {
    const { failuresLine } = await import('../../src/slack/blocks/status.ts');
    const old = { code: 'AUTH_EXPIRED', message: 'expired', at: NOW - 3 * 86_400_000 };
    expect(failuresLine([old], NOW).verdict).toBe('ok');
    expect(failuresLine([{ ...old, at: NOW - 60_000 }, old], NOW)).toMatchObject({
      verdict: 'warn',
      text: expect.stringContaining('last 2: `AUTH_EXPIRED` ×2'),
    });
  });
});
