/** Pure parsing of umbrella-repository URLs and the GitHub URLs derived from them. */

export interface RepoLocation {
  /** host[:port], e.g. github.com or github.example.com */
  host: string;
  owner: string;
  repo: string;
}

const OWNER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const REPO = /^[A-Za-z0-9_.-]{1,100}$/;
const HOST = /^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/;

/**
 * Accepts `https://host/owner/repo`, with an optional `.git` suffix or trailing slash, and the scp-like
 * `git@host:owner/repo.git`. Anything else — extra path segments, credentials, query strings — is refused,
 * since the result is used to build API URLs that carry a token.
 */
export function parseRepoUrl(input: string): RepoLocation | undefined {
  const text = input.trim();
  let host: string;
  let path: string;
  const scp = /^git@([^:/]+):(.+)$/.exec(text);
  if (scp) {
    [host, path] = [scp[1]!, scp[2]!];
  } else {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) return undefined;
    [host, path] = [url.host, url.pathname];
  }
  if (!HOST.test(host)) return undefined;
  const segments = path.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  if (segments.length !== 2) return undefined;
  const owner = segments[0]!;
  const repo = segments[1]!.replace(/\.git$/, '');
  if (!OWNER.test(owner) || !REPO.test(repo) || repo === '.' || repo === '..') return undefined;
  return { host: host.toLowerCase(), owner, repo };
}

/** The REST API base for a repository host: api.github.com for github.com, /api/v3 on GitHub Enterprise. */
export function githubApiBase(location: RepoLocation, override?: string): string {
  if (override) return override.replace(/\/+$/, '');
  if (isGitHubDotCom(location.host)) return 'https://api.github.com';
  return `https://${location.host}/api/v3`;
}

function isGitHubDotCom(host: string): boolean {
  return host === 'github.com' || host === 'www.github.com';
}

/**
 * The API base a token may be sent to for this repository, or undefined when its host is not one
 * an admin trusts. A CR names the repository, so a CR editor must not be able to send the project's
 * GIT_TOKEN (or the bot's GITHUB_TOKEN) to a host of their choosing: only github.com, the configured
 * GITHUB_API_URL (which then serves every repository) and GitHub Enterprise hosts listed explicitly.
 */
export function trustedApiBase(location: RepoLocation, override: string | undefined, allowedHosts: readonly string[]): string | undefined {
  if (override) return githubApiBase(location, override);
  if (isGitHubDotCom(location.host) || allowedHosts.some((host) => host.toLowerCase() === location.host)) return githubApiBase(location);
  return undefined;
}

/** Browser link to a file on a branch: https://<host>/<owner>/<repo>/blob/<branch>/<path>. */
export function blobUrl(location: RepoLocation, branch: string, path: string): string {
  const host = location.host === 'www.github.com' ? 'github.com' : location.host;
  return `https://${host}/${location.owner}/${location.repo}/blob/${encodePath(branch)}/${encodePath(path)}`;
}

/** Encodes each segment but keeps the slashes (branch names and paths may contain them). */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
