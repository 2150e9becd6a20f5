/**
 * Create issues from tasks: one batch of 25 creates (a spec-kit tasks.md of 30 tasks, 5 done) under the
 * workflow's Epic, through the same per-site rate limiter as single publishes. Each run clicks the
 * button, waits for the confirmation modal (views.open, then views.update with the plan) and submits it
 * as Slack does (a signed view_submission); the batch reports in one progress message in the workflow's
 * thread, edited with chat.update, ending as the summary.
 *
 * Measured: the batch's wall time against the ideal (every create back to back in every slot), what it
 * costs in MCP requests, hourly-budget units and Kubernetes writes, how its progress message keeps up,
 * and fairness: another user's single publish clicked while the batch runs, against the same user's
 * publishes on a quiet app.
 */
import type { Environment } from '../../test/support/environment.ts';
import { PROJECT, buttonValue } from '../../test/support/environment.ts';
import type { RecordedRequest } from '../../test/support/fake-kube.ts';
import type { ToolCallRecord } from '../../test/support/fake-mcp/index.ts';
import { messageText, type SlackCall } from '../../test/support/fake-slack.ts';
import { postToSlackEvents, viewSubmissionBody } from '../../test/support/slack-requests.ts';
import { waitForCardsDrained, waitForQuiet } from '../audit.ts';
import type { SlackObserver } from '../observe.ts';
import { stampPushes, type Stamps } from '../stamps.ts';
import { median, progress, round, summarize, type Summary } from '../stats.ts';
import { send } from '../traffic.ts';
import { documentsOf, isPublishedReply, seedWorkflow, type BenchDocument, type BenchUser, type BenchWorkflow } from '../world.ts';

export interface BatchOptions {
  mcpLatencyMs: number;
  /** The app's RATE_LIMIT_CONCURRENCY (also a batch's items in flight), which sets the ideal time. */
  concurrencyCap: number;
  /** Batches run with nothing else going on. */
  aloneRuns: number;
  /** Batches during which the other user publishes one document. */
  fairnessRuns: number;
  /** The other user's single publishes on a quiet app: the baseline of the fairness figure. */
  quietPublishes: number;
}

const TASKS_TOTAL = 30;
const TASKS_DONE = [1, 2, 3, 9, 15];
const CREATES = TASKS_TOTAL - TASKS_DONE.length;
/** The issue sets no number for the batch's wall time; this one only makes the row readable. */
const TARGET_WALL_RATIO = 1.5;
/** "A second or so behind at most": the progress message's longest silence while the batch runs. */
const TARGET_PROGRESS_GAP_MS = 1_500;
/** In-flight record + link, per created task. */
const EXPECTED_KUBE_WRITES_PER_TASK = 2;
/** The other user's publish clicks once this many of the batch's creates reached Jira (all slots busy by then). */
const CLICK_AFTER_CREATES = 5;

const MODEL =
  'wall = from sending the signed view_submission to the fake Slack receiving the chat.update that turns the progress ' +
  'message into the summary. ideal = open tasks × MCP latency ÷ RATE_LIMIT_CONCURRENCY (every create back to back in ' +
  'every slot; nothing else counted). MCP, Kubernetes and Slack figures count what the fakes recorded between the ' +
  'submission and the summary edit of the batches that ran alone (the modal is counted apart); Kubernetes writes are the ' +
  "PUTs of the batch's RFEWorkflow by HTTP status (a 409 is a conflict between the batch's concurrent items, written " +
  'again; "accepted" counts the 2xx ones). Budget units: the ' +
  '"N of M requests used this hour" of `/vteam jira-status` just before and just after a batch that ran alone. ' +
  'Fairness: the other user clicks Publish to Jira on a spec of another workflow once the batch has ' +
  `${CLICK_AFTER_CREATES} creates in Jira; wall = click → their thread reply, as in the quiet baseline (the same user, ` +
  'the same kind of document, one at a time, nothing else running); limit = MCP latency + quiet p50 (one slot).';

export interface BatchRunSample {
  kind: 'alone' | 'with-other-user';
  workflow: string;
  wallMs: number;
  /** elapsedMs of the app's own "created issues from tasks" log line (from its start to before the summary edit). */
  appElapsedMs: number | null;
  summary: string;
  creates: number;
  mcpHttpRequests: number;
  mcpToolCalls: Record<string, number>;
  /** Writes to the batch's RFEWorkflow, by verb and HTTP status (409: a conflict, written again). */
  kubeWritesOnWorkflow: Record<string, number>;
  kubeWritesPerCreatedTask: number;
  /** The same, counting only writes the API server accepted (2xx). */
  kubeAcceptedWritesPerCreatedTask: number;
  /**
   * ms after the submission at which the first and the last create reached Jira, and the mean interval between
   * consecutive creates (ideal: MCP latency ÷ cap).
   */
  createTimeline: { firstMs: number; lastMs: number; meanIntervalMs: number };
  /** chat.update calls on the progress message, the final summary edit included. */
  progressEdits: number;
  /** ms after the submission: the progress message posted, then each edit. */
  progressTimelineMs: number[];
  /** Longest time between the progress message's post and its first edit, or between two edits. */
  maxProgressGapMs: number;
  /**
   * Longest time from the k-th create reaching Jira to the first edit showing k or more done (the
   * summary counts as showing all): how far behind the message ran.
   */
  maxProgressBehindMs: number;
  budgetUnits?: number | null;
  otherUser?: FairnessSample;
}

export interface FairnessSample {
  /** Click → the other user's thread reply. */
  wallMs: number;
  /** Click → the Kubernetes PUT of their link (the last write to their workflow before the reply). */
  toLinkMs: number | null;
  /** Click → their createJiraIssue reaching Jira. */
  toCreateMs: number | null;
  batchCreatesAtClick: number;
  /** The batch's creates that reached Jira between the click and the other user's link. */
  batchCreatesBetweenClickAndLink: number;
  /** The batch's creates that reached Jira between the click and the other user's own create. */
  batchCreatesAheadOfItsCreate: number;
  /** wallMs − the quiet p50: what the batch cost this publish. */
  extraDelayMs: number;
}

export interface BatchResult {
  model: string;
  mcpLatencyMs: number;
  concurrencyCap: number;
  /** This hour's budget as `/vteam jira-status` showed it before the scenario (earlier scenarios use it too). */
  budgetAtStart: { used: number; limit: number } | null;
  tasks: { total: number; done: number; open: number };
  idealMs: number;
  /** Batches that ran alone. */
  wallMs: Summary;
  /** wallMs.p50 ÷ idealMs. */
  wallRatio: number;
  /** No number in the issue: a readable bound, not a requirement. */
  targetWallRatio: number;
  wallMsWithOtherUser: Summary;
  appElapsedMs: Summary;
  perBatch: {
    creates: number;
    expectedCreates: number;
    mcpHttpRequests: number;
    mcpToolCalls: Record<string, number>;
    /** Hourly-budget units the batch used, per `/vteam jira-status`; null if it could not be read. */
    budgetUnits: number | null;
    /** createJiraIssue calls × cost per call (1 without MCP Context Forge). */
    budgetUnitsFromToolCalls: number;
    kubeWritesOnWorkflow: Record<string, number>;
    kubeWritesPerCreatedTask: number;
    kubeAcceptedWritesPerCreatedTask: number;
    expectedKubeWritesPerTask: number;
    /** Medians over the batches that ran alone; idealIntervalMs = MCP latency ÷ cap. */
    createTimeline: { firstMs: number; lastMs: number; meanIntervalMs: number; idealIntervalMs: number };
    /** What clicking the button and planning the modal cost (views.open → views.update). */
    modal: { mcpHttpRequests: number; mcpToolCalls: Record<string, number>; msToPlan: number };
  };
  progress: {
    editsPerBatch: number;
    maxGapMs: number;
    maxBehindMs: number;
    targetMaxGapMs: number;
    note: string;
  };
  fairness: {
    quietPublishMs: Summary;
    quietToLinkMs: Summary;
    duringBatch: FairnessSample[];
    /** The worst wall time of the other user's publishes during a batch. */
    worstWallMs: number;
    worstExtraDelayMs: number;
    /** MCP latency + quiet p50: one slot's wait on top of a quiet publish. */
    limitMs: number;
  };
  runs: BatchRunSample[];
}

interface ModalArg {
  callback_id: string;
  private_metadata?: string;
  blocks: unknown[];
  submit?: { text: string };
}

interface StampSet {
  kube: Stamps<RecordedRequest>;
  mcp: Stamps<ToolCallRecord>;
  slack: Stamps<SlackCall>;
}

/**
 * Seeds the scenario's own workflows, named as world.ts names them (documentsOf works on them) with ids
 * `<prefix>NN`, each tasks.md a spec-kit task list of 30 tasks, 5 done.
 */
function seedBatchWorkflows(env: Environment, prefix: string, count: number): BenchWorkflow[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `${prefix}${String(i).padStart(2, '0')}`;
    return seedWorkflow(env, id, { title: `Bench batch feature ${id}`, tasksOf: tasksMarkdown });
  });
}

/** A spec-kit tasks.md: phases, [P] and [US…] markers, 30 tasks of which 5 are checked. */
function tasksMarkdown(title: string): string {
  const phases = [
    { heading: 'Phase 1: Setup (Shared Infrastructure)', from: 1, to: 3 },
    { heading: 'Phase 2: Foundational (Blocking Prerequisites)', from: 4, to: 7 },
    { heading: 'Phase 3: User Story 1 - Main flow (Priority: P1) 🎯 MVP', from: 8, to: 16, story: 'US1' },
    { heading: 'Phase 4: User Story 2 - Second flow (Priority: P2)', from: 17, to: 24, story: 'US2' },
    { heading: 'Phase 5: Polish & Cross-Cutting Concerns', from: 25, to: TASKS_TOTAL },
  ];
  const lines = [`# Tasks: ${title}`, '', '## Format: `[ID] [P?] [Story] Description`', ''];
  for (const phase of phases) {
    lines.push(`## ${phase.heading}`, '');
    for (let n = phase.from; n <= phase.to; n++) {
      const id = `T${String(n).padStart(3, '0')}`;
      const markers = `${n % 3 === 0 ? ' [P]' : ''}${phase.story ? ` [${phase.story}]` : ''}`;
      lines.push(`- [${TASKS_DONE.includes(n) ? 'x' : ' '}] ${id}${markers} Implement step ${n} in src/feature/step-${n}.ts`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

export async function runBatchScenario(
  env: Environment,
  observer: SlackObserver,
  users: { batch: BenchUser; other: BenchUser },
  options: BatchOptions,
): Promise<BatchResult> {
  const runsTotal = options.aloneRuns + options.fairnessRuns;
  const batchWorkflows = seedBatchWorkflows(env, 'b', runsTotal);
  // The other user's documents: one to open their session, the quiet baseline, one per fairness run.
  const otherWorkflows = seedBatchWorkflows(env, 'o', 1 + options.quietPublishes + options.fairnessRuns);
  const otherSpecs = otherWorkflows.map((w) => documentsOf(w)[0]!);
  env.mcp.setLatency(options.mcpLatencyMs);
  // The scenario's creates must fit in this hour's budget (RATE_LIMIT_HOURLY_BUDGET), or they would wait for the next hour.
  const budgetAtStart = await budgetStatus(env, users.batch);
  const needed = runsTotal * (3 + CREATES) + otherWorkflows.length;
  if (budgetAtStart && budgetAtStart.limit - budgetAtStart.used < needed)
    progress(
      `batch: WARNING only ${budgetAtStart.limit - budgetAtStart.used} of ${budgetAtStart.limit} Jira requests are left this hour and the scenario needs about ${needed}; figures will include waits for the next hour`,
    );

  progress(`batch: Publish all on ${runsTotal} workflows (the spec becomes the tasks' Epic), MCP latency ${options.mcpLatencyMs} ms`);
  for (const workflow of batchWorkflows) await publishAll(env, users.batch, workflow);
  await settle(env);

  progress(`batch: quiet baseline, ${options.quietPublishes} single publishes by the other user, one at a time`);
  const stamps: StampSet = {
    kube: stampPushes(env.kube.requests),
    mcp: stampPushes(env.mcp.counters.toolCalls),
    slack: stampPushes(env.slack.calls),
  };
  const runs: BatchRunSample[] = [];
  const quiet: { wallMs: number; toLinkMs: number | null }[] = [];
  let modalCost: BatchResult['perBatch']['modal'] | undefined;
  try {
    await publishSingle(env, observer, stamps, users.other, otherSpecs[0]!); // opens the user's MCP session
    for (const document of otherSpecs.slice(1, 1 + options.quietPublishes)) {
      quiet.push(await publishSingle(env, observer, stamps, users.other, document));
      await waitForCardsDrained(env, 30_000);
      await waitForQuiet(env, 300, 15_000);
    }
    const quietP50 = median(quiet.map((q) => q.wallMs));
    progress(`batch: quiet single publish p50 ${round(quietP50)} ms`);

    for (let i = 0; i < runsTotal; i++) {
      const fairness = i >= options.aloneRuns;
      const workflow = batchWorkflows[i]!;
      const modal = await openModal(env, users.batch, documentsOf(workflow)[2]!);
      modalCost ??= modal.cost;
      const budgetBefore = fairness ? undefined : (await budgetStatus(env, users.batch))?.used;
      await waitForQuiet(env, 300, 15_000); // the status probe's own MCP requests end before the batch starts
      const sample = await runOne(env, observer, stamps, users.batch, workflow, modal.view, {
        other: fairness ? { user: users.other, document: otherSpecs[1 + options.quietPublishes + (i - options.aloneRuns)]! } : undefined,
        quietP50,
      });
      if (!fairness) {
        const budgetAfter = (await budgetStatus(env, users.batch))?.used;
        sample.budgetUnits = budgetBefore === undefined || budgetAfter === undefined ? null : budgetAfter - budgetBefore;
      }
      runs.push(sample);
      progress(
        `batch: run ${i + 1}/${runsTotal} (${sample.kind}): ${sample.wallMs} ms, ${sample.creates} creates, ${sample.progressEdits} edits` +
          (sample.otherUser ? `; other user's publish ${sample.otherUser.wallMs} ms` : ''),
      );
      await settle(env);
    }
  } finally {
    for (const stamp of Object.values(stamps)) stamp.detach();
  }

  const alone = runs.filter((r) => r.kind === 'alone');
  const withOther = runs.filter((r) => r.kind === 'with-other-user');
  const idealMs = round((CREATES * options.mcpLatencyMs) / options.concurrencyCap);
  const wallMs = summarize(alone.map((r) => r.wallMs));
  const quietPublishMs = summarize(quiet.map((q) => q.wallMs));
  const duringBatch = withOther.map((r) => r.otherUser!);
  const averaged = (pick: (r: BatchRunSample) => Record<string, number>) => averageRecords(alone.map(pick));
  const budgets = alone.map((r) => r.budgetUnits).filter((b): b is number => typeof b === 'number');
  return {
    model: MODEL,
    mcpLatencyMs: options.mcpLatencyMs,
    concurrencyCap: options.concurrencyCap,
    budgetAtStart: budgetAtStart ?? null,
    tasks: { total: TASKS_TOTAL, done: TASKS_DONE.length, open: CREATES },
    idealMs,
    wallMs,
    wallRatio: round(wallMs.p50 / idealMs, 2),
    targetWallRatio: TARGET_WALL_RATIO,
    wallMsWithOtherUser: summarize(withOther.map((r) => r.wallMs)),
    appElapsedMs: summarize(runs.map((r) => r.appElapsedMs).filter((v): v is number => v !== null)),
    perBatch: {
      creates: round(mean(alone.map((r) => r.creates)), 2),
      expectedCreates: CREATES,
      mcpHttpRequests: round(mean(alone.map((r) => r.mcpHttpRequests)), 2),
      mcpToolCalls: averaged((r) => r.mcpToolCalls),
      budgetUnits: budgets.length === 0 ? null : round(mean(budgets), 2),
      budgetUnitsFromToolCalls: round(mean(alone.map((r) => r.mcpToolCalls.createJiraIssue ?? 0)), 2),
      kubeWritesOnWorkflow: averaged((r) => r.kubeWritesOnWorkflow),
      kubeWritesPerCreatedTask: round(mean(alone.map((r) => r.kubeWritesPerCreatedTask)), 2),
      kubeAcceptedWritesPerCreatedTask: round(mean(alone.map((r) => r.kubeAcceptedWritesPerCreatedTask)), 2),
      expectedKubeWritesPerTask: EXPECTED_KUBE_WRITES_PER_TASK,
      createTimeline: {
        firstMs: round(median(alone.map((r) => r.createTimeline.firstMs))),
        lastMs: round(median(alone.map((r) => r.createTimeline.lastMs))),
        meanIntervalMs: round(median(alone.map((r) => r.createTimeline.meanIntervalMs))),
        idealIntervalMs: round(options.mcpLatencyMs / options.concurrencyCap),
      },
      modal: modalCost ?? { mcpHttpRequests: 0, mcpToolCalls: {}, msToPlan: 0 },
    },
    progress: {
      editsPerBatch: round(mean(runs.map((r) => r.progressEdits)), 2),
      maxGapMs: Math.max(...runs.map((r) => r.maxProgressGapMs)),
      maxBehindMs: Math.max(...runs.map((r) => r.maxProgressBehindMs)),
      targetMaxGapMs: TARGET_PROGRESS_GAP_MS,
      note:
        'the app edits at most once a second (CoalescingSender): a batch of about a second shows its first edit, at most ' +
        'one more, then "25 of 25" and the summary, so at this latency the gap is bounded by the batch itself. maxBehindMs: ' +
        'from the k-th create reaching Jira to the first edit showing k done',
    },
    fairness: {
      quietPublishMs,
      quietToLinkMs: summarize(quiet.map((q) => q.toLinkMs).filter((v): v is number => v !== null)),
      duringBatch,
      worstWallMs: Math.max(...duringBatch.map((s) => s.wallMs)),
      worstExtraDelayMs: Math.max(...duringBatch.map((s) => s.extraDelayMs)),
      limitMs: round(options.mcpLatencyMs + quietPublishMs.p50),
    },
    runs,
  };
}

/** Publish all, clicked: the spec becomes an Epic, plan and tasks its children; waits for the summary reply. */
async function publishAll(env: Environment, user: BenchUser, workflow: BenchWorkflow): Promise<void> {
  const value = JSON.stringify({ v: 1, ns: PROJECT, wf: workflow.name });
  const answer = await env.click('publish_all', value, { userId: user.ref.userId });
  if (answer.status !== 200) throw new Error(`Publish all of ${workflow.name} answered HTTP ${answer.status}`);
  await env.slack.waitFor(
    () => env.slack.messages.some((m) => m.threadTs !== undefined && m.text.startsWith(`Every document of ${workflow.title}`)),
    30_000,
  );
  const specPath = documentsOf(workflow)[0]!.path;
  if (!env.workflowLinks(workflow.name).some((l) => l.path === specPath))
    throw new Error(`Publish all of ${workflow.name} did not link its spec`);
}

async function settle(env: Environment): Promise<void> {
  await waitForCardsDrained(env, 120_000);
  await waitForQuiet(env, 750, 30_000);
}

/** One Publish to Jira click; resolves when its thread reply reached Slack (and, for the link time, the stamps). */
async function publishSingle(
  env: Environment,
  observer: SlackObserver,
  stamps: StampSet,
  user: BenchUser,
  document: BenchDocument,
): Promise<{ wallMs: number; toLinkMs: number | null; sentAt: number; replyAt: number }> {
  const kubeFrom = env.kube.requests.length;
  const replied = observer.next((e) => e.kind === 'call' && isPublishedReply(document, user.ref.userId)(e.call), 60_000);
  const sent = await send(env, user, 'click-publish', document);
  if (sent.status !== 200) throw new Error(`Publish to Jira answered HTTP ${sent.status}`);
  const replyAt = await replied;
  const linkAt = lastWriteBefore(env.kube.requests.slice(kubeFrom), stamps.kube, document.workflow.name, replyAt);
  return {
    wallMs: round(replyAt - sent.sentAt),
    toLinkMs: linkAt === undefined ? null : round(linkAt - sent.sentAt),
    sentAt: sent.sentAt,
    replyAt,
  };
}

function isWorkflowWrite(request: RecordedRequest, workflow: string): boolean {
  return (
    request.resource === 'rfeworkflows' &&
    request.name === workflow &&
    (request.verb === 'update' || request.verb === 'patch' || request.verb === 'create')
  );
}

/** When the last write to `workflow` before `before` reached the fake Kubernetes (the link precedes the reply). */
function lastWriteBefore(
  requests: RecordedRequest[],
  stamps: Stamps<RecordedRequest>,
  workflow: string,
  before: number,
): number | undefined {
  const times = requests
    .filter((r) => isWorkflowWrite(r, workflow) && r.status >= 200 && r.status < 300)
    .map((r) => stamps.at(r))
    .filter((t): t is number => t !== undefined && t <= before);
  return times.length === 0 ? undefined : Math.max(...times);
}

/** Clicks Create issues from tasks and waits for the modal with the plan. */
async function openModal(
  env: Environment,
  user: BenchUser,
  tasks: BenchDocument,
): Promise<{ view: ModalArg; cost: BatchResult['perBatch']['modal'] }> {
  const opens = env.slack.callsTo('views.open').length;
  const updates = env.slack.callsTo('views.update').length;
  const mcpHttp = env.mcp.counters.httpRequests;
  const toolCalls = env.mcp.counters.toolCalls.length;
  const started = performance.now();
  const click = await env.click('create_task_issues', buttonValue(tasks.path, PROJECT, tasks.workflow.name), {
    userId: user.ref.userId,
  });
  if (click.status !== 200) throw new Error(`Create issues from tasks answered HTTP ${click.status}`);
  await env.slack.waitFor(() => env.slack.callsTo('views.open')[opens], 15_000);
  const updated = await env.slack.waitFor(() => env.slack.callsTo('views.update')[updates], 15_000);
  const msToPlan = round(performance.now() - started);
  const raw = updated.args.view;
  const view = (typeof raw === 'string' ? JSON.parse(raw) : raw) as ModalArg;
  const text = messageText({ blocks: view.blocks });
  if (view.callback_id !== 'vteam_task_issues' || !view.private_metadata || !text.includes(`Create *${CREATES} issues*`))
    throw new Error(`the Create issues modal does not offer ${CREATES} issues: ${text.slice(0, 300)}`);
  if (!/ under </.test(text)) throw new Error(`the Create issues modal does not place the issues under the Epic: ${text.slice(0, 300)}`);
  return {
    view,
    cost: {
      mcpHttpRequests: env.mcp.counters.httpRequests - mcpHttp,
      mcpToolCalls: tally(env.mcp.counters.toolCalls.slice(toolCalls).map((c) => c.operation)),
      msToPlan,
    },
  };
}

/** Hourly-budget units used on the project's site so far, and the budget, per `/vteam jira-status`. */
async function budgetStatus(env: Environment, user: BenchUser): Promise<{ used: number; limit: number } | undefined> {
  const answer = await env.command('jira-status', { userId: user.ref.userId });
  if (answer.status !== 200) return undefined;
  const response = await env.slack
    .waitFor(() => env.slack.responses.find((r) => r.id === answer.responseId), 10_000)
    .catch(() => undefined);
  const match = response && /([\d,]+) of ([\d,]+) requests used this hour/.exec(messageText(response.body));
  const number = (text: string) => Number(text.replace(/,/g, ''));
  return match ? { used: number(match[1]!), limit: number(match[2]!) } : undefined;
}

async function runOne(
  env: Environment,
  observer: SlackObserver,
  stamps: StampSet,
  batchUser: BenchUser,
  workflow: BenchWorkflow,
  view: ModalArg,
  options: { other: { user: BenchUser; document: BenchDocument } | undefined; quietP50: number },
): Promise<BatchRunSample> {
  const tasksPath = documentsOf(workflow)[2]!.path;
  const from = {
    kube: env.kube.requests.length,
    mcpHttp: env.mcp.counters.httpRequests,
    mcpTools: env.mcp.counters.toolCalls.length,
    slack: env.slack.calls.length,
  };
  const isSummaryEdit = (call: SlackCall) =>
    call.method === 'chat.update' && String(call.args.text ?? '').startsWith(`Issues from ${tasksPath}:`);
  const summarized = observer.next((e) => e.kind === 'call' && isSummaryEdit(e.call), 120_000);
  const body = viewSubmissionBody({
    callbackId: view.callback_id,
    privateMetadata: view.private_metadata!,
    values: {},
    userId: batchUser.ref.userId,
  });
  const submittedAt = performance.now();
  const answer = await postToSlackEvents(env.app.url, env.signingSecret, body);
  if (answer.status !== 200 || answer.body !== '') throw new Error(`the view_submission answered ${answer.status} ${answer.body}`);

  const batchCreates = () =>
    env.mcp.counters.toolCalls.slice(from.mcpTools).filter((c) => c.operation === 'createJiraIssue' && c.token === batchUser.token);
  let other: Awaited<ReturnType<typeof publishSingle>> | undefined;
  let atClick = 0;
  if (options.other) {
    const deadline = performance.now() + 30_000;
    while (batchCreates().length < CLICK_AFTER_CREATES) {
      if (performance.now() > deadline) throw new Error(`the batch on ${workflow.name} made no ${CLICK_AFTER_CREATES} creates in 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    atClick = batchCreates().length;
    other = await publishSingle(env, observer, stamps, options.other.user, options.other.document);
  }
  const summaryAt = await summarized;

  const kube = env.kube.requests.slice(from.kube);
  const tools = env.mcp.counters.toolCalls.slice(from.mcpTools);
  const slack = env.slack.calls.slice(from.slack);
  const creates = batchCreates();
  const createTimes = creates.map((c) => stamps.mcp.at(c)!).sort((a, b) => a - b);

  // The progress message: posted in the thread as "Creating issues: 0 of 25…", then edited (chat.update on its ts).
  const summaryMessage = env.slack.messages.find((m) => m.threadTs !== undefined && m.text.startsWith(`Issues from ${tasksPath}:`));
  const post = slack.find((c) => c.method === 'chat.postMessage' && String(c.args.text ?? '').startsWith(`Creating issues: 0 of `));
  const edits = slack.filter((c) => c.method === 'chat.update' && summaryMessage !== undefined && c.args.ts === summaryMessage.ts);
  const timeline = [post, ...edits].filter((c): c is SlackCall => c !== undefined).map((c) => stamps.slack.at(c)!);
  const gaps = timeline.slice(1).map((t, i) => t - timeline[i]!);
  const shown = edits.map((c) => {
    const text = String(c.args.text ?? '');
    const done = /^Creating issues: (\d+) of/.exec(text)?.[1];
    return { at: stamps.slack.at(c)!, done: done === undefined ? Number.POSITIVE_INFINITY : Number(done) };
  });
  const behind = createTimes.map((createdAt, k) => {
    const edit = shown.find((s) => s.done >= k + 1 && s.at >= createdAt);
    return (edit?.at ?? summaryAt) - createdAt;
  });

  const workflowWrites = kube.filter((r) => isWorkflowWrite(r, workflow.name));
  const appLog = env.app.logs().find((r) => r.msg === 'created issues from tasks' && r.workflow === `${PROJECT}/${workflow.name}`);
  const sample: BatchRunSample = {
    kind: options.other ? 'with-other-user' : 'alone',
    workflow: workflow.name,
    wallMs: round(summaryAt - submittedAt),
    appElapsedMs: typeof appLog?.elapsedMs === 'number' ? appLog.elapsedMs : null,
    summary: summaryMessage?.text ?? '',
    creates: creates.length,
    mcpHttpRequests: env.mcp.counters.httpRequests - from.mcpHttp,
    mcpToolCalls: tally(tools.map((c) => c.operation)),
    kubeWritesOnWorkflow: tally(workflowWrites.map((r) => `${r.verb} ${r.resource} ${r.status}`)),
    kubeWritesPerCreatedTask: creates.length === 0 ? 0 : round(workflowWrites.length / creates.length, 2),
    kubeAcceptedWritesPerCreatedTask:
      creates.length === 0 ? 0 : round(workflowWrites.filter((r) => r.status >= 200 && r.status < 300).length / creates.length, 2),
    createTimeline: {
      firstMs: round((createTimes[0] ?? Number.NaN) - submittedAt),
      lastMs: round((createTimes.at(-1) ?? Number.NaN) - submittedAt),
      meanIntervalMs: round(((createTimes.at(-1) ?? 0) - (createTimes[0] ?? 0)) / Math.max(1, createTimes.length - 1)),
    },
    progressEdits: edits.length,
    progressTimelineMs: timeline.map((t) => round(t - submittedAt)),
    maxProgressGapMs: round(Math.max(0, ...gaps)),
    maxProgressBehindMs: round(Math.max(0, ...behind)),
  };
  if (options.other && other) {
    const document = options.other.document;
    const otherToken = options.other.user.token;
    const otherCreate = tools.find((c) => c.operation === 'createJiraIssue' && c.token === otherToken);
    const otherCreateAt = otherCreate === undefined ? undefined : stamps.mcp.at(otherCreate);
    const linkAt = other.toLinkMs === null ? undefined : other.sentAt + other.toLinkMs;
    const between = (until: number | undefined) =>
      until === undefined ? 0 : createTimes.filter((t) => t > other.sentAt && t <= until).length;
    sample.otherUser = {
      wallMs: other.wallMs,
      toLinkMs: other.toLinkMs,
      toCreateMs: otherCreateAt === undefined ? null : round(otherCreateAt - other.sentAt),
      batchCreatesAtClick: atClick,
      batchCreatesBetweenClickAndLink: between(linkAt),
      batchCreatesAheadOfItsCreate: between(otherCreateAt),
      extraDelayMs: round(other.wallMs - options.quietP50),
    };
    if (!env.workflowLinks(document.workflow.name).some((l) => l.path === document.path))
      throw new Error(`the other user's publish of ${document.path} left no link`);
  }
  if (creates.length !== CREATES || !sample.summary.includes(`${CREATES} created`))
    throw new Error(`the batch on ${workflow.name} made ${creates.length} creates; summary: ${sample.summary}`);
  return sample;
}

function tally(labels: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const label of [...labels].sort()) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

function averageRecords(records: Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const record of records) for (const [k, v] of Object.entries(record)) sum[k] = (sum[k] ?? 0) + v;
  return Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, round(v / Math.max(1, records.length), 2)]));
}

function mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
}
