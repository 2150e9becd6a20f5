import { describe, expect, it } from 'vitest';
import { decodeDocumentValue, encodeDocumentValue } from '../../src/slack/action-values.ts';

describe('document button values', () => {
  it('round-trips and stays well under Slack\'s 2000-character limit', () => {
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
