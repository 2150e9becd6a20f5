import { afterEach, describe, expect, it } from 'vitest';
import { parseJql, startFakeMcp } from '../support/fake-mcp/index.ts';
import type { FakeMcp } from '../support/fake-mcp/index.ts';

const fakes: FakeMcp[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.close();
});

describe('fake Atlassian MCP server', () => {
  it('answers an unknown token with 401 and a resource_metadata challenge (Rovo)', async () => {
    const fake = await startFakeMcp({ dialect: 'rovo-v1' });
    fakes.push(fake);
    const response = await fetch(fake.url, {
      method: 'POST',
      headers: { authorization: 'Bearer nope', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${fake.origin}/.well-known/oauth-protected-resource/v1/mcp"`,
    );
    const metadata = await fetch(`${fake.origin}/.well-known/oauth-protected-resource/v1/mcp`).then((r) => r.json());
    expect(metadata).toMatchObject({ resource: fake.url });
  });

  it("answers a missing credential with the self-hosted server's 401 body, and serves /healthz", async () => {
    const fake = await startFakeMcp({ dialect: 'self-hosted' });
    fakes.push(fake);
    const response = await fetch(fake.url, { method: 'POST', body: '{}' });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'Authentication required: no Atlassian credentials were provided.' });
    expect(await fetch(`${fake.origin}/healthz`).then((r) => r.json())).toEqual({ status: 'ok' });
  });

  it('keeps its URL across stop and start', async () => {
    const fake = await startFakeMcp({ dialect: 'rovo-v2' });
    fakes.push(fake);
    const url = fake.url;
    await fake.stop();
    await expect(fetch(`${fake.origin}/healthz`)).rejects.toThrow();
    await fake.start();
    expect(fake.url).toBe(url);
    expect((await fetch(`${fake.origin}/healthz`)).status).toBe(200);
  });
});

describe('parseJql', () => {
  it('reads the clauses the gateway sends', () => {
    expect(parseJql('project = "RFE" AND labels = "vteam-rfe-1-spec" ORDER BY created DESC')).toEqual([
      { field: 'project', value: 'RFE' },
      { field: 'labels', value: 'vteam-rfe-1-spec' },
    ]);
    expect(parseJql('labels = x')).toEqual([{ field: 'labels', value: 'x' }]);
    expect(parseJql('labels = "a\\"b"')).toEqual([{ field: 'labels', value: 'a"b' }]);
  });

  it('rejects what it does not understand, as Jira would', () => {
    expect(() => parseJql('labels = "x" OR project = Y')).toThrow(/JQL/);
    expect(() => parseJql('summary ~ "x"')).toThrow(/JQL/);
    expect(() => parseJql('labels = "open')).toThrow(/quoted string/);
  });
});
