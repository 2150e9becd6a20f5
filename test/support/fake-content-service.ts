/**
 * A loopback vTeam content service (reference §6, era A: the per-project `ambient-content` Service):
 * `GET /content/file?path=` answers the raw bytes, `GET /content/list?path=` the directory items.
 * Paths are absolute inside the service's state directory, e.g. /rfe-workflows/rfe-1/workspace/specs/spec.md.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ContentServiceRequest {
  method: string;
  path: string;
  /** The `path` query parameter, decoded. */
  contentPath: string | undefined;
  authorization: string | undefined;
  status: number;
}

export type FakeContentService = Awaited<ReturnType<typeof startFakeContentService>>;

export async function startFakeContentService(options: { token?: string } = {}) {
  const files = new Map<string, { content: Buffer; modifiedAt: string }>();
  const requests: ContentServiceRequest[] = [];
  const failures: { status: number | 'reset'; remaining: number }[] = [];

  const server = createServer((req, res) => handle(req, res));

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake-content');
    const contentPath = url.searchParams.get('path') ?? undefined;
    const entry: ContentServiceRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      contentPath,
      authorization: req.headers.authorization,
      status: 0,
    };
    requests.push(entry);
    const reply = (status: number, body: unknown) => {
      entry.status = status;
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const failure = failures[0];
    if (failure) {
      if (--failure.remaining <= 0) failures.shift();
      if (failure.status === 'reset') {
        req.socket.destroy();
        return;
      }
      return reply(failure.status, { error: 'injected failure' });
    }
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`)
      return reply(401, { error: 'Unauthorized' });
    if (req.method !== 'GET') return reply(404, { error: 'not found' });
    if (!contentPath || contentPath.split('/').includes('..')) return reply(400, { error: 'invalid path' });
    const path = normalise(contentPath);

    if (url.pathname === '/content/file') {
      const file = files.get(path);
      if (!file) return reply(404, { error: 'not found' });
      entry.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': file.content.length });
      res.end(file.content);
      return;
    }
    if (url.pathname === '/content/list') {
      const prefix = path === '/' ? '/' : `${path}/`;
      const children = new Map<string, { isDir: boolean; size: number; modifiedAt: string }>();
      for (const [filePath, file] of files) {
        if (!filePath.startsWith(prefix)) continue;
        const rest = filePath.slice(prefix.length);
        const slash = rest.indexOf('/');
        const name = slash < 0 ? rest : rest.slice(0, slash);
        children.set(
          name,
          slash < 0
            ? { isDir: false, size: file.content.length, modifiedAt: file.modifiedAt }
            : { isDir: true, size: 0, modifiedAt: file.modifiedAt },
        );
      }
      if (children.size === 0) return reply(404, { error: 'not found' });
      const items = [...children.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, info]) => ({ name, path: `${prefix}${name}`, ...info }));
      return reply(200, { items });
    }
    return reply(404, { error: 'not found' });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    /** Absolute path inside the service, e.g. /rfe-workflows/rfe-1/workspace/specs/spec.md */
    setFile(path: string, content: string | Uint8Array): void {
      files.set(normalise(path), { content: Buffer.from(content), modifiedAt: new Date().toISOString() });
    },
    /** A file of an RFE workflow's workspace, by workspace-relative path. */
    setWorkspaceFile(workflowName: string, relativePath: string, content: string | Uint8Array): void {
      this.setFile(`/rfe-workflows/${workflowName}/workspace/${relativePath}`, content);
    },
    removeFile(path: string): void {
      files.delete(normalise(path));
    },
    /** The next `times` requests fail with that HTTP status, or by resetting the connection. */
    failNext(status: number | 'reset', times = 1): void {
      failures.push({ status, remaining: times });
    },
    requests,
    resetRequests(): void {
      requests.length = 0;
    },
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function normalise(path: string): string {
  return `/${path.split('/').filter(Boolean).join('/')}`;
}
