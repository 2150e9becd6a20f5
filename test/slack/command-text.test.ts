import { describe, expect, it } from 'vitest';
import { parseVteamCommand, tokenize } from '../../src/slack/command-text.ts';

describe('parseVteamCommand', () => {
  it.each([
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['frobnicate x', { kind: 'other', name: 'frobnicate', args: ['x'] }],
    [
      'publish rfe-1760000000 specs/001-dark/spec.md',
      { kind: 'publish', workflow: 'rfe-1760000000', path: 'specs/001-dark/spec.md', issueType: undefined },
    ],
    [
      'publish team-a/rfe-1 specs/plan.md --type Story',
      { kind: 'publish', workflow: 'team-a/rfe-1', path: 'specs/plan.md', issueType: 'Story' },
    ],
    [
      'publish "Dark mode" spec.md --type "Feature Request"',
      { kind: 'publish', workflow: 'Dark mode', path: 'spec.md', issueType: 'Feature Request' },
    ],
    ['publish Dark mode specs/spec.md', { kind: 'publish', workflow: 'Dark mode', path: 'specs/spec.md', issueType: undefined }],
    ['publish Dark mode', { kind: 'publish', workflow: 'Dark mode', issueType: undefined }],
    ['publish “Dark mode” --type=Epic', { kind: 'publish', workflow: 'Dark mode', issueType: 'Epic' }],
    ['PUBLISH rfe-1', { kind: 'publish', workflow: 'rfe-1', issueType: undefined }],
  ])('%j', (text, expected) => {
    expect(parseVteamCommand(text)).toEqual(expected);
  });

  it('explains usage when the workflow is missing or a flag is unknown', () => {
    expect(() => parseVteamCommand('publish')).toThrow(/Say which workflow/);
    expect(() => parseVteamCommand('publish rfe-1 spec.md --force')).toThrow(/usage: `\/vteam publish/);
  });

  it('tokenizes quotes and keeps unbalanced quotes to the end', () => {
    expect(tokenize(`a "b c" 'd e' “f g”`)).toEqual(['a', 'b c', 'd e', 'f g']);
    expect(tokenize('a "b c')).toEqual(['a', 'b c']);
    expect(tokenize('  ')).toEqual([]);
  });
});
