/**
 * A real, throwaway `redis-server` for tests: loopback only, no persistence, a free port.
 * `restart()` kills it and starts a fresh one on the same port (data is lost, as after a crash
 * of a cache-only Redis), so clients see a real outage and a real reconnect.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';

export interface RedisHandle {
  url: string;
  port: number;
  /** Stops the server (SIGKILL, like a crash). Idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same port after `stop()`, or kills and restarts a running one. */
  restart(): Promise<void>;
  /** Alias of `stop()`, for symmetry with the other test servers. */
  close(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP): connections stay open but nothing is answered, as in a long GC-like
   * stall or a paused VM. Keys' expiry times keep running on the wall clock.
   */
  pause(): void;
  /** Thaws a paused server (SIGCONT) and waits until it answers PING again. */
  resume(): Promise<void>;
  /** True while paused. */
  readonly paused: boolean;
  /** True while the server process is running. */
  readonly running: boolean;
}

export async function startRedis(options: { binary?: string } = {}): Promise<RedisHandle> {
  const binary = options.binary ?? 'redis-server';
  const port = await freePort();
  let child: ChildProcess | undefined;
  let paused = false;

  const start = async (): Promise<void> => {
    const proc = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const spawned = await Promise.race([
      once(proc, 'spawn').then(() => undefined),
      once(proc, 'error').then(([error]) => error as NodeJS.ErrnoException),
    ]);
    if (spawned !== undefined) {
      throw spawned.code === 'ENOENT'
        ? new Error(`${binary} was not found on PATH; install Redis (e.g. \`apt-get install redis-server\`) to run these tests.`)
        : spawned;
    }
    child = proc;
    const exited = once(proc, 'exit').then(() => {
      throw new Error(`redis-server exited during start-up: ${stderr.trim()}`);
    });
    exited.catch(() => {});
    await Promise.race([waitForPong(port), exited]);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    paused = false;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    close: stop,
    restart: async () => {
      await stop();
      await start();
    },
    pause() {
      if (child === undefined) throw new Error('redis-server is not running');
      child.kill('SIGSTOP');
      paused = true;
    },
    async resume() {
      if (child === undefined || !paused) return;
      child.kill('SIGCONT');
      paused = false;
      await waitForPong(port);
    },
    get paused() {
      return paused;
    },
    get running() {
      return child !== undefined;
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not allocate a port');
  return address.port;
}

async function waitForPong(port: number, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
