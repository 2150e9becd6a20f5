/**
 * A loopback GitHub REST API for the endpoints the document source uses: repository contents (raw or
 * JSON/base64, directories as arrays) and git trees (optionally recursive). Served both at the root
 * (api.github.com style) and under /api/v3 (GitHub Enterprise style). Tokens are checked like GitHub:
 * an unknown token is 401 "Bad credentials"; a private repository is 404 to anyone who may not read it.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGitHubOptions {
  /** Tokens GitHub knows; others get 401. Default: any token is accepted. */
  tokens?: string[];
}

export interface RepoOptions {
  private?: boolean;
  /** For a private repo: the tokens that can read it (default: every known token). */
  readers?: string[];
  defaultBranch?: string;
}

export interface GitHubRequest {
  method: string;
  /** Path without the /api/v3 prefix, e.g. /repos/org/spec-repo/contents/specs/spec.md */
  path: string;
  /** '' for the github.com layout, '/api/v3' for the Enterprise layout. */
  prefix: '' | '/api/v3';
  query: Record<string, string>;
  /** The token sent (Bearer or token scheme), undefined when none. */
  token: string | undefined;
  authScheme: 'Bearer' | 'token' | undefined;
  accept: string | undefined;
  status: number;
}

interface Repo {
  options: RepoOptions;
  branches: Map<string, Map<string, Buffer>>;
}

export type FakeGitHub = Awaited<ReturnType<typeof startFakeGitHub>>;

const DOCS = 'https://docs.github.com/rest';

export async function startFakeGitHub(options: FakeGitHubOptions = {}) {
  const repos = new Map<string, Repo>();
  const requests: GitHubRequest[] = [];
  const failures: { pathIncludes: string | undefined; status: number; body: unknown; remaining: number }[] = [];
  let truncateTrees = false;

  const repoOf = (owner: string, name: string, create: boolean): Repo | undefined => {
    const key = `${owner}/${name}`.toLowerCase();
    let repo = repos.get(key);
    if (!repo && create) repos.set(key, (repo = { options: {}, branches: new Map() }));
    return repo;
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      send(res, 500, { message: `fake-github error: ${String(error)}` });
    }
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake-github');
    let path = url.pathname;
    const prefix = path.startsWith('/api/v3/') ? ('/api/v3' as const) : ('' as const);
    if (prefix) path = path.slice(prefix.length);
    const auth = /^(Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '');
    const entry: GitHubRequest = {
      method: req.method ?? 'GET',
      path,
      prefix,
      query: Object.fromEntries(url.searchParams),
      token: auth?.[2],
      authScheme: auth ? (auth[1]!.toLowerCase() === 'token' ? 'token' : 'Bearer') : undefined,
      accept: req.headers.accept,
      status: 0,
    };
    requests.push(entry);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      send(res, status, body, headers);
    };

    if (req.headers.authorization !== undefined && (!auth || (options.tokens && !options.tokens.includes(auth[2]!)))) {
      return reply(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    }
    const failure = failures.find((f) => f.pathIncludes === undefined || path.includes(f.pathIncludes));
    if (failure) {
      if (--failure.remaining <= 0) failures.splice(failures.indexOf(failure), 1);
      return reply(failure.status, failure.body ?? { message: 'Server Error', status: String(failure.status) });
    }
    if (entry.method !== 'GET') return reply(404, notFound());

    // GET /repos/{owner}/{repo}: the repository's metadata; 404 when it is missing or the token cannot see it.
    const repoOnly = /^\/repos\/([^/]+)\/([^/]+)$/.exec(path);
    if (repoOnly) {
      const [owner, name] = [decodeURIComponent(repoOnly[1]!), decodeURIComponent(repoOnly[2]!)];
      const found = repoOf(owner, name, false);
      if (!found || !canRead(found, entry.token)) return reply(404, notFound());
      return reply(200, {
        name,
        full_name: `${owner}/${name}`,
        private: found.options.private ?? false,
        default_branch: found.options.defaultBranch ?? 'main',
      });
    }
    const match = /^\/repos\/([^/]+)\/([^/]+)\/(contents(?:\/(.*))?|git\/trees\/(.+))$/.exec(path);
    if (!match) return reply(404, notFound());
    const [owner, name] = [decodeURIComponent(match[1]!), decodeURIComponent(match[2]!)];
    const repo = repoOf(owner, name, false);
    if (!repo || !canRead(repo, entry.token)) return reply(404, notFound());

    if (match[3]!.startsWith('contents')) {
      const filePath = (match[4] ?? '').split('/').map(decodeURIComponent).filter(Boolean).join('/');
      const ref = url.searchParams.get('ref') ?? repo.options.defaultBranch ?? 'main';
      const files = repo.branches.get(ref);
      if (!files) return reply(404, { message: `No commit found for the ref ${ref}`, documentation_url: DOCS, status: '404' });
      const file = files.get(filePath);
      const raw = /application\/vnd\.github(\.v3)?\.raw/.test(req.headers.accept ?? '');
      if (file) {
        if (raw) {
          entry.status = 200;
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': file.length });
          res.end(file);
          return;
        }
        return reply(200, {
          type: 'file',
          encoding: 'base64',
          ...describe(owner, name, ref, filePath, file),
          content: wrap64(file.toString('base64')),
        });
      }
      const children = listChildren(files, filePath);
      if (children.length === 0) return reply(404, notFound());
      return reply(
        200,
        children.map((c) =>
          c.isDir
            ? { type: 'dir', name: c.name, path: c.path, sha: sha(c.path), size: 0 }
            : { type: 'file', ...describe(owner, name, ref, c.path, files.get(c.path)!) },
        ),
      );
    }

    const ref = decodeURIComponent(match[5]!);
    const files = repo.branches.get(ref);
    if (!files) return reply(404, notFound());
    const recursive = ['1', 'true'].includes(url.searchParams.get('recursive') ?? '');
    const entries = treeEntries(files).filter((e) => recursive || !e.path.includes('/'));
    return reply(200, {
      sha: sha(`${owner}/${name}@${ref}`),
      url: `${base()}/repos/${owner}/${name}/git/trees/${encodeURIComponent(ref)}`,
      tree: (truncateTrees ? entries.slice(0, 1) : entries).map((e) =>
        e.isDir
          ? { path: e.path, mode: '040000', type: 'tree', sha: sha(e.path) }
          : { path: e.path, mode: '100644', type: 'blob', sha: blobSha(files.get(e.path)!), size: files.get(e.path)!.length },
      ),
      truncated: truncateTrees,
    });
  }

  function canRead(repo: Repo, token: string | undefined): boolean {
    if (!repo.options.private) return true;
    if (token === undefined) return false;
    return repo.options.readers ? repo.options.readers.includes(token) : true;
  }

  function describe(owner: string, repo: string, ref: string, path: string, content: Buffer) {
    return {
      name: path.slice(path.lastIndexOf('/') + 1),
      path,
      sha: blobSha(content),
      size: content.length,
      url: `${base()}/repos/${owner}/${repo}/contents/${path}?ref=${ref}`,
      html_url: `https://github.com/${owner}/${repo}/blob/${ref}/${path}`,
      download_url: `${base()}/raw/${owner}/${repo}/${ref}/${path}`,
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = base();

  return {
    /** Use as the API base for the github.com layout. */
    url,
    apiUrl: url,
    /** Use as the API base for the GitHub Enterprise layout. */
    enterpriseApiUrl: `${url}/api/v3`,
    addRepo(owner: string, name: string, repoOptions: RepoOptions = {}): void {
      repoOf(owner, name, true)!.options = repoOptions;
    },
    setFile(owner: string, name: string, branch: string, path: string, content: string | Uint8Array): void {
      const repo = repoOf(owner, name, true)!;
      if (!repo.branches.has(branch)) repo.branches.set(branch, new Map());
      repo.branches.get(branch)!.set(path.replace(/^\/+/, ''), Buffer.from(content));
    },
    setFiles(owner: string, name: string, branch: string, files: Record<string, string | Uint8Array>): void {
      for (const [path, content] of Object.entries(files)) this.setFile(owner, name, branch, path, content);
    },
    removeFile(owner: string, name: string, branch: string, path: string): void {
      repoOf(owner, name, false)?.branches.get(branch)?.delete(path);
    },
    /** The next `times` requests whose path contains `pathIncludes` (any, if omitted) get that status. */
    failNext(failure: { pathIncludes?: string; status: number; body?: unknown }, times = 1): void {
      failures.push({ pathIncludes: failure.pathIncludes, status: failure.status, body: failure.body, remaining: times });
    },
    /** Make tree answers `truncated: true` (and incomplete), as GitHub does for huge repositories. */
    setTruncateTrees(value: boolean): void {
      truncateTrees = value;
    },
    requests,
    tokensUsed: () => requests.map((r) => r.token),
    resetRequests(): void {
      requests.length = 0;
    },
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function notFound() {
  return { message: 'Not Found', documentation_url: DOCS, status: '404' };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function listChildren(files: Map<string, Buffer>, dir: string): { name: string; path: string; isDir: boolean }[] {
  const prefix = dir === '' ? '' : `${dir}/`;
  const children = new Map<string, boolean>();
  for (const path of files.keys()) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf('/');
    children.set(slash < 0 ? rest : rest.slice(0, slash), slash >= 0);
  }
  return [...children.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, isDir]) => ({ name, path: `${prefix}${name}`, isDir }));
}

function treeEntries(files: Map<string, Buffer>): { path: string; isDir: boolean }[] {
  const entries = new Map<string, boolean>();
  for (const path of files.keys()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) entries.set(parts.slice(0, i).join('/'), true);
    entries.set(path, false);
  }
  return [...entries.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, isDir]) => ({ path, isDir }));
}

function blobSha(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function sha(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** GitHub wraps base64 content at 60 characters. */
function wrap64(text: string): string {
  return `${text.replace(/.{60}/g, '$&\n')}\n`;
}
