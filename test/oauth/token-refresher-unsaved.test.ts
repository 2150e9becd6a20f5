/**
 * Refresh tokens are single-use: once the server answered a refresh, the old pair is spent, so a
 * store that will not take the new pair must not cost the user their link (issue 11, point 5).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ada } from './helpers.ts';
import { refreshWorld, sleep, until } from './refresh-world.ts';

interface LogLine {
  level: number;
  msg: string;
  userId?: string;
}
const lines = (text: string): LogLine[] =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);

describe('token refresher: a new pair the store will not take yet', () => {
  let w: Awaited<ReturnType<typeof refreshWorld>>;
  afterEach(async () => {
    await w.close();
  });

  it('a store refusing writes for 3 s after a refresh: the new pair is used meanwhile, saved once the store is back, the spent token never sent again', async () => {
    w = await refreshWorld({ saveRetryMinMs: 100, saveRetryMaxMs: 500 });
    w.hooks.afterServer = async () => {
      w.flaky.down = true;
      setTimeout(() => (w.flaky.down = false), 3000);
    };
    const first = await w.refresher.current(ada);
    const fresh = w.issued[0]!;
    expect(first?.accessToken).toBe(fresh.accessToken);
    for (const _ of [1, 2]) {
      await sleep(1000);
      expect((await w.refresher.current(ada))?.accessToken).toBe(fresh.accessToken);
    }
    // A rejection of the old token (a request in flight at the time) gets the new pair, without a refresh.
    expect((await w.refresher.afterRejection(ada, w.linked.accessToken))?.accessToken).toBe(fresh.accessToken);
    expect(w.flaky.down).toBe(true);
    expect((await w.tokens.get(ada))?.accessToken).toBe(w.linked.accessToken);

    await until(async () => (await w.tokens.get(ada))?.accessToken === fresh.accessToken, 2000);
    const stored = await w.tokens.get(ada);
    expect(stored?.refreshToken).toBe(fresh.refreshToken);
    expect(stored?.broken).toBeUndefined();
    expect(w.sent).toEqual([w.linked.refreshToken]);
    expect(w.world.auth.counters).toMatchObject({ refreshes: 1, failedRefreshes: 0 });
    expect((await w.refresher.current(ada))?.accessToken).toBe(fresh.accessToken);
    expect(await w.world.auth.verifyAccessToken(fresh.accessToken)).toMatchObject({ sub: 'ada' });
    const text = w.logs.text();
    expect(text).toContain('Saved the refreshed Atlassian token');
    for (const secret of w.secrets()) expect(text).not.toContain(secret);
  });

  it('a store down past the budget: the pair is dropped with an error log asking for a reconnect, and no log line holds a token', async () => {
    w = await refreshWorld({ saveBudgetMs: 600, saveRetryMinMs: 50, saveRetryMaxMs: 200 });
    w.hooks.afterServer = async () => {
      w.flaky.down = true;
    };
    expect((await w.refresher.current(ada))?.accessToken).toBe(w.issued[0]!.accessToken);
    await until(() => w.logs.text().includes('Gave up saving'));

    const logged = lines(w.logs.text());
    const gaveUp = logged.find((line) => line.msg.startsWith('Gave up saving'));
    expect(gaveUp).toMatchObject({ level: 50, userId: ada.userId });
    expect(gaveUp?.msg).toContain('reconnect');
    expect(logged.filter((line) => line.level === 40 && line.msg.includes('yet; retrying')).length).toBeGreaterThanOrEqual(2);
    expect(w.refresher.forget(ada)).toBeUndefined(); // nothing kept any more
    expect((await w.tokens.get(ada))?.accessToken).toBe(w.linked.accessToken);
    for (const secret of w.secrets()) expect(w.logs.text()).not.toContain(secret);
  });

  it('close() makes one last attempt, which saves the pair when the store is back', async () => {
    w = await refreshWorld({ saveRetryMinMs: 60_000, saveRetryMaxMs: 60_000 });
    w.hooks.afterServer = async () => {
      w.flaky.down = true;
    };
    const fresh = await w.refresher.current(ada);
    w.flaky.down = false;
    await w.refresher.close();
    expect((await w.tokens.get(ada))?.accessToken).toBe(fresh?.accessToken);
  });

  it('close() with the store still down drops the pair and leaves no retry behind', async () => {
    w = await refreshWorld({ saveRetryMinMs: 100, saveRetryMaxMs: 100 });
    w.hooks.afterServer = async () => {
      w.flaky.down = true;
    };
    await w.refresher.current(ada);
    await w.refresher.close();
    expect(w.logs.text()).toContain('Gave up saving');
    w.flaky.down = false;
    await sleep(300); // past any retry that would still be scheduled
    expect((await w.tokens.get(ada))?.accessToken).toBe(w.linked.accessToken);
  });
});
