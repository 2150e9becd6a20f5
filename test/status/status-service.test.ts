import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jiraStatusMessage } from '../../src/slack/blocks/status.ts';
import type { StatusReport } from '../../src/status/report.ts';
import { startRedis, type RedisHandle } from '../support/redis.ts';
import {
  ALICE,
  ALICE_REFRESH,
  ALICE_TOKEN,
  CHANNEL,
  SITE,
  fixedLimits,
  startBlackHole,
  startStatusWorld,
  type StatusWorld,
} from './status-world.ts';
import { createKubeClients } from '../../src/vteam/kube-clients.ts';
import { writeKubeconfig } from '../support/kubeconfig.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';

/** What the user reads: every text in the reply. */
function rendered(report: StatusReport): string {
  const message = jiraStatusMessage(report);
  const parts = [message.text];
  JSON.stringify(message.blocks, (key, value: unknown) => {
    if (key === 'text' && typeof value === 'string') parts.push(value);
    return value;
  });
  return parts.join('\n');
}

/** The line of one area, e.g. section('Kubernetes'). */
function section(report: StatusReport, title: string): string {
  const found = jiraStatusMessage(report)
    .blocks.map((block) => (block.type === 'section' && block.text ? block.text.text : ''))
    .find((text) => text.includes(`*${title}*`));
  if (found === undefined) throw new Error(`no section ${title}`);
  return found;
}

describe('jira-status report', () => {
  let world: StatusWorld;
  beforeEach(async () => {
    world = await startStatusWorld();
  });
  afterEach(async () => {
    await world.close();
  });

  it('shows a healthy setup with the numbers: RTT, protocol, dialect, create tool, budget, expiry', async () => {
    await world.link(ALICE);
    const limits = fixedLimits();
    const report = await world.service({ limits }).report(ALICE, { isAdmin: false, channelId: CHANNEL });

    expect(report.mcp).toMatchObject({
      state: 'done',
      value: { mode: 'authenticated', reachable: true, dialect: 'rovo', createTool: 'createJiraIssue' },
    });
    const mcp = section(report, 'Atlassian MCP server');
    expect(mcp).toContain(':white_check_mark:');
    expect(mcp).toMatch(/reachable · \d+ ms/);
    expect(mcp).toMatch(/protocol `\d{4}-\d{2}-\d{2}`/);
    expect(mcp).toContain('Rovo tools');
    expect(mcp).toContain('can create issues (`createJiraIssue`)');

    const link = section(report, 'Your Atlassian account');
    expect(link).toContain(':white_check_mark:');
    expect(link).toContain('Alice Example');
    expect(link).toContain('Acme (`acme.atlassian.net`)');
    expect(link).toMatch(/token expires in \d+ min, renewed automatically/);

    expect(limits.asked).toEqual([SITE]);
    expect(section(report, 'Jira rate budget')).toContain('120 of 1,000 requests used this hour (880 left) · 1/4 in flight · 0 queued');
    expect(section(report, 'Kubernetes')).toMatch(
      /:white_check_mark: \*Kubernetes\* {2}API reachable · \d+ ms · RFEWorkflows served · may watch and update RFEWorkflows and patch ProjectSettings/,
    );
    expect(section(report, 'Store')).toMatch(/:white_check_mark: \*Store\* {2}reachable · \d+ ms/);
    expect(section(report, 'Recent publish failures')).toContain('none recorded');
    expect(rendered(report)).not.toContain('Project configuration');

    // The bot asked the cluster about itself, cluster-wide.
    expect(world.kube.selfAccessReviews.map((r) => `${r.resourceAttributes?.verb} ${r.resourceAttributes?.resource}`).sort()).toEqual([
      'patch projectsettings',
      'update rfeworkflows',
      'watch rfeworkflows',
    ]);
    // The probe's MCP session was ended on the server.
    await expect.poll(() => world.mcp.state().openSessions).toBe(0);
  });

  it('never shows a token or refresh token', async () => {
    await world.link(ALICE);
    await world.failures.record({ code: 'MCP_UNREACHABLE', message: `failed with Bearer ${ALICE_TOKEN}`, at: Date.now() });
    const report = await world.service().report(ALICE, { isAdmin: true, channelId: CHANNEL });
    const text = rendered(report) + JSON.stringify(report);
    expect(text).not.toContain(ALICE_TOKEN);
    expect(text).not.toContain(ALICE_REFRESH);
    expect(text).not.toContain('SECRET');
  });

  it('MCP down: unreachable, connection refused', async () => {
    await world.link(ALICE);
    await world.mcp.stop();
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    const mcp = section(report, 'Atlassian MCP server');
    expect(mcp).toContain(':x:');
    expect(mcp).toContain('connection refused');
    expect(section(report, 'Your Atlassian account')).toContain(':white_check_mark:');
  });

  it('MCP slow: shown as timed out within the budget, the rest still answered', async () => {
    await world.link(ALICE);
    world.mcp.setLatency(3000);
    const report = await world.service({ timeoutMs: 400 }).report(ALICE, { isAdmin: false, channelId: CHANNEL });
    expect(report.mcp.state).toBe('timed-out');
    expect(section(report, 'Atlassian MCP server')).toContain(':warning: *Atlassian MCP server*  timed out: no answer within 0.4 s');
    expect(report.kubernetes.state).toBe('done');
    expect(report.store.state).toBe('done');
  });

  it('not linked: proves reachability without credentials (401 with an OAuth challenge) and says how to connect', async () => {
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    expect(report.mcp).toMatchObject({
      state: 'done',
      value: { mode: 'unauthenticated', reachable: true, httpStatus: 401, authChallenge: true },
    });
    expect(section(report, 'Atlassian MCP server')).toContain('reachable');
    expect(section(report, 'Atlassian MCP server')).toContain('tools not checked: you have not connected an Atlassian account');
    expect(section(report, 'Your Atlassian account')).toContain(':warning: *Your Atlassian account*  not connected: run `/vteam connect`');
    expect(section(report, 'Jira rate budget')).toContain('connect your Atlassian account');
  });

  it('MCP answering 503 to everyone: failing', async () => {
    world.mcp.failNextRequests(5, { status: 503 });
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    expect(section(report, 'Atlassian MCP server')).toMatch(/:x: .*answers HTTP 503/);
  });

  it('token broken: the link says reconnect, the server is still checked', async () => {
    await world.link(ALICE, { broken: true });
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    const link = section(report, 'Your Atlassian account');
    expect(link).toContain(':x:');
    expect(link).toContain('*broken*');
    expect(link).toContain('/vteam connect');
    expect(report.mcp).toMatchObject({ state: 'done', value: { mode: 'unauthenticated', reachable: true } });
    expect(section(report, 'Atlassian MCP server')).toContain('your Atlassian link needs reconnecting');
  });

  it('token refused by the MCP server: reachable but asks to reconnect', async () => {
    await world.link(ALICE);
    world.mcp.revokeToken(ALICE_TOKEN);
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    expect(section(report, 'Atlassian MCP server')).toMatch(/:warning: .*refused your Atlassian token \(HTTP 401\)/);
  });

  it('self-hosted server: its dialect and create tool are named', async () => {
    const selfHosted = await (
      await import('../support/fake-mcp/index.ts')
    ).startFakeMcp({ dialect: 'self-hosted', sites: [{ url: SITE }] });
    try {
      selfHosted.addToken({ token: ALICE_TOKEN, sites: [SITE] });
      await world.link(ALICE);
      const report = await world.service({ mcpUrl: selfHosted.url }).report(ALICE, { isAdmin: false, channelId: CHANNEL });
      expect(section(report, 'Atlassian MCP server')).toContain('self-hosted tools');
      expect(section(report, 'Atlassian MCP server')).toContain('can create issues (`jira_create_issue`)');
    } finally {
      await selfHosted.close();
    }
  });

  it('Kubernetes forbidden: names what the bot may not do', async () => {
    world.kube.setAccessRules([{ resource: 'rfeworkflows', verb: 'watch', allowed: true }]);
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    const kube = section(report, 'Kubernetes');
    expect(kube).toContain(':x:');
    expect(kube).toContain('the bot *may not update RFEWorkflows*');
    expect(kube).toContain('the bot *may not patch ProjectSettings*');
    expect(kube).not.toContain('may not watch');
  });

  it("Kubernetes refusing the bot's credentials: check failed with HTTP 401", async () => {
    world.kube.setToken('another-token');
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    expect(section(report, 'Kubernetes')).toContain(':x: *Kubernetes*  check failed: HTTP 401');
  });

  it('RFEWorkflow CRD not served: failing', async () => {
    world.kube.setServed('rfeworkflows', false);
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    expect(section(report, 'Kubernetes')).toContain('the *RFEWorkflow CRD is not served*');
    expect(section(report, 'Kubernetes')).toContain(':x:');
  });

  it('store down: store, link and failures say so', async () => {
    await world.link(ALICE);
    await world.store.close();
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    expect(section(report, 'Store')).toContain(':x: *Store*  check failed');
    expect(report.link.state).toBe('failed');
    expect(report.failures.state).toBe('failed');
    expect(section(report, 'Kubernetes')).toContain(':white_check_mark:');
  });

  it('recent publish failures, newest first, counted by cause', async () => {
    world.kube.addProject('team-a');
    world.kube.addProjectSettings('team-a', { annotations: { 'vteam.ambient-code/slack-channels': CHANNEL } });
    const at = Date.now();
    await world.failures.record({
      code: 'AUTH_EXPIRED',
      message: 'Jira authentication expired.',
      at: at - 3000,
      workflow: 'team-a/rfe-1',
      path: 'specs/001/spec.md',
    });
    await world.failures.record({
      code: 'MCP_UNREACHABLE',
      message: 'Unable to connect to Jira integration service.',
      at: at - 2000,
      user: ALICE.userId,
    });
    await world.failures.record({
      code: 'MCP_UNREACHABLE',
      message: 'Unable to connect to Jira integration service.',
      at: at - 1000,
      user: ALICE.userId,
    });
    const report = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    const text = section(report, 'Recent publish failures');
    expect(text).toContain('last 3: `MCP_UNREACHABLE` ×2, `AUTH_EXPIRED` ×1');
    expect(text.indexOf('MCP_UNREACHABLE`:')).toBeLessThan(text.indexOf('AUTH_EXPIRED` `team-a/rfe-1` `specs/001/spec.md`'));
  });

  it("a non-admin sees the failures of the channel's projects and their own, never another project's; an admin sees all", async () => {
    world.kube.addProject('team-a');
    world.kube.addProjectSettings('team-a', { annotations: { 'vteam.ambient-code/slack-channels': CHANNEL } });
    world.kube.addProject('team-b');
    world.kube.addProjectSettings('team-b', { annotations: { 'vteam.ambient-code/slack-channels': 'C0002' } });
    const at = Date.now();
    await world.failures.record({
      code: 'NOT_CONFIGURED',
      message: 'Set JIRA_URL in the Secret `payroll-runner` of project `team-b`.',
      at: at - 4000,
      workflow: 'team-b/rfe-payroll',
      path: 'specs/009-layoffs/spec.md',
      user: 'U0002',
    });
    await world.failures.record({
      code: 'JIRA_REJECTED',
      message: 'Jira rejected the issue.',
      at: at - 3000,
      workflow: 'team-a/rfe-1',
      path: 'specs/001/spec.md',
      user: 'U0002',
    });
    await world.failures.record({
      code: 'AUTH_EXPIRED',
      message: 'Jira authentication expired.',
      at: at - 2000,
      workflow: 'team-b/rfe-2',
      path: 'specs/002/spec.md',
      user: ALICE.userId,
    });
    // Older entries (before failures named their user) with no workflow concern no channel.
    await world.failures.record({ code: 'MCP_UNREACHABLE', message: 'Unable to connect.', at: at - 1000 });

    const inChannel = section(await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL }), 'Recent publish failures');
    expect(inChannel).toContain('last 2:');
    expect(inChannel).toContain('`team-a/rfe-1`');
    expect(inChannel).toContain('`team-b/rfe-2`'); // her own, though team-b is not bound here
    expect(inChannel).not.toMatch(/payroll|layoffs|MCP_UNREACHABLE/);

    const inDirectMessage = section(await world.service().report(ALICE, { isAdmin: false, channelId: 'D0001' }), 'Recent publish failures');
    expect(inDirectMessage).toContain('last 1: `AUTH_EXPIRED` ×1');

    const asAdmin = section(await world.service().report(ALICE, { isAdmin: true, channelId: 'D0001' }), 'Recent publish failures');
    expect(asAdmin).toContain('last 4:');
    expect(asAdmin).toContain('`team-b/rfe-payroll`');
  });

  it('rate budget near its end and a circuit open are flagged', async () => {
    await world.link(ALICE);
    const report = await world
      .service({ limits: fixedLimits({ usedThisHour: 850, queued: 3, circuit: 'open', pausedUntil: Date.now() + 30_000 }) })
      .report(ALICE, { isAdmin: false, channelId: CHANNEL });
    const budget = section(report, 'Jira rate budget');
    expect(budget).toContain(':x:');
    expect(budget).toContain('850 of 1,000 requests used this hour (150 left)');
    expect(budget).toContain('3 queued');
    expect(budget).toContain('paused by Jira (429) until');
    expect(budget).toContain('*MCP circuit open*');
  });

  it('without a rate limiter the budget section says so', async () => {
    await world.link(ALICE);
    const report = await world.service({ limits: undefined }).report(ALICE, { isAdmin: false, channelId: CHANNEL });
    expect(section(report, 'Jira rate budget')).toContain(':heavy_minus_sign: *Jira rate budget*  no rate limiter is configured');
  });

  it('administrators also see incomplete projects and channels the bot cannot post in; others do not', async () => {
    world.kube.addProject('team-a');
    world.kube.addProjectSettings('team-a', { annotations: { 'vteam.ambient-code/slack-channels': 'C0001' } });
    world.kube.addSecret('team-a', 'ambient-runner-secrets', { JIRA_URL: SITE, JIRA_PROJECT: 'PROJ' });
    world.kube.addProject('team-b');
    world.kube.addProjectSettings('team-b', { annotations: { 'vteam.ambient-code/slack-channels': 'C0002' } });
    world.kube.addProject('team-c');
    world.kube.addProjectSettings('team-c', { annotations: { 'vteam.ambient-code/slack-channels': 'C0003' } });
    world.kube.addSecret('team-c', 'ambient-runner-secrets', { JIRA_URL: 'http://jira.internal', JIRA_PROJECT: 'OPS' });
    await world.channelProblems.report('C0009', 'not_in_channel');

    const admin = await world.service().report(ALICE, { isAdmin: Promise.resolve(true), channelId: CHANNEL });
    const projects = section(admin, 'Project configuration');
    expect(projects).toContain('2 bound projects cannot publish');
    expect(projects).toContain('`team-b` (<#C0002>): no Jira settings');
    expect(projects).toContain('`team-c` (<#C0003>): the Jira site `http://jira.internal` is not https');
    expect(projects).not.toContain('team-a');
    const channels = section(admin, 'Channels');
    expect(channels).toContain('<#C0009>: `not_in_channel` (invite the bot with `/invite`)');

    const user = await world.service().report(ALICE, { isAdmin: false, channelId: CHANNEL });
    expect(user.admin).toBeUndefined();
    expect(rendered(user)).not.toContain('team-b');
    expect(rendered(user)).not.toContain('C0009');
  });
});

describe('jira-status when every dependency hangs', () => {
  let redis: RedisHandle;
  let dir: string;
  const holes: { close(): Promise<void> }[] = [];
  beforeEach(async () => {
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'vteam-status-hang-'));
  });
  afterEach(async () => {
    await redis.stop();
    for (const hole of holes.splice(0)) await hole.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('still answers within about 2 s, every section timed out', async () => {
    const world = await startStatusWorld({ storeUrl: redis.url });
    try {
      await world.link(ALICE);
      const mcpHole = await startBlackHole();
      const kubeHole = await startBlackHole();
      holes.push(mcpHole, kubeHole);
      const kube = createKubeClients({ kubeconfigPath: await writeKubeconfig(dir, kubeHole.url, 'token') });
      // Freeze Redis: every command from every client waits (a little longer than the probes' budget).
      await redisCommand(redis.port, 'CLIENT PAUSE 2000 ALL');

      const started = Date.now();
      const report = await world.service({ mcpUrl: `${mcpHole.url}/v1/mcp`, kube }).report(ALICE, { isAdmin: true, channelId: CHANNEL });
      const elapsed = Date.now() - started;

      for (const area of [
        report.mcp,
        report.link,
        report.limits,
        report.kubernetes,
        report.store,
        report.failures,
        report.admin?.channels,
      ]) {
        expect(area?.state).toBe('timed-out');
      }
      expect(elapsed).toBeLessThan(2500);
      expect(section(report, 'Store')).toContain('timed out: no answer within 1.5 s');
    } finally {
      // Closing waits for the paused commands to be answered, i.e. for the pause to end.
      await world.close();
    }
  });
});

function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString());
    });
    socket.once('error', reject);
  });
}
