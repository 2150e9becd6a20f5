/**
 * Linking through MCP Context Forge: the Connect link is the bot's own single-use sign-in link, and
 * only when a browser opens it does the bot ask MCF (as the user) for the authorization URL. The MCF
 * side is injected (start, access check, gateway ids, the user's email); the store is real.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthorizationStart } from '../../src/atlassian/contextforge/authorize.ts';
import { createGatewayIds, type GatewayIds } from '../../src/atlassian/contextforge/gateway-ids.ts';
import { errors, type VteamError } from '../../src/errors.ts';
import { describeLinkFailure, LinkError, type LinkFailureKind } from '../../src/oauth/errors.ts';
import { createGatewayLinkFlow, type GatewayLinkFlowOptions } from '../../src/oauth/gateway-link-flow.ts';
import type { GatewayAccess } from '../../src/oauth/gateway-link-watch.ts';
import type { LinkFlow } from '../../src/oauth/link-flow.ts';
import type { SlackUserRef } from '../../src/publishing/model.ts';
import { createStore } from '../../src/storage/store.ts';
import type { KeyValueStore } from '../../src/storage/types.ts';

const ada: SlackUserRef = { teamId: 'T1', userId: 'U1' };
const nomail: SlackUserRef = { teamId: 'T1', userId: 'U9' };
const EMAILS: Record<string, string> = { U1: 'ada@example.com' };
const OLD_ID = 'old0gateway0id';
const NEW_ID = 'new0gateway0id';
const authorizeUrl = (id: string) => `https://auth.atlassian.example/authorize?state=mcf-state-${id}&client_id=mcf`;
const MINUTE = 60_000;

const flowIdOf = (signInUrl: string) => new URL(signInUrl).searchParams.get('flow');

async function failure(promise: Promise<unknown>, kind: LinkFailureKind): Promise<LinkError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LinkError);
  expect((error as LinkError).kind).toBe(kind);
  return error as LinkError;
}

/** A GatewayIds holding one id in memory, recording what is forgotten. */
function memoryGatewayIds(initial: string | undefined) {
  const state = { id: initial, forgotten: [] as string[] };
  const ids: GatewayIds = {
    current: async () => state.id,
    learn(id) {
      state.id = id;
    },
    async forget(id) {
      state.forgotten.push(id);
      if (state.id === id) state.id = undefined;
    },
  };
  return { ids, state };
}

let store: KeyValueStore;
let clock: number;
let started: [string, string][];
let startAnswers: ((email: string, id: string) => Promise<AuthorizationStart>)[];
let accessChecks: string[];
let checkAccess: (user: SlackUserRef) => Promise<GatewayAccess>;
let watched: string[];
let gateway: ReturnType<typeof memoryGatewayIds>;

beforeEach(async () => {
  store = await createStore('sqlite::memory:');
  clock = Date.UTC(2030, 0, 1);
  started = [];
  startAnswers = [];
  accessChecks = [];
  watched = [];
  gateway = memoryGatewayIds(OLD_ID);
  checkAccess = async () => 'unauthorized';
});
afterEach(async () => {
  await store.close();
});

function createFlow(overrides: Partial<GatewayLinkFlowOptions> = {}): LinkFlow {
  return createGatewayLinkFlow({
    store,
    redirectUri: 'https://vteam.example.com/oauth/callback',
    userOf: async (user) => EMAILS[user.userId],
    gatewayIds: gateway.ids,
    async startAuthorization(email, gatewayId) {
      started.push([email, gatewayId]);
      const answer = startAnswers.shift();
      return answer === undefined ? { kind: 'redirect', url: authorizeUrl(gatewayId) } : answer(email, gatewayId);
    },
    checkAccess: async (user) => {
      accessChecks.push(user.userId);
      return checkAccess(user);
    },
    watch: (user) => {
      watched.push(user.userId);
    },
    now: () => clock,
    ...overrides,
  });
}

const answer = (value: AuthorizationStart) => async () => value;
const refusedWith = (error: VteamError) => answer({ kind: 'refused', error });

describe('linking through MCP Context Forge', () => {
  it('sends Slack a single-use sign-in link and asks MCF for the authorization URL only when it is opened', async () => {
    const flow = createFlow();
    const link = await flow.startLink(ada, { resumePublish: { path: 'spec.md' } });
    expect(link.signInUrl).toMatch(/^https:\/\/vteam\.example\.com\/oauth\/start\?flow=[A-Za-z0-9_-]{43}$/);
    expect(link.expiresAt).toBe(clock + 10 * MINUTE);
    expect(started).toEqual([]);
    expect(accessChecks).toEqual([]);
    expect(watched).toEqual([]);

    clock += 4 * MINUTE; // MCF's state must be minted at this moment, not when the DM was sent
    const opened = await flow.openSignIn(flowIdOf(link.signInUrl));
    expect(opened.authorizationUrl).toBe(authorizeUrl(OLD_ID));
    expect(opened.validForMs).toBe(300_000);
    expect(opened.browserSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(started).toEqual([['ada@example.com', OLD_ID]]);
    expect(watched).toEqual(['U1']);

    await failure(flow.openSignIn(flowIdOf(link.signInUrl)), 'used_state');
    expect(started).toHaveLength(1);
    expect(watched).toEqual(['U1']);
  });

  it('refuses an unknown, missing or expired link without asking MCF', async () => {
    const flow = createFlow({ linkTtlMs: 2 * MINUTE });
    await failure(flow.openSignIn('never-issued-flow-id'), 'unknown_state');
    await failure(flow.openSignIn(null), 'unknown_state');
    const link = await flow.startLink(ada);
    expect(link.expiresAt).toBe(clock + 2 * MINUTE);
    clock += 2 * MINUTE + 1;
    const expired = await failure(flow.openSignIn(flowIdOf(link.signInUrl)), 'expired_state');
    expect(expired.user).toEqual(ada);
    expect(started).toEqual([]);
    expect(watched).toEqual([]);
  });

  it('asks MCF as the user which gateway to authorize at when no id is known yet', async () => {
    gateway = memoryGatewayIds(undefined);
    checkAccess = async () => {
      gateway.ids.learn(NEW_ID); // MCF named it in its "Please authorize … first" answer
      return 'unauthorized';
    };
    const flow = createFlow();
    const opened = await flow.openSignIn(flowIdOf((await flow.startLink(ada)).signInUrl));
    expect(accessChecks).toEqual(['U1']);
    expect(started).toEqual([['ada@example.com', NEW_ID]]);
    expect(opened.authorizationUrl).toBe(authorizeUrl(NEW_ID));
    expect(watched).toEqual(['U1']);
  });

  it('says the account is already linked when MCF already holds an authorization, and watches the user anyway', async () => {
    gateway = memoryGatewayIds(undefined);
    checkAccess = async () => 'authorized';
    const flow = createFlow();
    const error = await failure(
      flow.openSignIn(flowIdOf((await flow.startLink(ada, { resumePublish: 'p1' })).signInUrl)),
      'already_linked',
    );
    expect(error.user).toEqual(ada);
    expect(error.context).toEqual({ resumePublish: 'p1' });
    expect(started).toEqual([]);
    expect(watched).toEqual(['U1']);
  });

  it('cannot start when MCF names no gateway', async () => {
    gateway = memoryGatewayIds(undefined);
    const flow = createFlow();
    await failure(flow.openSignIn(flowIdOf((await flow.startLink(ada)).signInUrl)), 'unavailable');
    expect(accessChecks).toEqual(['U1']);
    expect(started).toEqual([]);
    expect(watched).toEqual([]);
  });

  it('forgets a gateway id MCF no longer knows and asks again, once', async () => {
    checkAccess = async () => {
      gateway.ids.learn(NEW_ID);
      return 'unauthorized';
    };
    startAnswers = [answer({ kind: 'unknown-gateway' })];
    const flow = createFlow();
    const opened = await flow.openSignIn(flowIdOf((await flow.startLink(ada)).signInUrl));
    expect(gateway.state.forgotten).toEqual([OLD_ID]);
    expect(started).toEqual([
      ['ada@example.com', OLD_ID],
      ['ada@example.com', NEW_ID],
    ]);
    expect(opened.authorizationUrl).toBe(authorizeUrl(NEW_ID));
  });

  it('gives up (unavailable) when MCF does not know the gateway it names either, without looping', async () => {
    checkAccess = async () => {
      gateway.ids.learn(NEW_ID);
      return 'unauthorized';
    };
    startAnswers = [answer({ kind: 'unknown-gateway' }), answer({ kind: 'unknown-gateway' }), answer({ kind: 'unknown-gateway' })];
    const flow = createFlow();
    const link = await flow.startLink(ada);
    await failure(flow.openSignIn(flowIdOf(link.signInUrl)), 'unavailable');
    expect(started.map(([, id]) => id)).toEqual([OLD_ID, NEW_ID]);
    expect(gateway.state.forgotten).toEqual([OLD_ID, NEW_ID]);
    expect(watched).toEqual([]);
  });

  it.each([
    ['the user is unknown to MCF', errors.gatewayUnknownUser()],
    ["the user's team may not run the tools", errors.gatewayAccessDenied('team-7')],
    ["the bot's credentials are wrong", errors.gatewayMisconfigured(new Error('HTTP 401: Invalid authentication credentials'))],
  ])('passes on what to do when MCF refuses to start (%s)', async (_why, refusal) => {
    startAnswers = [refusedWith(refusal)];
    const flow = createFlow();
    const link = await flow.startLink(ada, { resumePublish: 'p1' });
    const error = await failure(flow.openSignIn(flowIdOf(link.signInUrl)), 'gateway_refused');
    expect(error.advice).toBe(refusal.userMessage);
    expect(error.cause).toBe(refusal);
    expect(error.user).toEqual(ada);
    expect(error.context).toEqual({ resumePublish: 'p1' });
    expect(describeLinkFailure(error.kind, { advice: error.advice })).toBe(refusal.userMessage);
    expect(watched).toEqual([]);
  });

  it("passes on MCF's refusal of the access check (the user's first contact with MCF)", async () => {
    gateway = memoryGatewayIds(undefined);
    checkAccess = async () => {
      throw errors.gatewayUnknownUser();
    };
    const flow = createFlow();
    const error = await failure(flow.openSignIn(flowIdOf((await flow.startLink(ada)).signInUrl)), 'gateway_refused');
    expect(error.advice).toBe(errors.gatewayUnknownUser().userMessage);
    expect(started).toEqual([]);
  });

  it('refuses a user whose Slack profile shows no email, saying how to fix it, without asking MCF', async () => {
    const flow = createFlow();
    const error = await failure(flow.openSignIn(flowIdOf((await flow.startLink(nomail)).signInUrl)), 'gateway_refused');
    expect(error.advice).toBe(errors.gatewayNoEmail().userMessage);
    expect(error.advice).toContain('users:read.email');
    expect(error.user).toEqual(nomail);
    expect(started).toEqual([]);
    expect(accessChecks).toEqual([]);
    expect(watched).toEqual([]);
  });

  it('reports MCF being unreachable as unavailable and leaves the link usable for a retry', async () => {
    startAnswers = [
      async () => {
        throw new TypeError('fetch failed');
      },
    ];
    const flow = createFlow();
    const link = await flow.startLink(ada);
    const error = await failure(flow.openSignIn(flowIdOf(link.signInUrl)), 'unavailable');
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(watched).toEqual([]);

    const opened = await flow.openSignIn(flowIdOf(link.signInUrl));
    expect(opened.authorizationUrl).toBe(authorizeUrl(OLD_ID));
    expect(started).toHaveLength(2);
    expect(watched).toEqual(['U1']);
  });

  it('reports a failing access check that is no refusal as unavailable', async () => {
    gateway = memoryGatewayIds(undefined);
    checkAccess = async () => {
      throw errors.mcpUnreachable(new Error('ECONNREFUSED'));
    };
    const flow = createFlow();
    await failure(flow.openSignIn(flowIdOf((await flow.startLink(ada)).signInUrl)), 'unavailable');
  });

  it('never completes a link itself: MCF receives the callback', async () => {
    const flow = createFlow();
    const link = await flow.startLink(ada);
    await flow.openSignIn(flowIdOf(link.signInUrl));
    await failure(flow.completeLink(new URLSearchParams({ code: 'abc', state: 'mcf-state' }), 'secret'), 'unknown_state');
    await failure(flow.completeLink(new URL('https://vteam.example.com/oauth/callback'), undefined), 'unknown_state');
  });

  // CONTEXTFORGE_GATEWAY_ID names a gateway MCF no longer knows (it was registered again), no id learned yet:
  // the configured id is dropped, and the access check learns the one MCF names.
  it('recovers from a stale CONTEXTFORGE_GATEWAY_ID by learning the id MCF names', async () => {
    const ids = createGatewayIds(store, OLD_ID);
    checkAccess = async () => {
      ids.learn(NEW_ID); // what MCF's "Please authorize rovo first. Visit /oauth/authorize/<new>" teaches
      return 'unauthorized';
    };
    const flow = createFlow({
      gatewayIds: ids,
      async startAuthorization(email, gatewayId) {
        started.push([email, gatewayId]);
        return gatewayId === NEW_ID ? { kind: 'redirect', url: authorizeUrl(NEW_ID) } : { kind: 'unknown-gateway' };
      },
    });
    const opened = await flow.openSignIn(flowIdOf((await flow.startLink(ada)).signInUrl));
    expect(opened.authorizationUrl).toBe(authorizeUrl(NEW_ID));
  });
});
