/**
 * `node bench/app-memory.ts [count] [--entry=<script>] [--image] [node options…]`: resident memory of the
 * whole app watching `count` RFEWorkflows (default 10,000), with its cards posted, the time from spawning
 * it to its first /healthz, and the CPU it used. The app runs as `node src/main.ts` unless `--entry`
 * names another script, e.g. the production build: `npm run build && node bench/app-memory.ts 0
 * --entry=dist/main.js --image`. `--image` adds what the Containerfile runs it with (CMD node options,
 * NODE_OPTIONS, MALLOC_ARENA_MAX); node options after the count are passed on the command line (any
 * option, V8's too: `node bench/app-memory.ts 10000 --max-semi-space-size=2`).
 * Prints one JSON object. `npm run bench -- --only footprint` measures both against the targets.
 */
import { resolve } from 'node:path';
import { FOOTPRINT_TARGETS, imageLaunch, measureFootprint, SOURCE_ENTRY, type Launch } from './scenarios/footprint.ts';

const count = Number(process.argv[2] ?? 10_000);
const rest = process.argv.slice(3);
const entryArg = rest.find((a) => a.startsWith('--entry='));
const entry = entryArg === undefined ? SOURCE_ENTRY : resolve(entryArg.slice('--entry='.length));
const image = rest.includes('--image');
const nodeOptions = rest.filter((a) => a !== entryArg && a !== '--image');
const base: Launch = image ? imageLaunch(entry) : { entry, execArgv: [], env: {} };
const launch: Launch = { ...base, execArgv: [...base.execArgv, ...nodeOptions] };

const [measurement] = await measureFootprint(launch, { counts: [count] });
console.log(
  JSON.stringify({
    command: ['node', ...launch.execArgv, entry === SOURCE_ENTRY ? 'src/main.ts' : entry].join(' '),
    env: launch.env,
    ...measurement,
    targetRssMb: count === 0 ? FOOTPRINT_TARGETS.idleRssMb : FOOTPRINT_TARGETS.rssAt10kMb,
  }),
);
