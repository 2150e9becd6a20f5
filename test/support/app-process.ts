import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface AppProcess {
  url: string;
  port: number;
  /** Everything the process wrote to stdout and stderr, line by line. */
  output: string[];
  /** Parsed JSON log records from stdout. */
  logs(): Record<string, unknown>[];
  waitForLog(predicate: (record: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
  child: ChildProcess;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface SpawnOptions {
  /** The script node runs: src/main.ts by default, or e.g. the production build (dist/main.js). */
  entry?: string | undefined;
  /** Node options before the script (`node <execArgv> <entry>`), e.g. V8 flags NODE_OPTIONS refuses. */
  execArgv?: string[] | undefined;
}

/** Runs the bot exactly as `npm start` does (node src/main.ts), with the given environment. */
export function spawnApp(env: Record<string, string>, options: SpawnOptions = {}): AppProcess {
  const port = Number(env.PORT);
  const child = spawn(process.execPath, [...(options.execArgv ?? []), options.entry ?? MAIN], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const logs = () =>
    output.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    output,
    logs,
    async waitForLog(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs().find(predicate);
        if (found) return found;
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`log line not seen (exit ${child.exitCode}); output:\n${output.slice(-40).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    exited,
    child,
  };
}

/** Starts the app and waits until /readyz answers 200. */
export async function startApp(env: Record<string, string>, timeoutMs = 20_000, options: SpawnOptions = {}): Promise<AppProcess> {
  const app = spawnApp(env, options);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (app.child.exitCode !== null) throw new Error(`app exited with ${app.child.exitCode}:\n${app.output.join('\n')}`);
    try {
      const response = await fetch(`${app.url}/readyz`);
      if (response.status === 200) return app;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await app.kill('SIGKILL');
      throw new Error(`app not ready within ${timeoutMs} ms:\n${app.output.slice(-40).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
