/**
 * Shared wiring for the OAuth tests: a tiny protected resource (the MCP endpoint's auth surface:
 * 401 + RFC 9728 metadata, and 200 only for tokens the auth server issued for it), an in-memory
 * log capture, and the real store/token store.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { CompletedLink, LinkFlow, OpenedSignIn, SiteLookup, StartedLink } from '../../src/oauth/link-flow.ts';
import type { LinkIdentityCheck } from '../../src/oauth/link-identity.ts';
import type { SlackUserRef } from '../../src/publishing/model.ts';
import { parseKeyRing } from '../../src/storage/crypto.ts';
import { createStore } from '../../src/storage/store.ts';
import { createTokenStore } from '../../src/storage/tokens.ts';
import type { TokenStore } from '../../src/storage/tokens.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';
import { completeBrowserLeg, protectedResourceMetadataUrl, startAuthServer } from '../support/auth-server/index.ts';
import type { BrowserLegOptions } from '../support/auth-server/index.ts';
import type { AuthServerHandle, AuthServerOptions } from '../support/auth-server/index.ts';

export interface ProtectedResource {
  url: string;
  /** Requests by kind. */
  counts: { unauthenticated: number; accepted: number; rejected: number; metadata: number };
  /** Answer 401 without WWW-Authenticate (forces the well-known fallback). */
  sendChallenge: boolean;
  /** Answer 503 for the protected-resource metadata. */
  metadataDown: boolean;
  close(): Promise<void>;
}

export async function startProtectedResource(path = '/v1/mcp'): Promise<ProtectedResource & { attach(server: AuthServerHandle): void }> {
  let auth: AuthServerHandle | undefined;
  const state = { unauthenticated: 0, accepted: 0, rejected: 0, metadata: 0 };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (auth === undefined) throw new Error('no auth server attached');
      if (req.method === 'GET' && url.pathname === new URL(protectedResourceMetadataUrl(resource)).pathname) {
        state.metadata += 1;
        if (handle.metadataDown) return res.writeHead(503).end();
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(auth.protectedResourceMetadata(resource)));
      }
      if (req.method === 'POST' && url.pathname === path) {
        for await (const _ of req) void _;
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const verified = token === undefined ? undefined : await auth.verifyAccessToken(token);
        if (verified !== undefined && verified.aud === resource) {
          state.accepted += 1;
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ jsonrpc: '2.0', id: 0, result: { sub: verified.sub } }));
        }
        if (token === undefined) state.unauthenticated += 1;
        else state.rejected += 1;
        res.writeHead(401, {
          'content-type': 'application/json',
          ...(handle.sendChallenge
            ? { 'www-authenticate': auth.wwwAuthenticate(resource, token === undefined ? undefined : 'invalid_token') }
            : {}),
        });
        return res.end(JSON.stringify({ error: 'unauthorized' }));
      }
      res.writeHead(404).end();
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const resource = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  const handle = {
    url: resource,
    counts: state,
    sendChallenge: true,
    metadataDown: false,
    attach(server: AuthServerHandle) {
      auth = server;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return handle;
}

/** An MCP endpoint and the authorization server that protects it. */
export async function startOAuthWorld(options: Omit<AuthServerOptions, 'resource'> = {}) {
  const mcp = await startProtectedResource();
  const auth = await startAuthServer({ ...options, resource: mcp.url });
  mcp.attach(auth);
  return {
    mcp,
    auth,
    async close() {
      await mcp.close();
      await auth.close();
    },
  };
}

/** A pino logger writing into memory, at trace level so every line a flow could log is seen. */
export function captureLogs(): { logger: Logger; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), text: () => chunks.join('') };
}

export async function memoryStores(storeUrl = 'sqlite::memory:'): Promise<{ store: KeyValueStore; tokens: TokenStore; key: string }> {
  const key = randomBytes(32).toString('base64');
  const store = await createStore(storeUrl);
  return { store, tokens: createTokenStore(store, parseKeyRing(key)), key };
}

export const ada = { teamId: 'T1', userId: 'U1' };

/** For tests about tokens rather than about who links: ATLASSIAN_LINK_EMAIL_MATCH=off. */
export const NO_IDENTITY_CHECK: LinkIdentityCheck = { policy: 'off' };

/**
 * The default policy with a Slack workspace of these profile emails (by user id; a missing user has
 * none): `slackEmails` may be changed by the test, and `asked` lists whose email was read.
 */
export function emailMatch(
  slackEmails: Record<string, string | undefined>,
  atlassianEmailOf?: (accessToken: string) => Promise<string | undefined>,
) {
  const asked: string[] = [];
  const check: LinkIdentityCheck = {
    policy: 'required',
    slackEmailOf: async (user) => {
      asked.push(user.userId);
      return slackEmails[user.userId];
    },
    atlassianEmailOf,
  };
  return { check, asked, slackEmails };
}

/**
 * A site lookup as the MCP server answers it (getAccessibleAtlassianResources + atlassianUserInfo):
 * one site, and the name and email of the account the token belongs to on `auth`.
 */
export function mcpSiteLookup(auth: Pick<AuthServerHandle, 'verifyAccessToken'>): SiteLookup {
  return async (accessToken) => {
    const account = await auth.verifyAccessToken(accessToken);
    return {
      sites: [{ id: 'cloud-1', url: 'https://acme.atlassian.net', name: 'acme' }],
      accountName: account?.name,
      accountEmail: account?.email,
    };
  };
}
export const publicUrl = 'http://localhost:3999';

/** The `flow` id of a sign-in link (what `/oauth/start` hands to `openSignIn`). */
export const flowIdOf = (signInUrl: string) => new URL(signInUrl).searchParams.get('flow');

/**
 * One browser's sign-in, with the bot's two routes reduced to the calls they make: the link is
 * opened (this browser gets its secret, as the cookie), Atlassian's leg is completed, and the
 * callback comes back — for the test to hand to `completeLink` with that browser's secret or not.
 */
export async function signInOneBrowser(
  flow: LinkFlow,
  user: SlackUserRef,
  options: Partial<BrowserLegOptions> & { context?: { resumePublish?: unknown } } = {},
): Promise<{ started: StartedLink; opened: OpenedSignIn; callback: URL; browserSecret: string }> {
  const started = await flow.startLink(user, options.context);
  const opened = await flow.openSignIn(flowIdOf(started.signInUrl));
  const callback = await completeBrowserLeg(opened.authorizationUrl, { ...options, login: options.login ?? 'ada' });
  return { started, opened, callback, browserSecret: opened.browserSecret };
}

/** A whole link in one browser, as a user who clicks Connect and signs in does it. */
export async function linkInOneBrowser(
  flow: LinkFlow,
  user: SlackUserRef,
  login: BrowserLegOptions['login'] = 'ada',
): Promise<CompletedLink> {
  const { callback, browserSecret } = await signInOneBrowser(flow, user, { login });
  return flow.completeLink(callback, browserSecret);
}
