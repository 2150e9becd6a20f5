import { describe, expect, it } from 'vitest';
import { sessionKey, userKey, type SlackUserRef } from '../../src/publishing/model.ts';
import { tokenKey } from '../../src/storage/tokens.ts';

const grid: SlackUserRef = { teamId: 'T1', enterpriseId: 'E1', userId: 'U1' };
const workspace: SlackUserRef = { teamId: 'T1', userId: 'U1' };

describe('the keys of a person', () => {
  it("userKey: the stored records' key, by Enterprise Grid org when there is one (persisted: never changes)", () => {
    expect(userKey(grid)).toBe('enterprise/E1/U1');
    expect(userKey({ ...grid, teamId: 'T2' })).toBe('enterprise/E1/U1');
    expect(userKey(workspace)).toBe('team/T1/U1');
    expect(userKey({ ...workspace, enterpriseId: '' })).toBe('team/T1/U1');
  });

  it('the token store keys its links the same way', () => {
    for (const user of [grid, workspace]) expect(tokenKey(user)).toBe(`atlassian-link:${userKey(user)}`);
  });

  it('sessionKey: the in-memory key of a person on the Atlassian side', () => {
    expect(sessionKey(grid)).toBe('E1:U1');
    expect(sessionKey({ ...grid, teamId: 'T2' })).toBe('E1:U1');
    expect(sessionKey(workspace)).toBe('T1:U1');
  });
});
