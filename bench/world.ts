/**
 * The bench's data on top of the e2e environment: many RFE workflows (each on its own feature branch of
 * the spec repository, so every document has a distinct source URL) and many linked Slack users.
 */
import type { SlackUserRef } from '../src/publishing/model.ts';
import { PROJECT, SITE, type Environment } from '../test/support/environment.ts';
import { messageText, type SlackCall } from '../test/support/fake-slack.ts';

export const PHASES = ['spec', 'plan', 'tasks'] as const;

export interface BenchWorkflow {
  name: string;
  title: string;
  branch: string;
}

export interface BenchDocument {
  workflow: BenchWorkflow;
  path: string;
}

export interface BenchUser {
  ref: SlackUserRef;
  token: string;
}

/** Where an issue's description says it came from; how issues are mapped back to documents. */
export function sourceUrl(doc: BenchDocument): string {
  return `https://github.com/org/spec-repo/blob/${doc.workflow.branch}/${doc.path}`;
}

export function documentKey(doc: BenchDocument): string {
  return `${doc.workflow.name}:${doc.path}`;
}

/** Seeds `count` RFEWorkflows in the bound project, with spec/plan/tasks on their branches. */
export function seedWorkflows(env: Environment, count: number): BenchWorkflow[] {
  return Array.from({ length: count }, (_, i) => seedWorkflow(env, String(i).padStart(3, '0')));
}

/**
 * One RFEWorkflow `rfe-bench-<id>` (documentsOf works on it) with spec, plan and tasks on its own
 * branch; `tasksOf` writes its tasks.md (default: two open tasks).
 */
export function seedWorkflow(
  env: Environment,
  id: string,
  options: { title?: string; tasksOf?: (title: string) => string } = {},
): BenchWorkflow {
  const workflow = { name: `rfe-bench-${id}`, title: options.title ?? `Bench feature ${id}`, branch: `bench-${id}` };
  env.kube.addRfeWorkflow(PROJECT, workflow.name, {
    title: workflow.title,
    description: `Synthetic workflow ${id} for the benchmark`,
    branchName: workflow.branch,
    umbrellaRepo: { url: 'https://github.com/org/spec-repo', branch: 'main' },
  });
  const dir = `specs/${id}-feature`;
  env.github.setFiles('org', 'spec-repo', workflow.branch, {
    'rfe.md': `# ${workflow.title}`,
    [`${dir}/spec.md`]: `# ${workflow.title} spec\n\n${'Requirement text. '.repeat(40)}`,
    [`${dir}/plan.md`]: `# ${workflow.title} plan\n\n1. Design\n2. Build\n3. Ship`,
    [`${dir}/tasks.md`]: options.tasksOf?.(workflow.title) ?? `# ${workflow.title} tasks\n\n- [ ] T1\n- [ ] T2`,
  });
  return workflow;
}

/** Matches the thread reply announcing `document` published by `userId`. */
export function isPublishedReply(document: BenchDocument, userId: string) {
  return (call: SlackCall) =>
    call.method === 'chat.postMessage' &&
    call.args.thread_ts !== undefined &&
    messageText(call.args).includes(`published from ${document.path} of ${document.workflow.title}`) &&
    messageText(call.args).includes(`<@${userId}>`);
}

export function documentsOf(workflow: BenchWorkflow): BenchDocument[] {
  const id = workflow.name.slice('rfe-bench-'.length);
  return PHASES.map((phase) => ({ workflow, path: `specs/${id}-feature/${phase}.md` }));
}

/** Slack users U2000…, each with an Atlassian token the fake MCP knows and the app's store holds. */
export async function seedUsers(env: Environment, count: number): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  for (let i = 0; i < count; i++) {
    const user: BenchUser = { ref: { teamId: 'T0001', userId: `U${2000 + i}` }, token: `atl-bench-${i}-${'x'.repeat(16)}` };
    env.mcp.addToken({ token: user.token, sites: [SITE], account: { name: `Bench user ${i}` } });
    await env.link(user.ref, user.token);
    users.push(user);
  }
  return users;
}
