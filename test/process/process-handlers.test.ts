/**
 * The process-level handlers, in a process of their own (Vitest watches for unhandled rejections in
 * its workers, so the bug they catch cannot happen in this one): a failed background task is logged at
 * error level and counted, and the process goes on answering; an uncaught exception is logged and
 * still ends the process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SERVER = fileURLToPath(new URL('./fixtures/serving-process.ts', import.meta.url));

interface Served {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  get(path: string): Promise<string>;
  /** The first log record (or a value derived from the records) once there is one; fails early if the process ended. */
  waitFor<T>(found: () => T | undefined): Promise<T>;
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill();
});

async function serve(): Promise<Served> {
  const child = spawn(process.execPath, [SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  // 'close': the exit status once stdout has been read to its end, so no log line is still in transit.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const waitFor = async <T>(found: () => T | undefined): Promise<T> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`not seen (exit ${String(child.exitCode)}); logs: ${JSON.stringify(logs)}; stderr: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const listening = await waitFor(() => logs.find((l) => l.msg === 'listening'));
  const base = `http://127.0.0.1:${String(listening.port)}`;
  return { child, logs, exited, waitFor, get: async (path) => (await fetch(`${base}${path}`)).text() };
}

describe('process handlers', () => {
  it('log an unhandled rejection at error level, count it, and keep serving', async () => {
    const served = await serve();
    expect(await served.get('/reject')).toBe('started');
    const logged = await served.waitFor(() => served.logs.find((l) => l.level === 50));

    expect(logged).toMatchObject({ event: 'unhandledRejection', err: { message: 'sweep failed: the watch was gone' } });
    expect(String((logged.err as { stack?: unknown }).stack)).toContain('backgroundSweep');
    expect(await served.get('/')).toBe('alive');
    expect(await served.get('/metrics')).toMatch(/^vteam_slack_unhandled_rejections_total 1$/m);

    // A second one: still serving, counted again.
    await served.get('/reject');
    await served.waitFor(() => (served.logs.filter((l) => l.level === 50).length === 2 ? true : undefined));
    expect(await served.get('/metrics')).toMatch(/^vteam_slack_unhandled_rejections_total 2$/m);
    expect(served.child.exitCode).toBeNull();
  });

  it('every log line reaches stdout, even those logged just before the process exits', async () => {
    const served = await serve();
    expect(await served.get('/log-and-exit')).toBe('exiting');
    expect(await served.exited).toBe(0);
    const lines = served.logs.filter((l) => l.msg === 'a line written just before exit').map((l) => l.line);
    expect(lines).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
  });

  it('log an uncaught exception as fatal, and the process still exits with status 1', async () => {
    const served = await serve();
    await served.get('/throw');
    expect(await served.exited).toBe(1);
    expect(served.logs.find((l) => l.level === 60)).toMatchObject({
      event: 'uncaughtException',
      err: { message: 'a timer callback threw' },
    });
  });
});
