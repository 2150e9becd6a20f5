import { describe, expect, it } from 'vitest';
import { createStore, parseStoreUrl } from '../../src/storage/store.ts';

describe('STORE_URL', () => {
  it.each([
    ['sqlite://./data/vteam-slack.sqlite', { kind: 'sqlite', path: './data/vteam-slack.sqlite' }],
    ['sqlite:///var/lib/vteam/x.sqlite', { kind: 'sqlite', path: '/var/lib/vteam/x.sqlite' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['redis://:secret@redis:6379/0', { kind: 'redis', url: 'redis://:secret@redis:6379/0' }],
    ['rediss://redis.example:6380', { kind: 'redis', url: 'rediss://redis.example:6380' }],
  ])('parses %s', (url, expected) => {
    expect(parseStoreUrl(url)).toEqual(expected);
  });

  it('rejects an unknown scheme, naming the accepted ones and not echoing the URL', async () => {
    await expect(createStore('postgres://user:hunter2@db/x')).rejects.toThrow(
      'STORE_URL scheme "postgres:" is not supported; expected sqlite://<path>, sqlite::memory:, redis://… or rediss://….',
    );
    await expect(createStore('postgres://user:hunter2@db/x')).rejects.not.toThrow(/hunter2/);
    expect(() => parseStoreUrl('./data/x.sqlite')).toThrow(/scheme \(none\)/);
    expect(() => parseStoreUrl('sqlite://')).toThrow(/no SQLite file path/);
  });
});
