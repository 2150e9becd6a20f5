import { describe, expect, it } from 'vitest';
import {
  decodeDocumentValue,
  decodeOverflowChoice,
  decodePublishAsMetadata,
  decodePublishAsValue,
  encodeDocumentValue,
  encodePublishAsMetadata,
  encodePublishAsValue,
  encodePublishNowValue,
} from '../../src/slack/action-values.ts';

describe('document button values', () => {
  it("round-trips and stays well under Slack's 2000-character limit", () => {
    const value = { namespace: 'team-a', name: 'rfe-1760000000', path: 'specs/001-dark-mode/spec.md' };
    const encoded = encodeDocumentValue(value);
    expect(encoded.length).toBeLessThan(200);
    expect(decodeDocumentValue(encoded)).toEqual(value);
  });

  it.each([
    undefined,
    'not json',
    '{"v":2,"ns":"a","wf":"b","p":"c"}',
    '{"v":1,"ns":"../etc","wf":"b","p":"c"}',
    '{"v":1,"ns":"a","wf":"B C","p":"c"}',
    '{"v":1,"ns":"a","wf":"b","p":""}',
    'x'.repeat(2001),
  ])('rejects %j', (raw) => {
    expect(decodeDocumentValue(raw)).toBeUndefined();
  });
});

describe('"Publish as…" overflow values', () => {
  const value = { namespace: 'team-a', name: 'rfe-1760000000', path: 'specs/001-dark-mode/spec.md' };

  it("round-trip in a short versioned form within Slack's 150 characters", () => {
    const encoded = encodePublishAsValue(value)!;
    expect(encoded).toBe('d1|team-a|rfe-1760000000|specs/001-dark-mode/spec.md');
    expect(decodePublishAsValue(encoded)).toEqual(value);
  });

  it('keep a path holding the separator whole', () => {
    const odd = { ...value, path: 'specs/a|b/spec.md' };
    expect(decodePublishAsValue(encodePublishAsValue(odd))).toEqual(odd);
  });

  it('are omitted, never truncated, when the path does not fit', () => {
    const prefix = 'd1|team-a|rfe-1760000000|'.length;
    const fits = { ...value, path: `${'p'.repeat(150 - prefix - 8)}/spec.md` };
    expect(encodePublishAsValue(fits)).toHaveLength(150);
    expect(encodePublishAsValue({ ...value, path: `x${fits.path}` })).toBeUndefined();
  });

  it.each([
    undefined,
    '',
    'd1|team-a|rfe-1',
    'd1|team-a|rfe-1|',
    'd2|team-a|rfe-1|spec.md',
    'd1|../etc|rfe-1|spec.md',
    'd1|team-a|RFE 1|spec.md',
    'd1|team-a|rfe-1|spec\n.md',
    `d1|team-a|rfe-1|${'x'.repeat(140)}`,
    '{"v":1,"ns":"team-a","wf":"rfe-1","p":"spec.md"}',
  ])('reject %j', (raw) => {
    expect(decodePublishAsValue(raw)).toBeUndefined();
  });
});

describe('"Publish as…" modal metadata', () => {
  const metadata = {
    namespace: 'team-a',
    name: 'rfe-1',
    path: 'specs/spec.md',
    channelId: 'C0001',
    responseUrl: 'https://hooks.slack.com/actions/T0001/1/abc',
    sourceEphemeral: true,
  };

  it('round-trips the document and where the click came from', () => {
    expect(decodePublishAsMetadata(encodePublishAsMetadata(metadata))).toEqual(metadata);
    const bare = { namespace: 'team-a', name: 'rfe-1', path: 'specs/spec.md', channelId: 'C0001' };
    expect(decodePublishAsMetadata(encodePublishAsMetadata(bare))).toEqual(bare);
  });

  it("drops the response_url rather than exceed Slack's 3000 characters", () => {
    const long = { ...metadata, path: `${'p'.repeat(1000)}/spec.md`, responseUrl: `https://hooks.slack.com/${'a'.repeat(1990)}` };
    const encoded = encodePublishAsMetadata(long);
    expect(encoded.length).toBeLessThanOrEqual(3000);
    const decoded = decodePublishAsMetadata(encoded);
    expect(decoded).toMatchObject({ path: long.path, channelId: 'C0001' });
    expect(decoded).not.toHaveProperty('responseUrl');
  });

  it.each([
    undefined,
    'not json',
    '{}',
    JSON.stringify({ ...metadata, channelId: 'c0001' }),
    JSON.stringify({ ...metadata, namespace: 'Team A' }),
    JSON.stringify({ ...metadata, responseUrl: 'javascript:alert(1)' }),
    JSON.stringify({ ...metadata, sourceEphemeral: 'yes' }),
    JSON.stringify({ ...metadata, path: '' }),
  ])('rejects %j', (raw) => {
    expect(decodePublishAsMetadata(raw)).toBeUndefined();
  });
});

describe('overflow choices', () => {
  it('tell "Publish as…" from "Publish to Jira" for the same document, and refuse anything else', () => {
    const document = { namespace: 'team-a', name: 'rfe-1', path: 'specs/a|b.md' };
    expect(decodeOverflowChoice(encodePublishAsValue(document))).toEqual({ choice: 'publish-as', value: document });
    expect(decodeOverflowChoice(encodePublishNowValue(document))).toEqual({ choice: 'publish-now', value: document });
    expect(decodeOverflowChoice('x1|team-a|rfe-1|a.md')).toBeUndefined();
    expect(decodeOverflowChoice('n1|../x|rfe-1|a.md')).toBeUndefined();
  });
});
