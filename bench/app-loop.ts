/** The app's event-loop delay as bench/app-probe.ts reports it on the app's stderr, once a second. */
import { round } from './stats.ts';

export interface AppLoopReport {
  /** Per-second samples of the app's event-loop delay (app-probe.ts): worst p99, worst single stall. */
  seconds: number;
  worstP99Ms: number;
  worstStallMs: number;
  medianP50Ms: number;
}

export function appLoopReport(lines: string[]): AppLoopReport {
  const samples = lines.flatMap((line) => {
    if (!line.includes('benchAppProbe')) return [];
    try {
      return [JSON.parse(line) as { p50Ms: number; p99Ms: number; worstStallMs: number }];
    } catch {
      return [];
    }
  });
  const p50s = samples.map((s) => s.p50Ms).sort((a, b) => a - b);
  return {
    seconds: samples.length,
    worstP99Ms: round(Math.max(0, ...samples.map((s) => s.p99Ms))),
    worstStallMs: round(Math.max(0, ...samples.map((s) => s.worstStallMs))),
    medianP50Ms: round(p50s[Math.floor(p50s.length / 2)] ?? 0),
  };
}
