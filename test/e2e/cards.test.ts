import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startApp, type AppProcess } from '../support/app-process.ts';
import { messageText } from '../support/fake-slack.ts';
import { CHANNEL, PROJECT, WORKFLOW, startEnvironment, type Environment } from '../support/environment.ts';

/** Live workflow cards, driven by the Kubernetes watch, with the real app as a process. */
let env: Environment;
let second: AppProcess | undefined;
beforeAll(async () => {
  env = await startEnvironment();
});
afterAll(async () => {
  await second?.kill('SIGKILL');
  await env?.close();
});

const cardsFor = (name: string) =>
  env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === undefined && messageText(c.args).includes(`${PROJECT}/${name}`));

function addWorkflow(name: string, title: string): void {
  env.kube.addRfeWorkflow(PROJECT, name, {
    title,
    description: `${title} description`,
    branchName: `ambient-${name}`,
    umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
  });
  env.github.setFiles('org', 'spec-repo', `ambient-${name}`, { 'specs/001-x/spec.md': `# ${title}` });
}

describe('workflow cards', () => {
  it('posts one card per workflow in each bound channel', async () => {
    await env.slack.waitFor(() => cardsFor(WORKFLOW).length === 2);
    expect(
      cardsFor(WORKFLOW)
        .map((c) => c.args.channel)
        .sort(),
    ).toEqual([CHANNEL, 'C0002']);
    const card = messageText(cardsFor(WORKFLOW)[0]!.args);
    expect(card).toContain('Dark mode');
    expect(card).toContain('github.com/org/spec-repo');
    expect(card).toContain('specs/001-dark-mode/plan.md');
  });

  it('a new workflow appears as a card without any command', async () => {
    addWorkflow('rfe-1760000500', 'Offline mode');
    await env.slack.waitFor(() => cardsFor('rfe-1760000500').length === 2);
  });

  it('a workflow whose branch is not pushed yet gets its card at once; its documents appear once it is seeded', async () => {
    env.kube.addRfeWorkflow(PROJECT, 'rfe-1760000550', {
      title: 'Audit log',
      description: 'Who did what',
      branchName: 'ambient-audit-log',
      umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
    });
    await env.slack.waitFor(() => cardsFor('rfe-1760000550').length === 2);
    expect(messageText(cardsFor('rfe-1760000550')[0]!.args)).toContain('No spec, plan or tasks document exists in this workflow yet.');

    // vTeam seeds the branch and records it on the workflow: the cards show the document.
    env.github.setFiles('org', 'spec-repo', 'ambient-audit-log', { 'specs/001-audit/spec.md': '# Audit log' });
    env.kube.modify('rfeworkflows', PROJECT, 'rfe-1760000550', (o) => {
      (o as unknown as { spec: { description: string } }).spec.description = 'Who did what, and when';
    });
    await env.slack.waitFor(
      () =>
        env.slack
          .callsTo('chat.update')
          .filter((c) => messageText(c.args).includes('rfe-1760000550') && messageText(c.args).includes('specs/001-audit/spec.md'))
          .length === 2,
    );
  });

  it('a link written outside Slack (the vTeam UI) edits the card and says so once in its thread', async () => {
    const cardTs = cardsFor('rfe-1760000500').find((c) => c.args.channel === CHANNEL)!;
    env.kube.modify('rfeworkflows', PROJECT, 'rfe-1760000500', (o) => {
      (o as unknown as { spec: { jiraLinks?: unknown[] } }).spec.jiraLinks = [{ path: 'specs/001-x/spec.md', jiraKey: 'PROJ-77' }];
    });
    const update = await env.slack.waitFor(() =>
      env.slack.callsTo('chat.update').find((c) => c.args.channel === CHANNEL && messageText(c.args).includes('PROJ-77')),
    );
    expect(JSON.stringify(update.args.blocks)).not.toContain('publish_to_jira');
    const ts = env.slack.messagesIn(CHANNEL).find((m) => JSON.stringify(m).includes('rfe-1760000500'))!.ts;
    const reply = await env.slack.waitFor(
      () => env.slack.repliesTo(CHANNEL, ts).find((m) => JSON.stringify(m).includes('PROJ-77')),
      20_000,
    );
    expect(JSON.stringify(reply)).toMatch(/linked to .*outside this channel/);
    expect(cardTs).toBeDefined();
  });

  it('a restart posts nothing new', async () => {
    const posted = env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === undefined).length;
    await env.app.kill('SIGTERM');
    await env.startApp();
    await new Promise((r) => setTimeout(r, 4000)); // longer than the Lease, informer sync and a reconcile pass
    expect(env.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === undefined).length).toBe(posted);
  });

  it('with two replicas one posts; when it is killed the other takes over and posts each new card once', async () => {
    second = await startApp({ ...env.appEnv(), PORT: String(await freePort()) });
    addWorkflow('rfe-1760000600', 'Exports');
    await env.slack.waitFor(() => cardsFor('rfe-1760000600').length === 2);
    await env.app.kill('SIGKILL');
    addWorkflow('rfe-1760000700', 'Imports');
    await env.slack.waitFor(() => cardsFor('rfe-1760000700').length === 2, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(cardsFor('rfe-1760000600')).toHaveLength(2);
    expect(cardsFor('rfe-1760000700')).toHaveLength(2);
  });
});
