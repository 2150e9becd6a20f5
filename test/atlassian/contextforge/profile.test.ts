/**
 * MCP Context Forge's own answers told apart from Jira's (reference Part D): "Please authorize …
 * first" means the user has not linked (and names the gateway to authorize at), "Access denied" is
 * MCF's team check, and MCF's own HTTP refusals are setup problems; Jira's messages relayed by MCF
 * are left to the general classification.
 */
import { describe, expect, it } from 'vitest';
import { contextForgeProfile, detailOf } from '../../../src/atlassian/contextforge/profile.ts';
import type { VteamError } from '../../../src/errors.ts';

const GATEWAY_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const authorizeFirst = (id: string) =>
  `Tool invocation failed: Please authorize rovo first. Visit /oauth/authorize/${id} to complete OAuth flow.`;
/** What the MCP SDK makes of an HTTP error answer: its body inside the message. */
const sdkError = (body: string) => `Error POSTing to endpoint: ${body}`;

function profileReporting(teamId: string | undefined = 'team-7') {
  const reported: string[] = [];
  const profile = contextForgeProfile({ teamId, onGatewayId: (id) => reported.push(id) });
  return { profile, reported };
}

/** One sentence: ends with a full stop and has no other sentence boundary inside. */
function expectOneSentence(error: VteamError | undefined): void {
  expect(error?.userMessage).toMatch(/\.$/);
  expect(error?.userMessage).not.toMatch(/[.!?]\s+[A-Z]/);
  expect(error?.userMessage).not.toContain('\n');
}

describe('MCP Context Forge answers inside a tool result', () => {
  it('reads "Please authorize … first" as not linked and reports the gateway id it names', () => {
    const { profile, reported } = profileReporting();
    const error = profile.toolFailure(authorizeFirst(GATEWAY_ID));
    expect(error?.code).toBe('NOT_LINKED');
    expect(error?.userMessage).toContain('/vteam connect');
    expectOneSentence(error);
    expect(reported).toEqual([GATEWAY_ID]);
  });

  it('reads the same answer without the "Tool invocation failed" prefix, with an absolute URL, and without a listener', () => {
    const { profile, reported } = profileReporting();
    expect(profile.toolFailure(`Please authorize rovo first. Visit /oauth/authorize/gw_1-a to complete OAuth flow.`)?.code).toBe(
      'NOT_LINKED',
    );
    expect(
      profile.toolFailure(`Please authorize rovo first. Visit https://mcf.example.com/oauth/authorize/gw-2 to complete OAuth flow.`)?.code,
    ).toBe('NOT_LINKED');
    expect(reported).toEqual(['gw_1-a', 'gw-2']);
    expect(contextForgeProfile({ teamId: undefined }).toolFailure(authorizeFirst(GATEWAY_ID))?.code).toBe('NOT_LINKED');
  });

  it('reports an id of 128 characters but never a longer one', () => {
    const { profile, reported } = profileReporting();
    profile.toolFailure(authorizeFirst('a'.repeat(128)));
    expect(reported).toEqual(['a'.repeat(128)]);
    profile.toolFailure(authorizeFirst('b'.repeat(129)));
    profile.toolFailure(authorizeFirst('c'.repeat(200)));
    expect(reported).toEqual(['a'.repeat(128)]);
  });

  it.each([['../x'], [' rovo gateway'], ['<script>alert(1)</script>'], ['..%2fadmin'], ['z'.repeat(250)]])(
    'never reports a hostile gateway id (%j)',
    (id) => {
      const { profile, reported } = profileReporting();
      profile.toolFailure(authorizeFirst(id));
      expect(reported).toEqual([]);
    },
  );

  it.each([['x<script>'], ['abc/../def'], ['abc?next=https://evil.example'], ['a'.repeat(100) + '-' + '%2e'.repeat(3)]])(
    'never reports part of an id (%j): the user is still told to connect, the id is not learned',
    (id) => {
      const { profile, reported } = profileReporting();
      expect(profile.toolFailure(authorizeFirst(id))?.code).toBe('NOT_LINKED');
      expect(reported).toEqual([]);
    },
  );

  it("does not take Jira's words relayed in a tool error for MCF's sentence", () => {
    const { profile, reported } = profileReporting();
    const relayed = `{"error":true,"message":"Field 'summary': Please authorize rovo first. Visit /oauth/authorize/evil to complete OAuth flow."}`;
    expect(profile.toolFailure(relayed)).toBeUndefined();
    expect(
      profile.toolFailure(`Tool invocation failed: Jira says: Please authorize x first. Visit /oauth/authorize/evil now`),
    ).toBeUndefined();
    expect(reported).toEqual([]);
  });

  it('reads MCF\'s "Access denied" as the team check and names the configured team', () => {
    const { profile, reported } = profileReporting('team-7');
    for (const message of ['Access denied', 'Tool invocation failed: Access denied', '  access denied.  ']) {
      const error = profile.toolFailure(message);
      expect(error?.code).toBe('GATEWAY_ACCESS_DENIED');
      expect(error?.userMessage).toContain('`team-7`');
      expect(error?.userMessage).not.toContain('CONTEXTFORGE_TEAM_ID');
      expectOneSentence(error);
    }
    expect(reported).toEqual([]);
  });

  it('tells the admin to set CONTEXTFORGE_TEAM_ID when no team is configured', () => {
    const error = contextForgeProfile({ teamId: undefined }).toolFailure('Access denied');
    expect(error?.code).toBe('GATEWAY_ACCESS_DENIED');
    expect(error?.userMessage).toContain('CONTEXTFORGE_TEAM_ID');
    expectOneSentence(error);
  });

  it.each([
    ['{"error":true,"message":"Issue type is required"}'],
    ["Tool invocation failed: Client error '401 Unauthorized' for url 'https://api.atlassian.com/ex/jira/abc/rest/api/3/issue'"],
    ['Access denied: you do not have permission to create issues in project ABC'],
    ['{"errorMessages":["You do not have permission to create issues in this project."],"errors":{}}'],
    ['Tool invocation failed: Rate limit exceeded. Retry after 30 seconds.'],
  ])("leaves Jira's own message to the general classification: %s", (message) => {
    const { profile, reported } = profileReporting();
    expect(profile.toolFailure(message)).toBeUndefined();
    expect(reported).toEqual([]);
  });

  it('counts four upstream requests per tool call', () => {
    expect(contextForgeProfile({ teamId: undefined }).upstreamRequestsPerCall).toBe(4);
  });
});

describe("MCP Context Forge's own HTTP refusals", () => {
  const { profile } = profileReporting('team-7');

  it('reads a bad signature (401 Invalid authentication credentials) as the bot being misconfigured, detail kept for operators', () => {
    const error = profile.httpRefusal(401, sdkError('{"detail":"Invalid authentication credentials"}'));
    expect(error?.code).toBe('GATEWAY_REFUSED');
    expect(error?.userMessage).toContain("refused the bot's credentials");
    expect(error?.userMessage).toContain('/vteam jira-status');
    expectOneSentence(error);
    expect((error?.cause as Error).message).toBe('MCP Context Forge answered HTTP 401: Invalid authentication credentials');
  });

  it('reads 401 "User not found in database" as the user missing in MCF', () => {
    const error = profile.httpRefusal(401, sdkError('{"detail":"User not found in database"}'));
    expect(error?.code).toBe('GATEWAY_REFUSED');
    expect(error?.userMessage).toMatch(/^MCP Context Forge has no user with the email of your Slack profile;/);
    expectOneSentence(error);
  });

  it('reads 403 "no longer a member of the associated team" as the team check, naming the team', () => {
    const error = profile.httpRefusal(403, sdkError('{"detail":"Token is invalid: User is no longer a member of the associated team"}'));
    expect(error?.code).toBe('GATEWAY_ACCESS_DENIED');
    expect(error?.userMessage).toContain('`team-7`');
    expectOneSentence(error);
  });

  it('reads any other 403 (a token limited to another server) and a 404 (unknown server) as the bot being misconfigured', () => {
    const denied = profile.httpRefusal(403, sdkError('{"detail":"Access denied"}'));
    expect(denied?.code).toBe('GATEWAY_REFUSED');
    expect(denied?.userMessage).toContain("refused the bot's credentials");
    const missing = profile.httpRefusal(404, sdkError('{"detail":"Server not found"}'));
    expect(missing?.code).toBe('GATEWAY_REFUSED');
    expect((missing?.cause as Error).message).toBe('MCP Context Forge answered HTTP 404: Server not found');
  });

  it('leaves server errors and other statuses to the general classification', () => {
    expect(profile.httpRefusal(500, sdkError('{"detail":"Internal Server Error"}'))).toBeUndefined();
    expect(profile.httpRefusal(502, 'Bad Gateway')).toBeUndefined();
    expect(profile.httpRefusal(429, '{"detail":"Too many requests"}')).toBeUndefined();
  });

  it('never puts a token or secret from the answer into what the user reads', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGFAZXhhbXBsZS5jb20ifQ.c2lnbmF0dXJlLXNlY3JldA';
    for (const [status, detail] of [
      [401, `Invalid authentication credentials for Bearer ${jwt}`],
      [401, `User not found in database (token ${jwt})`],
      [403, `Token is invalid: User is no longer a member of the associated team ${jwt}`],
      [403, `Access denied ${jwt}`],
      [404, `Server not found ${jwt}`],
    ] as const) {
      const error = profile.httpRefusal(status, sdkError(JSON.stringify({ detail })));
      expect(error).toBeDefined();
      expect(error?.userMessage).not.toContain(jwt);
      expect(error?.message).not.toContain(jwt);
    }
  });
});

describe('detailOf', () => {
  it("extracts MCF's detail from the SDK's error message", () => {
    expect(detailOf(sdkError('{"detail":"User not found in database"}'))).toBe('User not found in database');
  });

  it('keeps a body that is no JSON (or has no string detail) as text, on one line', () => {
    expect(detailOf('<html>\n  <body>Bad\tGateway</body>\n</html>')).toBe('<html> <body>Bad Gateway</body> </html>');
    expect(detailOf('{"detail":[{"msg":"field required"}]}')).toBe('{"detail":[{"msg":"field required"}]}');
    expect(detailOf('{"detail":"two\\nlines\\r\\n  here"}')).toBe('two lines here');
  });

  it('bounds a long detail to 200 characters ending with an ellipsis', () => {
    const detail = detailOf(JSON.stringify({ detail: 'x'.repeat(5000) }));
    expect(detail).toHaveLength(200);
    expect(detail.endsWith('x…')).toBe(true);
    expect(detailOf('y'.repeat(200))).toBe('y'.repeat(200));
  });

  it('says so when there is nothing to say', () => {
    expect(detailOf('')).toBe('(no detail)');
    expect(detailOf(' \n\t ')).toBe('(no detail)');
    expect(detailOf('{"detail":""}')).toBe('(no detail)');
  });
});
