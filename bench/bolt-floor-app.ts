/**
 * The least a Bolt app can do per Slack request: Bolt's HTTP receiver verifies the signature, runs
 * its middleware and acknowledges, nothing else. bench/scenarios/ack-users.ts (boltFloor) sends it the
 * same bursts as the app, so the app's own share of an ack can be read off beside Bolt's.
 */
import bolt from '@slack/bolt';

const app = new bolt.App({
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? 'bolt-floor',
  // No Slack to ask: every request is authorized as one fixed bot.
  authorize: async () => ({ botToken: 'xoxb-bolt-floor', botId: 'B0FLOOR', botUserId: 'U0FLOOR' }),
  logLevel: bolt.LogLevel.ERROR,
});
app.command(/.*/, async ({ ack }) => {
  await ack();
});
app.action(/.*/, async ({ ack }) => {
  await ack();
});
await app.start(Number(process.env.PORT ?? 0));
process.stdout.write('ready\n');
