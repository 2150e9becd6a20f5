/**
 * Hostile input at the pure boundaries, generated (fast-check): whatever arrives — command text,
 * button and overflow values, modal metadata, document paths, repository URLs, RFEWorkflow objects —
 * is either refused with one clear sentence or becomes a value that is safe by construction.
 * Nothing here may throw anything but a VteamError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import { parseVteamCommand } from '../../src/slack/command-text.ts';
import {
  decodeDocumentValue,
  decodeOverflowChoice,
  decodePublishAsMetadata,
  encodeDocumentValue,
  encodePublishAsMetadata,
  encodePublishAsValue,
} from '../../src/slack/action-values.ts';
import { normalizeWorkspacePath, validateDocumentPath } from '../../src/publishing/paths.ts';
import { parseRepoUrl, trustedApiBase } from '../../src/vteam/repo-url.ts';
import { toWorkflow, withInFlight, withJiraLink } from '../../src/vteam/workflow-mapping.ts';
import { hostile, hostileText } from './arbitraries.ts';
import './setup.ts';

const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 300) };

/** One sentence a user can act on: no line breaks, bounded, ends like a sentence. */
function expectOneSentence(message: string): void {
  expect(message).not.toMatch(/[\r\n]/);
  expect(message.length).toBeLessThan(1200);
  expect(message).toMatch(/[.)`]$/);
}

describe('command text', () => {
  it('parses or refuses with one sentence, never anything else', () => {
    fc.assert(
      fc.property(hostileText, (text) => {
        try {
          const command = parseVteamCommand(text);
          if (command.kind === 'publish') {
            expect(command.workflow.length).toBeGreaterThan(0);
          }
        } catch (error) {
          expect(isVteamError(error, 'BAD_REQUEST')).toBe(true);
          expectOneSentence((error as { userMessage: string }).userMessage);
        }
      }),
      RUNS,
    );
  });
});

describe('action values and modal metadata', () => {
  it('decode garbage to undefined, never throw', () => {
    fc.assert(
      fc.property(hostileText, (raw) => {
        expect(() => decodeDocumentValue(raw)).not.toThrow();
        expect(() => decodeOverflowChoice(raw)).not.toThrow();
        expect(() => decodePublishAsMetadata(raw)).not.toThrow();
      }),
      RUNS,
    );
  });

  it('decode JSON of the right shape with wrong values to undefined', () => {
    const jsonish = fc.record({ v: fc.anything(), ns: fc.anything(), wf: fc.anything(), p: fc.anything() }, { requiredKeys: [] });
    fc.assert(
      fc.property(jsonish, (value) => {
        const decoded = decodeDocumentValue(safeStringify(value));
        if (decoded !== undefined) {
          expect(decoded.namespace).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
          expect(decoded.path.length).toBeGreaterThan(0);
        }
      }),
      RUNS,
    );
  });

  it('round-trip every value we produce, and never produce one Slack would refuse', () => {
    const ref = fc.record({
      namespace: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/),
      name: fc.stringMatching(/^[a-z0-9]([-.a-z0-9]{0,30}[a-z0-9])?$/),
      path: hostileText.filter((p) => p.length > 0 && p.length <= 1024),
    });
    fc.assert(
      fc.property(ref, (value) => {
        const encoded = encodeDocumentValue(value);
        expect(encoded.length <= 2000 ? decodeDocumentValue(encoded) : undefined).toEqual(encoded.length <= 2000 ? value : undefined);
        const overflow = encodePublishAsValue(value);
        if (overflow !== undefined) {
          expect(overflow.length).toBeLessThanOrEqual(150);
          expect(decodeOverflowChoice(overflow)?.value).toEqual(value);
        }
        const metadata = encodePublishAsMetadata({ ...value, channelId: 'C0001', responseUrl: 'https://hooks.slack.com/actions/T/1/x' });
        expect(metadata.length).toBeLessThanOrEqual(3000);
      }),
      RUNS,
    );
  });
});

describe('document paths', () => {
  it('normalise to a path inside the workspace, or refuse', () => {
    const pathLike = fc.oneof(
      hostileText,
      fc
        .array(fc.constantFrom('..', '.', '', 'specs', '%2e%2e', '%252e%252e', '~', 'C:', '\\', 'a.md', '\u202e'), { maxLength: 8 })
        .map((parts) => parts.join('/')),
    );
    fc.assert(
      fc.property(pathLike, (input) => {
        let path: string;
        try {
          path = normalizeWorkspacePath(input);
        } catch (error) {
          expect(isVteamError(error, 'PATH_OUTSIDE_WORKSPACE')).toBe(true);
          return;
        }
        expect(path.startsWith('/')).toBe(false);
        expect(path.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')).toBe(false);
        // eslint-disable-next-line no-control-regex -- control characters must never survive
        expect(path).not.toMatch(/[\\%\u0000-\u001f\u007f]/);
        expect(normalizeWorkspacePath(path)).toBe(path);
      }),
      RUNS,
    );
  });

  it('a publishable path is markdown, or refused with one sentence', () => {
    fc.assert(
      fc.property(hostileText, (input) => {
        try {
          expect(validateDocumentPath(input)).toMatch(/\.md$/i);
        } catch (error) {
          expect(isVteamError(error)).toBe(true);
          expectOneSentence((error as { userMessage: string }).userMessage);
        }
      }),
      RUNS,
    );
  });
});

describe('repository URLs from a CR', () => {
  it('parse to a plain host/owner/repo or nothing, and a token base only on allowed hosts', () => {
    const urlish = fc.oneof(
      hostileText,
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.webUrl().map((u) => `${u}/org/repo.git`),
    );
    fc.assert(
      fc.property(urlish, (input) => {
        const location = parseRepoUrl(input);
        if (location === undefined) return;
        expect(location.host).toMatch(/^[a-z0-9.-]+(:[0-9]{1,5})?$/);
        const base = trustedApiBase(location, undefined, ['ghe.example.com']);
        if (base !== undefined) expect(['https://api.github.com', 'https://ghe.example.com/api/v3']).toContain(base);
      }),
      RUNS,
    );
  });
});

describe('RFEWorkflow objects from the cluster', () => {
  it('map whatever fields they hold (missing, wrong types) without throwing', () => {
    const spec = fc.record(
      {
        title: hostile,
        description: hostile,
        branchName: hostile,
        parentOutcome: hostile,
        umbrellaRepo: fc.oneof(hostile, fc.record({ url: hostile, branch: hostile }, { requiredKeys: [] })),
        repositories: fc.oneof(hostile, fc.array(fc.record({ url: hostile }, { requiredKeys: [] }))),
        jiraLinks: fc.oneof(hostile, fc.array(fc.oneof(hostile, fc.record({ path: hostile, jiraKey: hostile }, { requiredKeys: [] })))),
      },
      { requiredKeys: [] },
    );
    const object = fc.record(
      {
        metadata: fc.oneof(hostile, fc.record({ name: hostile, namespace: hostile, resourceVersion: hostile }, { requiredKeys: [] })),
        spec: fc.oneof(hostile, spec),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(hostile, object), (raw) => {
        const workflow = toWorkflow(raw);
        if (workflow === undefined) return;
        expect(typeof workflow.title).toBe('string');
        for (const link of workflow.jiraLinks) {
          expect(typeof link.path).toBe('string');
          expect(typeof link.jiraKey).toBe('string');
        }
        // Writing a link keeps everything else the object held, and never replaces another key.
        const before = safeStringify(raw);
        const { object: written, existingKey } = withJiraLink(raw as Record<string, unknown>, {
          path: 'specs/x/spec.md',
          jiraKey: 'PROJ-1',
        });
        expect(toWorkflow(written)?.jiraLinks).toContainEqual({ path: 'specs/x/spec.md', jiraKey: existingKey ?? 'PROJ-1' });
        // Recording and clearing an in-flight publish round-trips; the read object (kept as a recent read) is never changed.
        const intent = { path: 'specs/x/spec.md', since: 1, fence: 'f', user: { teamId: 'T1', userId: 'U1' }, replyTo: {} };
        const marked = withInFlight(written, workflow, intent.path, intent);
        expect(toWorkflow(marked.object)?.inFlight).toEqual([intent]);
        const cleared = withInFlight(marked.object, workflow, intent.path, undefined);
        expect(toWorkflow(cleared.object)?.inFlight).toBeUndefined();
        expect(safeStringify(raw)).toBe(before);
      }),
      RUNS,
    );
  });
});

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return String(value);
  }
}
