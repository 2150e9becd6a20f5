/**
 * Who was busy during a scenario: CPU of the bench process (client + every fake) and of the app
 * process, and the bench's own event-loop delay. A saturated bench inflates measured round trips, so
 * these figures say how far the numbers can be trusted as the app's.
 */
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { round } from './stats.ts';

export interface LoadReport {
  wallMs: number;
  /** CPU time / wall time, 1.0 = one core fully busy. */
  benchCpuCores: number;
  appCpuCores: number | null;
  benchEventLoopDelayMs: { p50: number; p99: number; max: number };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

async function appCpuMs(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

export async function startLoadMonitor(appPid: number | undefined): Promise<{ stop(): Promise<LoadReport> }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  const app0 = await appCpuMs(appPid);
  return {
    async stop() {
      histogram.disable();
      const wall = performance.now() - wall0;
      const cpu = process.cpuUsage(cpu0);
      const app1 = await appCpuMs(appPid);
      return {
        wallMs: round(wall, 0),
        benchCpuCores: round((cpu.user + cpu.system) / 1000 / wall, 2),
        appCpuCores: app0 === null || app1 === null ? null : round((app1 - app0) / wall, 2),
        benchEventLoopDelayMs: {
          p50: round(histogram.percentile(50) / 1e6, 1),
          p99: round(histogram.percentile(99) / 1e6, 1),
          max: round(histogram.max / 1e6, 1),
        },
      };
    },
  };
}
