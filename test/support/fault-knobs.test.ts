/** The fault knobs of the test servers that the fault suite (test/faults) relies on. */
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startFakeKube } from './fake-kube.ts';
import { FakeJira, startFakeMcp } from './fake-mcp/index.ts';
import { startFakeSlack } from './fake-slack.ts';
import { startRedis } from './redis.ts';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.allSettled(closers.splice(0).map((close) => close()));
});

const RFE = '/apis/vteam.ambient-code/v1alpha1/namespaces/proj/rfeworkflows/rfe-1';

async function kubeWorld() {
  const kube = await startFakeKube({ bookmarkIntervalMs: 0 });
  closers.push(() => kube.close());
  kube.addProject('proj');
  kube.addRfeWorkflow('proj', 'rfe-1', { title: 'T', jiraLinks: [] });
  const call = (method: string, body?: unknown, timeoutMs = 2000) =>
    fetch(`${kube.url}${RFE}`, {
      method,
      headers: { Authorization: `Bearer ${kube.token}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  return { kube, call };
}

describe('fake Kubernetes fault knobs', () => {
  it('setReachable(false) refuses connections; setReachable(true) serves the same state on the same port', async () => {
    const { kube, call } = await kubeWorld();
    await kube.setReachable(false);
    expect(kube.reachable).toBe(false);
    await expect(call('GET')).rejects.toThrow();
    await kube.setReachable(true);
    const response = await call('GET');
    expect(response.status).toBe(200);
    expect(((await response.json()) as { metadata: { name: string } }).metadata.name).toBe('rfe-1');
  });

  it("'apply-then-hang' applies the write and never answers; onNextRequest runs before it", async () => {
    const { kube, call } = await kubeWorld();
    const seen: string[] = [];
    kube.onNextRequest({ verb: 'update', resource: 'rfeworkflows' }, (request) => seen.push(`${request.verb} ${request.name ?? ''}`));
    kube.failNext({ verb: 'update', resource: 'rfeworkflows' }, 'apply-then-hang');
    const current = kube.get('rfeworkflows', 'proj', 'rfe-1')!;
    const body = { ...current, spec: { title: 'T', jiraLinks: [{ path: 'a.md', jiraKey: 'P-1' }] } };
    await expect(call('PUT', body, 300)).rejects.toThrow();
    expect(seen).toEqual(['update rfe-1']);
    expect((kube.get('rfeworkflows', 'proj', 'rfe-1')!.spec as { jiraLinks: unknown[] }).jiraLinks).toEqual([
      { path: 'a.md', jiraKey: 'P-1' },
    ]);
  });
});

describe('fake MCP fault knobs', () => {
  it('search lag: a new issue is found by key at once, by JQL only after the lag', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const jira = new FakeJira();
    const site = jira.addSite({ url: 'https://acme.atlassian.net' });
    jira.addProject({ site: site.url, key: 'PROJ' });
    const token = jira.addToken({ token: 't', sites: [site.url] });
    jira.searchLagMs = 3000;
    const issue = jira.create(token, site, { projectKey: 'PROJ', issueType: 'Task', summary: 's', fields: { labels: ['x'] } });
    expect(jira.find(site, issue.key)?.key).toBe(issue.key);
    expect(jira.search(site, 'labels = x')).toEqual([]);
    vi.setSystemTime(Date.now() + 3000);
    expect(jira.search(site, 'labels = x').map((i) => i.key)).toEqual([issue.key]);
  });

  it('a gate holds matching requests until released; hooks and applied failures are recorded', async () => {
    const mcp = await startFakeMcp({ dialect: 'rovo-v1' });
    closers.push(() => mcp.close());
    const post = (name: string) =>
      fetch(mcp.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } }),
      });
    const hooked: string[] = [];
    mcp.onNextRequest({ tool: 'createJiraIssue' }, () => hooked.push('create'));
    const gate = mcp.gate({ tool: 'createJiraIssue' }, { times: 1 });
    let answered = false;
    const held = post('createJiraIssue').then((r) => {
      answered = true;
      return r.status;
    });
    await gate.arrived;
    expect(hooked).toEqual(['create']);
    expect(gate.held).toBe(1);
    // Only the first matching request is held.
    expect((await post('createJiraIssue')).status).toBe(401);
    expect(answered).toBe(false);
    gate.release();
    expect(await held).toBe(401);

    mcp.failNextRequests(1, { status: 502, match: { tool: 'getJiraIssue' } });
    expect((await post('getJiraIssue')).status).toBe(502);
    expect(mcp.appliedFailures().map((f) => [f.failure.status, f.operations])).toEqual([[502, ['getJiraIssue']]]);
  });
});

describe('fake Slack fault knobs', () => {
  it('hangNext holds a matching call unanswered; rateLimitedCalls lists the 429s served', async () => {
    const slack = await startFakeSlack({ botToken: 'xoxb-t' });
    closers.push(() => slack.close());
    const post = (method: string, args: Record<string, string>, timeoutMs = 2000) =>
      fetch(`${slack.apiUrl}${method}`, {
        method: 'POST',
        headers: { authorization: 'Bearer xoxb-t', 'content-type': 'application/json' },
        body: JSON.stringify(args),
        signal: AbortSignal.timeout(timeoutMs),
      });
    slack.hangNext('chat.postMessage', { match: (args) => args.thread_ts !== undefined });
    expect((await post('chat.postMessage', { channel: 'C1', text: 'card' })).status).toBe(200);
    await expect(post('chat.postMessage', { channel: 'C1', text: 'reply', thread_ts: '1.1' }, 300)).rejects.toThrow();
    expect(slack.hungCalls().map((c) => c.args.text)).toEqual(['reply']);
    expect(slack.messages.map((m) => m.text)).toEqual(['card']);

    slack.rateLimitNext('chat.update', 1);
    expect((await post('chat.update', { channel: 'C1', ts: '1.1', text: 'x' })).status).toBe(429);
    expect(slack.rateLimitedCalls().map((c) => c.method)).toEqual(['chat.update']);
  });
});

describe('Redis pause and resume', () => {
  it('a paused server answers nothing; resumed, it answers again with its data', async () => {
    const redis = await startRedis();
    closers.push(() => redis.stop());
    expect(await send(redis.port, 'SET k v')).toBe('+OK');
    redis.pause();
    expect(redis.paused).toBe(true);
    await expect(send(redis.port, 'PING', 300)).rejects.toThrow(/no answer/);
    await redis.resume();
    expect(await send(redis.port, 'GET k')).toBe('$1\r\nv');
  });
});

/** One inline Redis command; the raw reply without its last CRLF. */
function send(port: number, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error('no answer'));
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const complete = reply.startsWith('$') ? reply.split('\r\n').length >= 3 : reply.endsWith('\r\n');
      if (complete) {
        socket.destroy();
        resolve(reply.replace(/\r\n$/, ''));
      }
    });
  });
}
