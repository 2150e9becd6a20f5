/**
 * The command line of `npm run bench` (bench/run.ts): its options, the scenarios it can run alone, and the
 * usage text that --help prints. Parsing never starts anything, so `--help` and a mistyped option answer
 * at once.
 */
import { parseArgs } from 'node:util';

/** The scenarios `--only` accepts, in the order the bench runs them; run.ts asks `runs(name)` for each. */
export const SCENARIOS = {
  ack: 'ack latency: 50 concurrent users for 30 s, then 50 at the same instant (target p99 < 50 ms)',
  'ack-stress': 'ack latency when every user fires requests back to back (saturation, not the target)',
  overhead:
    'publish overhead and Atlassian requests per publish, one publish at a time (targets: wall time p50 1.03 ×, p95 1.10 × the unavoidable chain)',
  burst:
    'exactly once under a burst: 200 publishes, 40 documents clicked 3 times at once (targets: all linked within 1.2 × the ideal, ack p99 100 ms, event-loop stalls 50 ms)',
  'rate-limit': 'labelled simulation: a burst meeting 429 answers with Retry-After',
  batch:
    'Create issues from tasks: 25 creates under an Epic at 4 slots, MCP latency 50 ms, and another user publishing meanwhile (targets: wall time 1.5 × ideal, the other publish within one slot of a quiet one, progress edits 1.5 s apart at most; about 1 minute)',
  footprint:
    'resident memory idle and watching 10,000 RFEWorkflows, start → /healthz: node src/main.ts and the production build (targets 110 MB, 130 MB, 1 s; about 3 minutes)',
  handoff:
    'rate-limiter slot handoff between two replicas on one Redis, with notifications and polling only (targets: cross-replica p99 10 ms, wall time 1.2 × ideal)',
} as const satisfies Record<string, string>;

export type Scenario = keyof typeof SCENARIOS;

export interface BenchOptions {
  /** The one scenario to run, or undefined for all. */
  only: Scenario | undefined;
  /** Extra Node flags for the app process. */
  appNodeOptions: string | undefined;
}

export type BenchCommand = { kind: 'run'; options: BenchOptions } | { kind: 'help' } | { kind: 'error'; message: string };

export function usage(): string {
  const width = Math.max(...Object.keys(SCENARIOS).map((name) => name.length));
  return [
    'Usage: npm run bench [-- options]          (or: node bench/run.ts [options])',
    '',
    'Measures the PRODUCT.md §8 targets against the real app process (node src/main.ts) and the loopback',
    'fakes of the end-to-end tests. Prints one JSON object on stdout and progress on stderr; all scenarios',
    'take about 10 minutes.',
    '',
    'Scenarios (default: all of them):',
    ...Object.entries(SCENARIOS).map(([name, description]) => `  ${name.padEnd(width)}  ${description}`),
    '',
    'Options:',
    '  --only <scenario>               run one scenario, e.g. --only ack',
    '  --app-node-options "<flags>"    extra Node flags for the app process, e.g.',
    '                                  --app-node-options="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it',
    '  -h, --help                      print this help and exit',
    '',
  ].join('\n');
}

export function parseBenchArgs(args: readonly string[]): BenchCommand {
  let values: { only?: string | undefined; 'app-node-options'?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { only: { type: 'string' }, 'app-node-options': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // node:util's messages are one sentence already ("Unknown option '--x'. To specify a positional …").
    return { kind: 'error', message: firstSentence((error as Error).message) };
  }
  if (values.help) return { kind: 'help' };
  const only = values.only;
  if (only !== undefined && !(only in SCENARIOS)) {
    return { kind: 'error', message: `Unknown scenario '${only}': --only takes one of ${Object.keys(SCENARIOS).join(', ')}.` };
  }
  return { kind: 'run', options: { only: only as Scenario | undefined, appNodeOptions: values['app-node-options'] } };
}

function firstSentence(message: string): string {
  const end = message.search(/\.(\s|$)/);
  return end < 0 ? `${message}.` : message.slice(0, end + 1);
}

/**
 * The options of this process, or exit: --help prints the usage and exits 0; a bad option prints one
 * sentence and the usage on stderr and exits 2 (no stack trace).
 */
export function benchOptionsOrExit(args: readonly string[] = process.argv.slice(2)): BenchOptions {
  const command = parseBenchArgs(args);
  if (command.kind === 'help') {
    process.stdout.write(usage());
    process.exit(0);
  }
  if (command.kind === 'error') {
    process.stderr.write(`bench: ${command.message}\n\n${usage()}`);
    process.exit(2);
  }
  return command.options;
}
