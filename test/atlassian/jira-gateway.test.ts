import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpJiraGateway } from '../../src/atlassian/jira-gateway.ts';
import type { McpJiraGateway, McpJiraGatewayOptions } from '../../src/atlassian/jira-gateway.ts';
import type { AtlassianCredential, AtlassianCredentials } from '../../src/atlassian/credentials.ts';
import { VteamError } from '../../src/errors.ts';
import type { CreateIssueRequest, SlackUserRef } from '../../src/publishing/model.ts';
import { startFakeMcp } from '../support/fake-mcp/index.ts';
import type { FakeDialect, FakeMcp } from '../support/fake-mcp/index.ts';

const SITE = 'https://acme.atlassian.net';
const OTHER_SITE = 'https://other.atlassian.net';
const ALICE: SlackUserRef = { teamId: 'T1', userId: 'U-ALICE' };
const ALICE_TOKEN = 'alice-access-token-0123456789';
const FRESH_TOKEN = 'alice-refreshed-token-9876543210';

interface Harness {
  fake: FakeMcp;
  gateway: McpJiraGateway;
  credentials: TestCredentials;
  logs: string[];
  cloudId: string;
}

class TestCredentials implements AtlassianCredentials {
  readonly byUser = new Map<string, AtlassianCredential>();
  readonly rejections: string[] = [];
  refreshTo: AtlassianCredential | undefined;
  refreshEnabled = true;

  async current(user: SlackUserRef) {
    return this.byUser.get(user.userId);
  }

  async afterRejection(user: SlackUserRef, rejected: string) {
    this.rejections.push(rejected);
    if (!this.refreshEnabled || this.refreshTo === undefined) return undefined;
    this.byUser.set(user.userId, this.refreshTo);
    return this.refreshTo;
  }
}

const open: Harness[] = [];

async function setup(dialect: FakeDialect, options: Partial<McpJiraGatewayOptions> & { withRefresh?: boolean } = {}): Promise<Harness> {
  const fake = await startFakeMcp({ dialect });
  const site = fake.addSite({ url: SITE, name: 'acme' });
  fake.addSite({ url: OTHER_SITE, name: 'other' });
  fake.addProject({ site: site.id, key: 'RFE', issueTypes: ['Epic', 'Story', 'Task'] });
  fake.addProject({ site: site.id, key: 'LOCKED' });
  fake.addToken({ token: ALICE_TOKEN, sites: [site.id], denyCreateIn: ['LOCKED'] });
  fake.addToken({ token: FRESH_TOKEN, sites: [site.id], denyCreateIn: ['LOCKED'] });

  const classic = dialect === 'self-hosted';
  const credentials = new TestCredentials();
  credentials.byUser.set(ALICE.userId, { accessToken: ALICE_TOKEN, ...(classic ? { cloudId: site.id } : {}) });
  credentials.refreshTo = { accessToken: FRESH_TOKEN, ...(classic ? { cloudId: site.id } : {}) };

  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const { withRefresh = true, ...rest } = options;
  const gateway = createMcpJiraGateway({
    mcpUrl: fake.url,
    credentials: withRefresh ? credentials : { current: (user) => credentials.current(user) },
    logger: pino({ level: 'trace' }, stream),
    callTimeoutMs: 5_000,
    ...rest,
  });
  const harness = { fake, gateway, credentials, logs, cloudId: site.id };
  open.push(harness);
  return harness;
}

afterEach(async () => {
  for (const harness of open.splice(0)) {
    harness.fake.clearFaults();
    await harness.gateway.close();
    await harness.fake.close();
  }
});

function request(overrides: Partial<CreateIssueRequest> = {}): CreateIssueRequest {
  return {
    siteUrl: SITE,
    projectKey: 'RFE',
    issueType: 'Story',
    summary: 'Spec: faster publishing',
    description: '# Spec\n\nBody in **markdown**.',
    labels: ['vteam-rfe-1-spec'],
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<VteamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VteamError);
  return error as VteamError;
}

const CREATE_TOOL: Record<FakeDialect, string> = {
  'rovo-v1': 'createJiraIssue',
  'rovo-v2': 'createJiraIssue',
  'self-hosted': 'jira_create_issue',
};
const SEARCH_OPERATION: Record<FakeDialect, string> = {
  'rovo-v1': 'searchJiraIssuesUsingJql',
  'rovo-v2': 'searchJiraIssuesUsingJql',
  'self-hosted': 'jira_search',
};
const EDIT_OPERATION: Record<FakeDialect, string> = {
  'rovo-v1': 'editJiraIssue',
  'rovo-v2': 'editJiraIssue',
  'self-hosted': 'jira_update_issue',
};

describe.each<FakeDialect>(['rovo-v1', 'rovo-v2', 'self-hosted'])('MCP Jira gateway against %s', (dialect) => {
  it('creates the issue with type, labels and parent, and returns its browse URL', async () => {
    const { fake, gateway } = await setup(dialect);
    const epic = await gateway.createIssue(ALICE, request({ issueType: 'Epic', summary: 'RFE: publishing', labels: ['vteam-rfe-1'] }));
    const story = await gateway.createIssue(ALICE, request({ parentKey: epic.key }));

    expect(epic).toEqual({ key: 'RFE-1', url: `${SITE}/browse/RFE-1`, summary: 'RFE: publishing', issueType: 'Epic' });
    expect(story.key).toBe('RFE-2');
    expect(story.url).toBe(`${SITE}/browse/RFE-2`);
    const stored = fake.issue('RFE-2');
    expect(stored).toMatchObject({
      summary: 'Spec: faster publishing',
      description: '# Spec\n\nBody in **markdown**.',
      labels: ['vteam-rfe-1-spec'],
      issueType: 'Story',
      parent: 'RFE-1',
    });
  });

  it('sends the argument names this dialect declares', async () => {
    const { fake, gateway, cloudId } = await setup(dialect);
    await gateway.createIssue(ALICE, request({ parentKey: undefined }));
    const [call] = fake.toolCalls(CREATE_TOOL[dialect]);
    if (dialect === 'rovo-v1') {
      expect(call?.arguments).toEqual({
        cloudId,
        projectKey: 'RFE',
        issueTypeName: 'Story',
        summary: 'Spec: faster publishing',
        description: '# Spec\n\nBody in **markdown**.',
        additional_fields: { labels: ['vteam-rfe-1-spec'] },
      });
    } else if (dialect === 'rovo-v2') {
      expect(call?.arguments).toMatchObject({
        cloudId,
        projectKey: 'RFE',
        issueType: 'Story',
        additional_fields: { labels: ['vteam-rfe-1-spec'] },
      });
      expect(call?.arguments).not.toHaveProperty('issueTypeName');
    } else {
      expect(call?.arguments).toEqual({
        project_key: 'RFE',
        issue_type: 'Story',
        summary: 'Spec: faster publishing',
        description: '# Spec\n\nBody in **markdown**.',
        additional_fields: JSON.stringify({ labels: ['vteam-rfe-1-spec'] }),
      });
    }
  });

  it('reuses one initialized session: one POST per create once warm', async () => {
    const { fake, gateway } = await setup(dialect);
    await gateway.createIssue(ALICE, request());
    const postsAfterFirst = fake.counters.httpPosts;
    await gateway.createIssue(ALICE, request({ summary: 'second' }));
    await gateway.createIssue(ALICE, request({ summary: 'third' }));

    expect(fake.counters.initializes).toBe(1);
    expect(fake.counters.httpPosts - postsAfterFirst).toBe(2);
    expect(fake.toolCalls('getAccessibleAtlassianResources').length).toBe(dialect === 'self-hosted' ? 0 : 1);
    expect(fake.issues()).toHaveLength(3);
    expect(gateway.stats().sessions.opened).toBe(1);
  });

  it('finds an issue by its label, and only in the asked project', async () => {
    const { fake, gateway } = await setup(dialect);
    const created = await gateway.createIssue(ALICE, request({ labels: ['vteam-rfe-7-plan'] }));

    const found = await gateway.findIssueByLabel(ALICE, { siteUrl: SITE, projectKey: 'RFE', label: 'vteam-rfe-7-plan' });
    expect(found).toEqual({
      key: created.key,
      url: `${SITE}/browse/${created.key}`,
      summary: 'Spec: faster publishing',
      issueType: 'Story',
    });
    expect(await gateway.findIssueByLabel(ALICE, { siteUrl: SITE, projectKey: 'RFE', label: 'vteam-rfe-7-tasks' })).toBeUndefined();
    expect(await gateway.findIssueByLabel(ALICE, { siteUrl: SITE, projectKey: 'LOCKED', label: 'vteam-rfe-7-plan' })).toBeUndefined();

    const [search] = fake.toolCalls(SEARCH_OPERATION[dialect]);
    const jql = dialect === 'rovo-v2' ? (search?.arguments.inputs as { jql: string }).jql : search?.arguments.jql;
    expect(jql).toBe('project = "RFE" AND labels = "vteam-rfe-7-plan"');
    if (dialect === 'rovo-v2') expect(search?.name).toBe('executeRead');
  });

  it('updates summary and description of an existing issue', async () => {
    const { fake, gateway } = await setup(dialect);
    const created = await gateway.createIssue(ALICE, request());
    const updated = await gateway.updateIssue(ALICE, { siteUrl: SITE, issueKey: created.key, summary: 'Spec v2', description: 'New body' });

    expect(updated).toEqual({ key: created.key, url: `${SITE}/browse/${created.key}`, summary: 'Spec v2', issueType: 'Story' });
    expect(fake.issue(created.key)).toMatchObject({ summary: 'Spec v2', description: 'New body', labels: ['vteam-rfe-1-spec'] });
    const [edit] = fake.toolCalls(EDIT_OPERATION[dialect]);
    if (dialect === 'rovo-v2') expect(edit?.name).toBe('executeWrite');
    if (dialect === 'self-hosted') expect(typeof edit?.arguments.fields).toBe('string');
  });

  it('refreshes once after a 401 and retries the call', async () => {
    const { fake, gateway, credentials } = await setup(dialect);
    await gateway.createIssue(ALICE, request());
    fake.failNextRequests(1, { status: 401 });

    const issue = await gateway.createIssue(ALICE, request({ summary: 'after refresh' }));
    expect(issue.key).toBe('RFE-2');
    expect(credentials.rejections).toEqual([ALICE_TOKEN]);
    const lastCall = fake.toolCalls(CREATE_TOOL[dialect]).at(-1);
    expect(lastCall?.token).toBe(FRESH_TOKEN);
    expect(fake.counters.initializes).toBe(1);
  });

  it('refreshes when the server rejects the token itself', async () => {
    const { fake, gateway, credentials } = await setup(dialect);
    fake.revokeToken(ALICE_TOKEN);
    const issue = await gateway.createIssue(ALICE, request());
    expect(issue.key).toBe('RFE-1');
    expect(credentials.rejections).toEqual([ALICE_TOKEN]);
  });

  it('reports AUTH_EXPIRED when a rejected token cannot be refreshed', async () => {
    const { fake, gateway } = await setup(dialect, { withRefresh: false });
    fake.failNextRequests(1, { status: 401 });
    const error = await failure(gateway.createIssue(ALICE, request()));
    expect(error.code).toBe('AUTH_EXPIRED');
    expect(fake.issues()).toHaveLength(0);
  });

  it('reports AUTH_EXPIRED when the refreshed token is rejected too', async () => {
    const { fake, gateway, credentials } = await setup(dialect);
    fake.failNextRequests(2, { status: 401 });
    const error = await failure(gateway.createIssue(ALICE, request()));
    expect(error.code).toBe('AUTH_EXPIRED');
    expect(credentials.rejections).toHaveLength(1);
  });

  it('reports NOT_LINKED without calling the server when the user has no credential', async () => {
    const { fake, gateway } = await setup(dialect);
    const error = await failure(gateway.createIssue({ teamId: 'T1', userId: 'U-NOBODY' }, request()));
    expect(error.code).toBe('NOT_LINKED');
    expect(fake.counters.httpRequests).toBe(0);
  });

  it("returns RATE_LIMITED with the server's Retry-After and does not retry by itself", async () => {
    const { fake, gateway } = await setup(dialect);
    await gateway.createIssue(ALICE, request());
    fake.failNextRequests(1, { status: 429, retryAfterSeconds: 7, match: { tool: CREATE_TOOL[dialect] } });
    const posts = fake.counters.httpPosts;

    const error = await failure(gateway.createIssue(ALICE, request({ summary: 'limited' })));
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(7_000);
    expect(fake.counters.httpPosts - posts).toBe(1);
    expect(fake.issues()).toHaveLength(1);
  });

  it('reports MCP_UNREACHABLE with outcome unknown when the create got a 5xx', async () => {
    const { fake, gateway } = await setup(dialect);
    await gateway.createIssue(ALICE, request());
    fake.failNextRequests(1, { status: 502, match: { tool: CREATE_TOOL[dialect] }, afterEffect: true });

    const error = await failure(gateway.createIssue(ALICE, request({ summary: 'maybe created', labels: ['vteam-rfe-1-plan'] })));
    expect(error.code).toBe('MCP_UNREACHABLE');
    expect(error.outcomeUnknown).toBe(true);
    // It did happen: recovery by label finds it.
    const found = await gateway.findIssueByLabel(ALICE, { siteUrl: SITE, projectKey: 'RFE', label: 'vteam-rfe-1-plan' });
    expect(found?.key).toBe('RFE-2');
  });

  it('reports MCP_UNREACHABLE with a known outcome when the server is down', async () => {
    const { fake, gateway } = await setup(dialect);
    await fake.stop();
    const error = await failure(gateway.createIssue(ALICE, request()));
    expect(error.code).toBe('MCP_UNREACHABLE');
    expect(error.outcomeUnknown).toBe(false);

    await fake.start();
    const issue = await gateway.createIssue(ALICE, request());
    expect(issue.key).toBe('RFE-1');
  });

  it('reports a 5xx during session setup as unreachable with a known outcome', async () => {
    const { fake, gateway } = await setup(dialect);
    fake.failNextRequests(1, { status: 500, match: { method: 'initialize' } });
    const error = await failure(gateway.createIssue(ALICE, request()));
    expect(error).toMatchObject({ code: 'MCP_UNREACHABLE', outcomeUnknown: false });
    expect((await gateway.createIssue(ALICE, request())).key).toBe('RFE-1');
  });

  it('re-initializes once, transparently, when the server forgot the session', async () => {
    const { fake, gateway } = await setup(dialect);
    await gateway.createIssue(ALICE, request());
    await fake.forgetSessions();

    const issue = await gateway.createIssue(ALICE, request({ summary: 'after restart' }));
    expect(issue.key).toBe('RFE-2');
    expect(fake.counters.initializes).toBe(2);
    expect(fake.issues()).toHaveLength(2);
    expect(gateway.stats().sessionReopens).toBe(1);
  });

  it('times out a hanging create with outcome unknown', async () => {
    const { fake, gateway } = await setup(dialect, { callTimeoutMs: 300 });
    await gateway.createIssue(ALICE, request());
    fake.setLatency(2_000);
    const error = await failure(gateway.createIssue(ALICE, request()));
    expect(error).toMatchObject({ code: 'MCP_UNREACHABLE', outcomeUnknown: true });
  });

  it("passes Jira's own words through for a wrong issue type", async () => {
    const { gateway } = await setup(dialect);
    const error = await failure(gateway.createIssue(ALICE, request({ issueType: 'Feature' })));
    expect(error.code).toBe('JIRA_REJECTED');
    expect(error.userMessage).toContain('Specify a valid issue type');
  });

  it("passes Jira's words through for an unknown project", async () => {
    const { gateway } = await setup(dialect);
    const error = await failure(gateway.createIssue(ALICE, request({ projectKey: 'NOPE' })));
    expect(error.code).toBe('JIRA_REJECTED');
    expect(error.userMessage).toContain('valid project is required');
  });

  it('reports JIRA_PERMISSION when the user may not create issues in the project', async () => {
    const { fake, gateway } = await setup(dialect);
    const error = await failure(gateway.createIssue(ALICE, request({ projectKey: 'LOCKED', issueType: 'Task' })));
    expect(error.code).toBe('JIRA_PERMISSION');
    expect(error.userMessage).toContain('LOCKED');
    expect(error.userMessage).toContain('You do not have permission to create issues in this project.');
    expect(fake.issues()).toHaveLength(0);
  });

  it('never turns a result without a valid key into a link', async () => {
    const { fake, gateway } = await setup(dialect);
    const hostile = JSON.stringify({
      key: 'javascript:alert(1)//RFE-1',
      self: 'https://evil.example/x',
      issue: { key: '<https://evil.example|RFE-1>' },
    });
    fake.overrideNextToolResults(CREATE_TOOL[dialect], 1, { content: [{ type: 'text', text: hostile }] });
    const error = await failure(gateway.createIssue(ALICE, request()));
    expect(error).toMatchObject({ code: 'MCP_UNREACHABLE', outcomeUnknown: true });

    fake.overrideNextToolResults(CREATE_TOOL[dialect], 1, {
      content: [{ type: 'text', text: `{"key":"RFE-1","pad":"${'x'.repeat(2_000_000)}"}` }],
    });
    const huge = await failure(gateway.createIssue(ALICE, request()));
    expect(huge.code).toBe('MCP_UNREACHABLE');
  });

  it('bounds the Jira message a failing tool returns', async () => {
    const { fake, gateway } = await setup(dialect);
    fake.failNextToolCalls(CREATE_TOOL[dialect], 1, `Field 'customfield_1' is invalid ${'y'.repeat(10_000)}`);
    const error = await failure(gateway.createIssue(ALICE, request()));
    expect(error.code).toBe('JIRA_REJECTED');
    expect(error.userMessage).toContain("Field 'customfield_1' is invalid");
    expect(error.userMessage.length).toBeLessThan(800);
  });

  it('never writes a token to the log', async () => {
    const { fake, gateway, logs } = await setup(dialect);
    fake.failNextRequests(1, { status: 401 });
    await gateway.createIssue(ALICE, request());
    fake.failNextRequests(1, { status: 429, retryAfterSeconds: 1 });
    await gateway.createIssue(ALICE, request()).catch(() => undefined);
    await fake.stop();
    await gateway.createIssue(ALICE, request()).catch(() => undefined);

    expect(logs.length).toBeGreaterThan(0);
    const all = logs.join('\n');
    expect(all).not.toContain(ALICE_TOKEN);
    expect(all).not.toContain(FRESH_TOKEN);
    expect(all.toLowerCase()).not.toContain('bearer ');
  });
});

describe.each<FakeDialect>(['rovo-v1', 'rovo-v2'])('site resolution on %s', (dialect) => {
  it('reports SITE_NOT_GRANTED for a site the token was not granted', async () => {
    const { fake, gateway } = await setup(dialect);
    const error = await failure(gateway.createIssue(ALICE, request({ siteUrl: OTHER_SITE })));
    expect(error.code).toBe('SITE_NOT_GRANTED');
    expect(error.userMessage).toContain(OTHER_SITE);
    expect(fake.toolCalls(CREATE_TOOL[dialect])).toHaveLength(0);
  });

  it('matches the site by host, whatever the configured URL looks like', async () => {
    const { fake, gateway, cloudId } = await setup(dialect);
    const issue = await gateway.createIssue(ALICE, request({ siteUrl: 'https://ACME.atlassian.net/' }));
    expect(fake.toolCalls(CREATE_TOOL[dialect])[0]?.arguments.cloudId).toBe(cloudId);
    expect(issue.url).toBe('https://ACME.atlassian.net/browse/RFE-1');
  });

  it('reads the granted sites again when a new site is asked for', async () => {
    const { fake, gateway } = await setup(dialect);
    await gateway.createIssue(ALICE, request());
    const other = fake.jira.siteFor(OTHER_SITE);
    fake.addProject({ site: OTHER_SITE, key: 'OTH' });
    fake.jira.tokens.get(ALICE_TOKEN)?.sites.push(other?.id ?? '');

    const issue = await gateway.createIssue(ALICE, request({ siteUrl: OTHER_SITE, projectKey: 'OTH', issueType: 'Task' }));
    expect(issue.url).toBe(`${OTHER_SITE}/browse/OTH-1`);
    expect(fake.toolCalls('getAccessibleAtlassianResources')).toHaveLength(2);
  });
});

describe('Rovo v2 specifics', () => {
  it('lists only the primary tools and reaches the rest through execute tools', async () => {
    const { fake, gateway } = await setup('rovo-v2');
    await gateway.createIssue(ALICE, request());
    await gateway.findIssueByLabel(ALICE, { siteUrl: SITE, projectKey: 'RFE', label: 'vteam-rfe-1-spec' });
    const names = fake.counters.toolCalls.map((call) => call.name);
    expect(names).toEqual(['getAccessibleAtlassianResources', 'createJiraIssue', 'executeRead']);
    const search = fake.toolCalls('searchJiraIssuesUsingJql')[0];
    expect(search?.arguments).toMatchObject({ name: 'searchJiraIssuesUsingJql', cloudId: expect.any(String) });
    expect(search?.arguments.inputs).not.toHaveProperty('cloudId');
  });
});

describe('sessions', () => {
  it('keeps one session per user and closes them on close()', async () => {
    const { fake, gateway, credentials } = await setup('rovo-v1');
    const bob: SlackUserRef = { teamId: 'T2', enterpriseId: 'E1', userId: 'U-BOB' };
    fake.addToken({ token: 'bob-token', sites: [SITE] });
    credentials.byUser.set(bob.userId, { accessToken: 'bob-token' });

    await gateway.createIssue(ALICE, request());
    await gateway.createIssue(bob, request());
    await gateway.createIssue(ALICE, request());
    expect(fake.counters.initializes).toBe(2);
    expect(fake.toolCalls('createJiraIssue').map((call) => call.token)).toEqual([ALICE_TOKEN, 'bob-token', ALICE_TOKEN]);

    await gateway.close();
    expect(fake.counters.sessionsTerminated).toBe(2);
    expect(fake.state().openSessions).toBe(0);
  });

  it('closes idle sessions and opens a new one on the next publish', async () => {
    const { fake, gateway } = await setup('rovo-v1', { idleSessionMs: 1 });
    await gateway.createIssue(ALICE, request());
    await new Promise((resolve) => setTimeout(resolve, 5));
    await (gateway as unknown as { pool: { sweep(): Promise<void> } }).pool.sweep();
    expect(gateway.stats().sessions.open).toBe(0);
    expect(fake.counters.sessionsTerminated).toBe(1);

    await gateway.createIssue(ALICE, request());
    expect(fake.counters.initializes).toBe(2);
  });

  it('works with a server that answers over SSE', async () => {
    const fake = await startFakeMcp({ dialect: 'rovo-v1', responseMode: 'sse' });
    const site = fake.addSite({ url: SITE });
    fake.addProject({ site: site.id, key: 'RFE' });
    fake.addToken({ token: ALICE_TOKEN, sites: [site.id] });
    const gateway = createMcpJiraGateway({ mcpUrl: fake.url, credentials: { current: async () => ({ accessToken: ALICE_TOKEN }) } });
    try {
      expect((await gateway.createIssue(ALICE, request())).key).toBe('RFE-1');
      expect((await gateway.createIssue(ALICE, request())).key).toBe('RFE-2');
      expect(fake.counters.initializes).toBe(1);
    } finally {
      await gateway.close();
      await fake.close();
    }
  });
});
