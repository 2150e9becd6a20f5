import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../../src/config/config.ts';

const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sekrit' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base);
    expect(config.http.port).toBe(3000);
    expect(config.http.publicUrl).toBe('http://localhost:3000');
    expect(config.store.url).toBe('sqlite://./data/vteam-slack.sqlite');
    expect(config.slack.mode).toBe('http');
    expect(config.atlassian.mcpUrl).toBe('https://mcp.atlassian.com/v1/mcp/authv2');
    expect(config.atlassian.apiUrl).toBe('https://api.atlassian.com');
  });

  it('reads GITHUB_ALLOWED_HOSTS as a host list, and refuses anything else', () => {
    expect(loadConfig({ ...base }).documents.githubAllowedHosts).toEqual([]);
    expect(loadConfig({ ...base, GITHUB_ALLOWED_HOSTS: 'GHE.example.com, ghe.internal:8443' }).documents.githubAllowedHosts).toEqual([
      'ghe.example.com',
      'ghe.internal:8443',
    ]);
    expect(() => loadConfig({ ...base, GITHUB_ALLOWED_HOSTS: 'https://ghe.example.com/' })).toThrow(
      /GITHUB_ALLOWED_HOSTS must be host names/,
    );
  });

  it('points classic site lookups at ATLASSIAN_API_URL, and refuses a non-URL', () => {
    expect(loadConfig({ ...base, ATLASSIAN_API_URL: 'http://127.0.0.1:9000/' }).atlassian.apiUrl).toBe('http://127.0.0.1:9000');
    expect(() => loadConfig({ ...base, ATLASSIAN_API_URL: 'api.atlassian.com' })).toThrow(/ATLASSIAN_API_URL must be an http\(s\) URL/);
  });

  it("requires by default that a linked Atlassian account has the Slack user's email; off turns that off; anything else is refused", () => {
    expect(loadConfig(base).atlassian.linkEmailMatch).toBe('required');
    expect(loadConfig({ ...base, ATLASSIAN_LINK_EMAIL_MATCH: 'off' }).atlassian.linkEmailMatch).toBe('off');
    expect(loadConfig({ ...base, ATLASSIAN_LINK_EMAIL_MATCH: 'required' }).atlassian.linkEmailMatch).toBe('required');
    expect(loadConfig({ ...base, ATLASSIAN_LINK_EMAIL_MATCH: '' }).atlassian.linkEmailMatch).toBe('required');
    for (const value of ['false', 'no', 'Off ', 'domain']) {
      expect(() => loadConfig({ ...base, ATLASSIAN_LINK_EMAIL_MATCH: value })).toThrow(
        /ATLASSIAN_LINK_EMAIL_MATCH must be required \(an Atlassian account links only if its email is the Slack profile email\) or off/,
      );
    }
    expect(describeConfig({ ...base, ATLASSIAN_LINK_EMAIL_MATCH: 'off' })).toMatchObject({ ATLASSIAN_LINK_EMAIL_MATCH: 'off' });
  });

  it('switches to Socket Mode when an app token is set, without needing a signing secret', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).slack.mode).toBe('socket');
  });

  it('reports every problem at once, each with its fix, and never echoes a secret', () => {
    let caught: unknown;
    try {
      loadConfig({
        SLACK_BOT_TOKEN: 'not-a-token-SECRETVALUE',
        PORT: 'abc',
        STORE_URL: 'mysql://x',
        NODE_ENV: 'production',
        SLACK_API_URL: 'ftp://x',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).message;
    expect(message).toMatch(/SLACK_BOT_TOKEN must be a Slack bot token/);
    expect(message).toMatch(/PORT must be a port number/);
    expect(message).toMatch(/STORE_URL must start with sqlite:/);
    expect(message).toMatch(/SLACK_API_URL must be an http\(s\) URL/);
    expect(message).not.toContain('SECRETVALUE');
  });

  it('needs a signing secret in HTTP mode and an encryption key in production', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/SLACK_SIGNING_SECRET is required in HTTP mode/);
    expect(() => loadConfig({ ...base, NODE_ENV: 'production' })).toThrow(/TOKEN_ENCRYPTION_KEY is required in production/);
    expect(() => loadConfig({ ...base, TOKEN_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/key #1 is not 32 bytes/);
    expect(() => loadConfig({})).toThrow(/SLACK_BOT_TOKEN is required/);
  });

  it('needs PUBLIC_URL in production (the localhost default is for development only)', () => {
    const production = { ...base, NODE_ENV: 'production', TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };
    expect(() => loadConfig(production)).toThrow(
      /PUBLIC_URL is required in production: set it to the https URL where users' browsers reach this bot/,
    );
    expect(() => loadConfig({ ...production, PUBLIC_URL: '' })).toThrow(/PUBLIC_URL is required in production/);
    expect(loadConfig({ ...production, PUBLIC_URL: 'https://vteam-slack.example.com/' }).http.publicUrl).toBe(
      'https://vteam-slack.example.com',
    );
    expect(loadConfig({ ...base, NODE_ENV: 'development' }).http.publicUrl).toBe('http://localhost:3000');
    expect(loadConfig({ ...base, NODE_ENV: 'test', PORT: '8080' }).http.publicUrl).toBe('http://localhost:8080');
    // Reported together with the other production requirement, each with its fix.
    let message = '';
    try {
      loadConfig({ ...base, NODE_ENV: 'production' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/TOKEN_ENCRYPTION_KEY is required in production/);
    expect(message).toMatch(/PUBLIC_URL is required in production/);
  });

  it('describes the configuration with secrets masked', () => {
    const described = describeConfig({ ...base, GITHUB_TOKEN: 'ghp_x', PORT: '8080' });
    expect(described).toEqual({ SLACK_BOT_TOKEN: '(set)', SLACK_SIGNING_SECRET: '(set)', GITHUB_TOKEN: '(set)', PORT: '8080' });
    expect(describeConfig({ STORE_URL: 'redis://default:hunter2@redis:6379/0' })).toEqual({ STORE_URL: 'redis://***@redis:6379/0' });
  });
  describe('behind MCP Context Forge (MCP_GATEWAY=contextforge)', () => {
    const mcf = { ...base, MCP_GATEWAY: 'contextforge', ATLASSIAN_MCP_URL: 'https://mcf.example.com/servers/9f3c2a/mcp' };

    it('reads the virtual server, MCF itself and the JWT settings, with the documented defaults', () => {
      const config = loadConfig({ ...mcf, CONTEXTFORGE_JWT_SECRET: 'jwt-secret-value' });
      expect(config.atlassian.gateway).toEqual({
        kind: 'contextforge',
        baseUrl: 'https://mcf.example.com',
        serverId: '9f3c2a',
        jwt: { secret: 'jwt-secret-value', issuer: 'mcpgateway', audience: 'mcpgateway-api', ttlMs: 300_000 },
        teamId: undefined,
        userTemplate: '{email}',
        gatewayId: undefined,
      });
      const behindProxy = loadConfig({
        ...mcf,
        ATLASSIAN_MCP_URL: 'https://gw.example.com/mcf/servers/abc_1/mcp/',
        CONTEXTFORGE_JWT_SECRET: 's',
        CONTEXTFORGE_JWT_ISSUER: 'corp-mcf',
        CONTEXTFORGE_JWT_AUDIENCE: 'corp-api',
        CONTEXTFORGE_TEAM_ID: 'team-42',
        CONTEXTFORGE_USER_TEMPLATE: '{local}@corp.example.com',
        CONTEXTFORGE_TOKEN_TTL_SECONDS: '120',
        CONTEXTFORGE_GATEWAY_ID: 'gw-7',
      }).atlassian.gateway;
      expect(behindProxy).toMatchObject({
        baseUrl: 'https://gw.example.com/mcf',
        serverId: 'abc_1',
        jwt: { issuer: 'corp-mcf', audience: 'corp-api', ttlMs: 120_000 },
        teamId: 'team-42',
        userTemplate: '{local}@corp.example.com',
        gatewayId: 'gw-7',
      });
      expect(loadConfig(base).atlassian.gateway).toEqual({ kind: 'none' });
    });

    it('refuses to start without the secret, with a URL that is no virtual server, or with an OAuth client of our own', () => {
      let message = '';
      try {
        loadConfig({ ...mcf, ATLASSIAN_MCP_URL: 'https://mcf.example.com/mcp', ATLASSIAN_OAUTH_CLIENT_ID: 'x' });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/CONTEXTFORGE_JWT_SECRET is required with MCP_GATEWAY=contextforge/);
      expect(message).toMatch(/ATLASSIAN_MCP_URL must be the virtual server endpoint of MCP Context Forge/);
      expect(message).toMatch(/ATLASSIAN_OAUTH_CLIENT_ID\/SECRET are not used with MCP_GATEWAY=contextforge/);
      expect(() => loadConfig({ ...mcf, MCP_GATEWAY: 'mcf' })).toThrow(/MCP_GATEWAY must be none .* or contextforge/);
      expect(() => loadConfig({ ...mcf, CONTEXTFORGE_JWT_SECRET: 's', CONTEXTFORGE_USER_TEMPLATE: 'svc-{local}' })).toThrow(
        /CONTEXTFORGE_USER_TEMPLATE must yield an email/,
      );
      expect(() => loadConfig({ ...mcf, CONTEXTFORGE_JWT_SECRET: 's', CONTEXTFORGE_TOKEN_TTL_SECONDS: '86400' })).toThrow(
        /CONTEXTFORGE_TOKEN_TTL_SECONDS/,
      );
    });

    it('never shows the JWT secret when describing the configuration', () => {
      expect(describeConfig({ ...mcf, CONTEXTFORGE_JWT_SECRET: 'jwt-secret-value' })).toMatchObject({
        CONTEXTFORGE_JWT_SECRET: '(set)',
        MCP_GATEWAY: 'contextforge',
      });
    });
  });
});
