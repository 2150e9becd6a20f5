import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createClassicSites } from '../../src/atlassian/classic-sites.ts';
import type { AtlassianCredential, AtlassianCredentials } from '../../src/atlassian/credentials.ts';
import { createMcpJiraGateway } from '../../src/atlassian/jira-gateway.ts';
import type { McpJiraGateway } from '../../src/atlassian/jira-gateway.ts';
import type { AtlassianSite } from '../../src/atlassian/results.ts';
import { createSiteLookup } from '../../src/atlassian/site-lookup.ts';
import { VteamError } from '../../src/errors.ts';
import { issueDescription } from '../../src/publishing/issue-content.ts';
import type { CreateIssueRequest, SlackUserRef } from '../../src/publishing/model.ts';
import { startFakeAtlassianApi } from '../support/fake-atlassian-api.ts';
import type { FakeAtlassianApi } from '../support/fake-atlassian-api.ts';
import { startFakeMcp } from '../support/fake-mcp/index.ts';
import type { FakeMcp } from '../support/fake-mcp/index.ts';
import { WRAPPED_OUTPUT_SCHEMA } from '../support/fake-mcp/mcp-atlassian-wire.ts';

/**
 * Against servers answering exactly as mcp-atlassian 0.23.1 does (FastMCP's wrapped results, the
 * create result without browse_url, `total: -1`, bare-array issue types, its 401 sentences), in
 * both deployments, with classic 3LO tokens whose sites come from Atlassian's API gateway.
 */
const CLOUD_SITE = 'https://acme.atlassian.net';
const OTHER_SITE = 'https://other.atlassian.net';
const DC_SITE = 'https://jira.example.com';
const ALICE: SlackUserRef = { teamId: 'T1', userId: 'U-ALICE' };
const TOKEN = 'classic-access-token-0123456789';
const FRESH = 'classic-refreshed-token-9876543210';

class Credentials implements AtlassianCredentials {
  credential: AtlassianCredential = { accessToken: TOKEN };
  readonly rejections: string[] = [];
  readonly remembered: string[][] = [];
  async current() {
    return this.credential;
  }
  async afterRejection(_user: SlackUserRef, rejected: string) {
    this.rejections.push(rejected);
    this.credential = { ...this.credential, accessToken: FRESH };
    return this.credential;
  }
  async rememberSites(_user: SlackUserRef, sites: AtlassianSite[]) {
    this.remembered.push(sites.map((site) => site.url));
    this.credential = { ...this.credential, sites };
  }
}

interface World {
  fake: FakeMcp;
  api: FakeAtlassianApi;
  gateway: McpJiraGateway;
  credentials: Credentials;
  acmeId: string;
}
const open: World[] = [];

async function world(deployment: 'cloud' | 'dc', options: { jsonUnauthorizedBody?: boolean; grants?: string[] } = {}): Promise<World> {
  const fake = await startFakeMcp({
    dialect: 'self-hosted',
    selfHosted: { deployment, jiraUrl: DC_SITE, jsonUnauthorizedBody: options.jsonUnauthorizedBody ?? false },
  });
  const other = fake.addSite({ url: OTHER_SITE, name: 'other' });
  const acme = fake.addSite({ url: CLOUD_SITE, name: 'acme' });
  const dc = fake.addSite({ url: DC_SITE, name: 'dc' });
  for (const site of [acme, dc]) fake.addProject({ site: site.id, key: 'RFE', issueTypes: ['Epic', 'Story', 'Task', 'Sub-task'] });
  const grants = options.grants ?? [other.id, acme.id, dc.id];
  fake.addToken({ token: TOKEN, sites: grants });
  fake.addToken({ token: FRESH, sites: grants });
  const api = await startFakeAtlassianApi({
    sitesFor: (token) => {
      const granted = fake.jira.validToken(token)?.sites;
      return granted?.flatMap((id) => fake.jira.sites.filter((site) => site.id === id && site.url !== DC_SITE));
    },
  });
  const credentials = new Credentials();
  const classicSites = createClassicSites({
    lookup: createSiteLookup({ mode: 'classic', mcpUrl: fake.url, apiUrl: api.url }),
    remember: (user, sites) => credentials.rememberSites(user, sites),
  });
  const gateway = createMcpJiraGateway({ mcpUrl: fake.url, credentials, classicSites, callTimeoutMs: 5_000 });
  const w = { fake, api, gateway, credentials, acmeId: acme.id };
  open.push(w);
  return w;
}

afterEach(async () => {
  for (const w of open.splice(0)) {
    await w.gateway.close();
    await Promise.all([w.fake.close(), w.api.close()]);
  }
});

const request = (siteUrl: string, overrides: Partial<CreateIssueRequest> = {}): CreateIssueRequest => ({
  siteUrl,
  projectKey: 'RFE',
  issueType: 'Story',
  summary: '[RFE] Dark mode - specify',
  description: issueDescription({
    markdown: '# Spec\n\nUsers pick a theme.',
    sourceUrl: 'https://github.com/org/repo/blob/b/spec.md',
  } as never),
  labels: ['vteam-rfe', 'vteam-0123456789abcdef'],
  ...overrides,
});

async function failure(promise: Promise<unknown>): Promise<VteamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VteamError);
  return error as VteamError;
}

describe('the test server speaks mcp-atlassian 0.23.1', () => {
  it('advertises the FastMCP wrapper and strict inputs, and the SDK client accepts them', async () => {
    const { fake } = await world('cloud');
    const client = new Client({ name: 't', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(fake.url), {
      requestInit: { headers: { authorization: `Bearer ${TOKEN}`, 'x-atlassian-cloud-id': fake.jira.sites[1]!.id } },
    });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      const create = tools.find((tool) => tool.name === 'jira_create_issue');
      expect(create?.outputSchema).toEqual(WRAPPED_OUTPUT_SCHEMA);
      expect(create?.inputSchema).toMatchObject({
        additionalProperties: false,
        required: ['project_key', 'summary', 'issue_type'],
        properties: { additional_fields: { type: 'string', default: null } },
      });
      const result = await client.callTool({ name: 'jira_get_project_issue_types', arguments: { project_key: 'RFE' } });
      expect(result).toMatchObject({
        _meta: { fastmcp: { wrap_result: true } },
        isError: false,
        structuredContent: { result: expect.stringMatching(/^\[/) },
      });
    } finally {
      await client.close();
    }
  });
});

describe.each(['cloud', 'dc'] as const)('publishing through mcp-atlassian (%s)', (deployment) => {
  const site = deployment === 'cloud' ? CLOUD_SITE : DC_SITE;

  it('creates, finds by label, updates and lists issue types from the wrapped results', async () => {
    const { fake, gateway, acmeId } = await world(deployment);
    const created = await gateway.createIssue(ALICE, request(site));
    expect(created).toMatchObject({ key: 'RFE-1', url: `${site}/browse/RFE-1`, issueType: 'Story' });

    const found = await gateway.findIssueByLabel(ALICE, { siteUrl: site, projectKey: 'RFE', label: 'vteam-0123456789abcdef' });
    expect(found).toMatchObject({ key: 'RFE-1', url: `${site}/browse/RFE-1`, summary: '[RFE] Dark mode - specify' });

    const updated = await gateway.updateIssue(ALICE, {
      siteUrl: site,
      issueKey: 'RFE-1',
      summary: '[RFE] Dark mode v2 - specify',
      description: 'New text',
    });
    expect(updated).toMatchObject({ key: 'RFE-1', url: `${site}/browse/RFE-1` });
    expect(fake.issue('RFE-1')?.summary).toBe('[RFE] Dark mode v2 - specify');

    expect(await gateway.listIssueTypes(ALICE, { siteUrl: site, projectKey: 'RFE' })).toEqual(['Epic', 'Story', 'Task']);

    // Cloud: the header names the project's site (not the first site granted); DC: no header at all.
    const headers = new Set(fake.toolCalls().map((call) => call.cloudId));
    expect([...headers]).toEqual([deployment === 'cloud' ? acmeId : undefined]);
  });

  it('renders the Source header without an empty heading', async () => {
    const { fake, gateway } = await world(deployment);
    await gateway.createIssue(ALICE, request(site));
    const description = fake.issue('RFE-1')?.description ?? '';
    expect(description).toMatch(/Source:.*github\.com/);
    expect(description).not.toMatch(/^h2\.\s*$/m);
  });
});

describe('a rejected token on create (mcp-atlassian 0.23.1 wording)', () => {
  /** The link already knows its sites, so the MCP server is the first to see the token. */
  async function linkedWorld(options: { jsonUnauthorizedBody?: boolean } = {}): Promise<World> {
    const w = await world('cloud', options);
    w.credentials.credential = { accessToken: TOKEN, sites: [{ id: w.acmeId, url: CLOUD_SITE, name: 'acme' }] };
    return w;
  }

  it('refreshes once and retries when the first check of a token fails (Invalid user Jira token …)', async () => {
    const { fake, gateway, credentials } = await linkedWorld();
    fake.revokeToken(TOKEN);
    expect((await gateway.createIssue(ALICE, request(CLOUD_SITE))).key).toBe('RFE-1');
    expect(credentials.rejections).toEqual([TOKEN]);
    expect(fake.issues()).toHaveLength(1);
  });

  it.each([
    ['Unauthorized (401)', false],
    ['HTTPError', true],
  ])('refreshes once and retries when a checked token expires before the create (%s)', async (_sentence, jsonUnauthorizedBody) => {
    const { fake, gateway, credentials } = await linkedWorld({ jsonUnauthorizedBody });
    await gateway.listIssueTypes(ALICE, { siteUrl: CLOUD_SITE, projectKey: 'RFE' }); // the server checks and caches the token
    fake.revokeToken(TOKEN);
    expect((await gateway.createIssue(ALICE, request(CLOUD_SITE))).key).toBe('RFE-1');
    expect(credentials.rejections).toEqual([TOKEN]);
    const creates = fake.toolCalls('jira_create_issue');
    expect(creates.map((call) => call.token)).toEqual([TOKEN, FRESH]);
    expect(fake.issues()).toHaveLength(1);
  });

  it("keeps a bare HTTPError that a fresh token does not cure as Jira's refusal, not an expired login", async () => {
    const { fake, gateway, credentials } = await linkedWorld();
    fake.failNextToolCalls('jira_create_issue', 2, 'HTTPError');
    const error = await failure(gateway.createIssue(ALICE, request(CLOUD_SITE)));
    expect(error.code).toBe('JIRA_REJECTED');
    expect(credentials.rejections).toHaveLength(1);
  });
});

describe('classic 3LO sites, read from ATLASSIAN_API_URL', () => {
  it("reads the sites when the link has none, sends that site's cloud id, and keeps the list", async () => {
    const { api, gateway, credentials, fake, acmeId } = await world('cloud');
    await gateway.createIssue(ALICE, request(CLOUD_SITE));
    expect(api.lookups).toEqual([{ token: TOKEN, status: 200 }]);
    expect(credentials.remembered).toEqual([[OTHER_SITE, CLOUD_SITE]]);
    expect(fake.toolCalls('jira_create_issue')[0]?.cloudId).toBe(acmeId);
    await gateway.createIssue(ALICE, request(CLOUD_SITE, { labels: ['vteam-other'] }));
    expect(api.lookups).toHaveLength(1); // known now
  });

  it('a failed lookup says "try again", not "re-authenticate", and the next publish reads again', async () => {
    const { api, gateway, credentials, fake } = await world('cloud');
    api.failNext(1, 503);
    const error = await failure(gateway.createIssue(ALICE, request(CLOUD_SITE)));
    expect(error.code).toBe('MCP_UNREACHABLE');
    expect(error.userMessage).toMatch(/Could not read which Atlassian sites.*publish again/);
    expect(credentials.rejections).toEqual([]);
    expect(fake.issues()).toHaveLength(0);
    expect((await gateway.createIssue(ALICE, request(CLOUD_SITE))).key).toBe('RFE-1');
  });

  it('names the site the account has not granted', async () => {
    const { gateway, fake } = await world('cloud', { grants: [] });
    fake.addToken({ token: TOKEN, sites: [fake.jira.sites[0]!.id] }); // only "other"
    fake.addToken({ token: FRESH, sites: [fake.jira.sites[0]!.id] });
    const error = await failure(gateway.createIssue(ALICE, request(CLOUD_SITE)));
    expect(error.code).toBe('SITE_NOT_GRANTED');
    expect(error.userMessage).toContain(CLOUD_SITE);
    expect(fake.toolCalls('jira_create_issue')).toHaveLength(0);
  });

  it('refreshes once when Atlassian refuses the token at the lookup', async () => {
    const { api, gateway, credentials, fake } = await world('cloud');
    fake.revokeToken(TOKEN);
    expect((await gateway.createIssue(ALICE, request(CLOUD_SITE))).key).toBe('RFE-1');
    expect(api.lookups.map((l) => l.status)).toEqual([401, 200]);
    expect(credentials.rejections).toEqual([TOKEN]);
  });

  it('needs no lookup for a Server/DC site', async () => {
    const { api, gateway } = await world('dc');
    expect((await gateway.createIssue(ALICE, request(DC_SITE))).key).toBe('RFE-1');
    expect(api.lookups).toHaveLength(0);
  });
});
