import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createMcpDiscovery,
  discoverFromMcp,
  protectedResourceMetadataCandidates,
  resourceMetadataFromChallenge,
} from '../../src/oauth/discovery.ts';
import { OAuthError } from '../../src/oauth/errors.ts';
import { startOAuthWorld } from './helpers.ts';

describe('resourceMetadataFromChallenge', () => {
  it('reads resource_metadata from Bearer challenges in their usual shapes', () => {
    expect(
      resourceMetadataFromChallenge(
        'Bearer resource_metadata="https://mcp.atlassian.com/.well-known/oauth-protected-resource/v1/mcp/authv2"',
      ),
    ).toBe('https://mcp.atlassian.com/.well-known/oauth-protected-resource/v1/mcp/authv2');
    expect(resourceMetadataFromChallenge('Bearer error="invalid_token", resource_metadata="https://x.example/m", scope="a b"')).toBe(
      'https://x.example/m',
    );
    expect(resourceMetadataFromChallenge('Bearer realm="x",resource_metadata=https://x.example/m')).toBe('https://x.example/m');
    expect(resourceMetadataFromChallenge('Bearer realm="x"')).toBeUndefined();
    expect(resourceMetadataFromChallenge(null)).toBeUndefined();
  });

  it('falls back to the path-specific, then origin-wide well-known document', () => {
    expect(protectedResourceMetadataCandidates(new URL('https://mcp.example/v1/mcp'))).toEqual([
      'https://mcp.example/.well-known/oauth-protected-resource/v1/mcp',
      'https://mcp.example/.well-known/oauth-protected-resource',
    ]);
  });
});

describe('MCP-native discovery', () => {
  let world: Awaited<ReturnType<typeof startOAuthWorld>>;
  beforeEach(async () => {
    world = await startOAuthWorld();
  });
  afterEach(async () => {
    await world.close();
  });

  it('follows the 401 challenge to the protected-resource metadata and the authorization server', async () => {
    const found = await discoverFromMcp(world.mcp.url);
    expect(found.issuer).toBe(world.auth.issuer);
    expect(found.resource).toBe(world.mcp.url);
    expect(found.scopesSupported).toEqual(['read:jira-work', 'write:jira-work']);
    expect(found.metadata.token_endpoint).toBe(`${world.auth.url}/token`);
    expect(found.metadata.registration_endpoint).toBeDefined();
    expect(world.mcp.counts.unauthenticated).toBe(1);
    expect(world.mcp.counts.metadata).toBe(1);
  });

  it('uses the well-known location when the 401 carries no challenge', async () => {
    world.mcp.sendChallenge = false;
    const found = await discoverFromMcp(world.mcp.url);
    expect(found.issuer).toBe(world.auth.issuer);
    expect(found.resource).toBe(world.mcp.url);
  });

  it('reuses a result within its TTL, asks again after it or after invalidate()', async () => {
    let clock = 0;
    const discovery = createMcpDiscovery(world.mcp.url, { ttlMs: 1000, now: () => clock });
    await discovery.discover();
    await discovery.discover();
    expect(world.mcp.counts.unauthenticated).toBe(1);
    clock = 1000;
    await discovery.discover();
    expect(world.mcp.counts.unauthenticated).toBe(2);
    discovery.invalidate();
    await discovery.discover();
    expect(world.mcp.counts.unauthenticated).toBe(3);
  });

  it('does not cache a failure: the next call asks again', async () => {
    const discovery = createMcpDiscovery(world.mcp.url);
    world.mcp.metadataDown = true;
    const error = await discovery.discover().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).kind).toBe('unavailable');
    world.mcp.metadataDown = false;
    await expect(discovery.discover()).resolves.toMatchObject({ issuer: world.auth.issuer });
  });

  it('refuses plain http to anything but loopback', async () => {
    const error = await discoverFromMcp('http://mcp.example/v1/mcp').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((error as OAuthError).kind).toBe('misconfigured');
  });
});
