import { describe, expect, it } from 'vitest';
import { blobUrl, githubApiBase, parseRepoUrl } from '../../src/vteam/repo-url.ts';

describe('parseRepoUrl', () => {
  it.each([
    ['https://github.com/org/spec-repo', { host: 'github.com', owner: 'org', repo: 'spec-repo' }],
    ['https://github.com/org/spec-repo.git', { host: 'github.com', owner: 'org', repo: 'spec-repo' }],
    ['https://github.com/org/spec-repo/', { host: 'github.com', owner: 'org', repo: 'spec-repo' }],
    ['  https://GitHub.com/Org/Spec.Repo.git/ ', { host: 'github.com', owner: 'Org', repo: 'Spec.Repo' }],
    ['https://github.example.com:8443/team/specs', { host: 'github.example.com:8443', owner: 'team', repo: 'specs' }],
    ['git@github.com:org/spec-repo.git', { host: 'github.com', owner: 'org', repo: 'spec-repo' }],
  ])('parses %j', (input, expected) => {
    expect(parseRepoUrl(input)).toEqual(expected);
  });

  it.each([
    'http://github.com/org/repo',
    'https://github.com/org',
    'https://github.com/org/repo/tree/main',
    'https://token@github.com/org/repo',
    'https://user:pw@github.com/org/repo',
    'https://github.com/org/repo?x=1',
    'https://github.com/org/repo#readme',
    'https://github.com/org/..',
    'https://github.com/%2e%2e/repo',
    'file:///etc/passwd',
    'org/repo',
    'not a url',
    '',
  ])('rejects %j', (input) => {
    expect(parseRepoUrl(input)).toBeUndefined();
  });
});

describe('GitHub URLs', () => {
  const dotcom = { host: 'github.com', owner: 'org', repo: 'spec-repo' };
  const ghe = { host: 'github.example.com', owner: 'team', repo: 'specs' };

  it('derives the API base from the host unless one is configured', () => {
    expect(githubApiBase(dotcom)).toBe('https://api.github.com');
    expect(githubApiBase(ghe)).toBe('https://github.example.com/api/v3');
    expect(githubApiBase(dotcom, 'https://proxy.internal/api/v3/')).toBe('https://proxy.internal/api/v3');
  });

  it('builds blob links on the feature branch', () => {
    expect(blobUrl(dotcom, 'ambient-dark-mode', 'specs/001-dark-mode/spec.md')).toBe(
      'https://github.com/org/spec-repo/blob/ambient-dark-mode/specs/001-dark-mode/spec.md',
    );
    expect(blobUrl(ghe, 'feature/x y', 'specs/a b.md')).toBe('https://github.example.com/team/specs/blob/feature/x%20y/specs/a%20b.md');
  });
});
