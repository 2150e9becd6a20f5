/**
 * Preloaded into the app process (NODE_OPTIONS=--import) by the bench only: reports the app's own
 * event-loop delay on stderr as JSON lines, so a slow ack can be told apart from a blocked loop.
 * The app's code is untouched.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
let last = performance.now();
let worstStall = 0;
setInterval(() => {
  const now = performance.now();
  worstStall = Math.max(worstStall, now - last - 50);
  last = now;
}, 50).unref();
setInterval(() => {
  process.stderr.write(
    `${JSON.stringify({ benchAppProbe: 'eventLoop', p50Ms: histogram.percentile(50) / 1e6, p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6, worstStallMs: worstStall })}\n`,
  );
  histogram.reset();
  worstStall = 0;
}, 1000).unref();
