/**
 * DocumentSource for both vTeam layouts (reference §6):
 * - final: the umbrella GitHub repository on the workflow's feature branch (`spec.branchName`), read
 *   through the REST contents and trees APIs (github.com or GitHub Enterprise);
 * - older: the per-project content service `ambient-content`, workspace root /rfe-workflows/<name>/workspace.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { errors, isVteamError } from '../errors.ts';
import type { DocumentContent, Workflow, WorkflowDocument } from '../publishing/model.ts';
import type { DocumentSource, ProjectDirectory } from '../publishing/ports.ts';
import { documentsIn, type ListingEntry } from './document-layout.ts';
import { BodyTooLargeError, decodeText, NotTextError, readCapped } from '../lib/http-body.ts';
import { normalizeWorkspacePath, phaseOf } from '../publishing/paths.ts';
import { blobUrl, encodePath, parseRepoUrl, trustedApiBase } from './repo-url.ts';

export interface DocumentSourceOptions {
  /** For the project's GIT_TOKEN, which wins over `githubToken`. */
  projects: Pick<ProjectDirectory, 'gitToken'>;
  /** REST API base used for every repository (e.g. https://github.example.com/api/v3); default derived from the repo host. */
  githubApiUrl?: string | undefined;
  /** The bot's own GitHub token, used when the project has no GIT_TOKEN. */
  githubToken?: string | undefined;
  /** GitHub Enterprise hosts (host[:port]) whose repositories may be read with a token, besides github.com. */
  githubAllowedHosts?: readonly string[] | undefined;
  /** Content-service base URL; `{namespace}` is replaced by the project. Default http://ambient-content.{namespace}.svc:8080 */
  contentServiceUrl?: string | undefined;
  /** Sent as a bearer token to the content service, if set. */
  contentServiceToken?: string | undefined;
  /** Largest document accepted. Default 1 MiB. */
  maxDocumentBytes?: number;
  /** Largest JSON answer (trees, listings) accepted. Default 16 MiB (GitHub truncates trees near 7 MB). */
  maxListingBytes?: number;
  /** Per-request timeout. Default 15 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  logger?: Logger;
}

export const DEFAULT_CONTENT_SERVICE_URL = 'http://ambient-content.{namespace}.svc:8080';

/** The request never got an HTTP answer (DNS, refused, reset, timeout). */
class UnreachableError extends Error {}

class HttpStatusError extends Error {
  readonly status: number;
  constructor(status: number, what: string) {
    super(`${what} answered HTTP ${status}`);
    this.status = status;
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

const treeSchema = z.object({
  truncated: z.boolean().catch(false),
  tree: z.array(z.object({ path: z.string(), type: z.string() })),
});
const contentsDirectorySchema = z.array(z.object({ name: z.string(), path: z.string(), type: z.string() }));
const contentListSchema = z.object({ items: z.array(z.object({ name: z.string(), isDir: z.boolean().catch(false) })).catch([]) });

export function createDocumentSource(options: DocumentSourceOptions): DocumentSource {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBytes = options.maxDocumentBytes ?? 1024 * 1024;
  const maxListingBytes = options.maxListingBytes ?? 16 * 1024 * 1024;
  const allowedHosts = options.githubAllowedHosts ?? [];
  const contentTemplate = options.contentServiceUrl ?? DEFAULT_CONTENT_SERVICE_URL;
  const logger = options.logger;

  /**
   * GET under one deadline. Redirects are followed by hand (at most 3): a token never follows one
   * to another origin, whatever the HTTP client would do.
   */
  async function get(url: string, headers: Record<string, string>): Promise<Response> {
    const signal = AbortSignal.timeout(timeoutMs);
    let current = new URL(url);
    let sent = headers;
    try {
      for (let hop = 0; ; hop += 1) {
        const response = await fetchImpl(current, { headers: sent, signal, redirect: 'manual' });
        const location = REDIRECTS.has(response.status) ? response.headers.get('location') : null;
        if (location === null) return response;
        await response.body?.cancel().catch(() => {});
        if (hop >= MAX_REDIRECTS) throw new Error('too many redirects');
        const next = new URL(location, current);
        if (next.protocol !== 'https:' && next.protocol !== current.protocol) throw new Error('redirected to another protocol');
        if (next.origin !== current.origin) sent = withoutAuthorization(sent);
        current = next;
      }
    } catch (error) {
      throw new UnreachableError(`GET ${redactQuery(url)} failed`, { cause: error });
    }
  }

  /** JSON of a bounded body: a listing larger than any real one is refused while it downloads. */
  async function json(response: Response): Promise<unknown> {
    return JSON.parse(decodeText(await readCapped(response, maxListingBytes))) as unknown;
  }

  /** Lets a 2xx through; otherwise releases the body and throws `notFound()` for a 404, else the status. */
  async function failUnlessOk(response: Response, source: string, notFound?: () => Error): Promise<void> {
    if (response.ok) return;
    await response.body?.cancel().catch(() => {});
    throw response.status === 404 && notFound ? notFound() : new HttpStatusError(response.status, source);
  }

  async function readBody(response: Response, workflow: Workflow, path: string): Promise<string> {
    try {
      return decodeText(await readCapped(response, maxBytes));
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw errors.badRequest(
          `\`${path}\` is larger than ${Math.round(maxBytes / 1024)} KiB, too large to publish as a Jira issue description.`,
        );
      }
      if (error instanceof NotTextError) throw errors.notMarkdown(path);
      throw errors.documentSourceFailed(workflow.name, error);
    }
  }

  // ── GitHub (final layout) ──

  async function github(workflow: Workflow & { umbrellaRepo: NonNullable<Workflow['umbrellaRepo']> }) {
    const location = parseRepoUrl(workflow.umbrellaRepo.url);
    if (!location)
      throw errors.documentSourceFailed(workflow.name, new Error('the umbrella repository URL is not a GitHub repository URL'));
    const base = trustedApiBase(location, options.githubApiUrl, allowedHosts);
    if (base === undefined) {
      logger?.warn(
        { workflow: `${workflow.namespace}/${workflow.name}`, host: location.host },
        'repository host not allowed: no request sent',
      );
      throw errors.repoHostNotAllowed(workflow.name, location.host);
    }
    const token = (await options.projects.gitToken(workflow.namespace)) ?? options.githubToken;
    const api = `${base}/repos/${encodeURIComponent(location.owner)}/${encodeURIComponent(location.repo)}`;
    const headers = (accept: string): Record<string, string> => ({
      Accept: accept,
      'User-Agent': 'vteam-slack',
      'X-GitHub-Api-Version': '2022-11-28',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    });
    return { location, api, headers };
  }

  async function repositoryReadable(repo: Awaited<ReturnType<typeof github>>): Promise<boolean> {
    const response = await get(repo.api, repo.headers('application/vnd.github+json'));
    await response.body?.cancel();
    return response.ok;
  }

  async function githubJson(url: string, headers: Record<string, string>): Promise<unknown> {
    const response = await get(url, headers);
    await failUnlessOk(response, 'GitHub');
    return json(response);
  }

  async function listFromGitHub(workflow: Workflow, repo: Awaited<ReturnType<typeof github>>, branch: string): Promise<WorkflowDocument[]> {
    const ref = encodeURIComponent(branch);
    const tree = treeSchema.parse(
      await githubJson(`${repo.api}/git/trees/${ref}?recursive=1`, repo.headers('application/vnd.github+json')).catch(
        async (error: unknown) => {
          // GitHub answers 404 both for a branch not pushed yet and for a repository the token cannot see.
          if (error instanceof HttpStatusError && error.status === 404 && (await repositoryReadable(repo)))
            throw errors.branchNotPushed(workflow.name, branch);
          throw error;
        },
      ),
    );
    if (!tree.truncated) return documentsIn(tree.tree.map((e) => ({ path: e.path, isDir: e.type === 'tree' })));
    // Very large repositories get a truncated tree; the contents API lists just the folders we need.
    logger?.info({ workflow: workflow.name }, 'repository tree truncated; listing specs/ through the contents API');
    const listDir = async (dir: string): Promise<ListingEntry[]> => {
      try {
        const items = contentsDirectorySchema.parse(
          await githubJson(`${repo.api}/contents/${encodePath(dir)}?ref=${ref}`, repo.headers('application/vnd.github+json')),
        );
        return items.map((i) => ({ path: i.path, isDir: i.type === 'dir' }));
      } catch (error) {
        if (error instanceof HttpStatusError && error.status === 404) return [];
        throw error;
      }
    };
    const specs = await listDir('specs');
    const first = specs
      .filter((e) => e.isDir)
      .map((e) => e.path)
      .sort()[0];
    return documentsIn([...specs, ...(first ? await listDir(first) : [])]);
  }

  async function readFromGitHub(
    workflow: Workflow,
    repo: Awaited<ReturnType<typeof github>>,
    branch: string,
    path: string,
  ): Promise<DocumentContent> {
    const url = `${repo.api}/contents/${encodePath(path)}?ref=${encodeURIComponent(branch)}`;
    const response = await get(url, repo.headers('application/vnd.github.v3.raw'));
    await failUnlessOk(response, 'GitHub', () => errors.documentNotFound(path, workflow.name));
    // A directory answers with a JSON listing even when raw content is asked for.
    if ((response.headers.get('content-type') ?? '').startsWith('application/json')) {
      await response.body?.cancel().catch(() => {});
      throw errors.documentNotFound(path, workflow.name);
    }
    const markdown = await readBody(response, workflow, path);
    return { path, phase: phaseOf(path), markdown, sourceUrl: blobUrl(repo.location, branch, path) };
  }

  // ── Content service (older layout) ──

  function contentService(workflow: Workflow) {
    if (!DNS_LABEL.test(workflow.namespace) || !DNS_SUBDOMAIN.test(workflow.name)) {
      throw errors.documentSourceFailed(workflow.name, new Error('namespace or workflow name is not a valid Kubernetes name'));
    }
    const base = contentTemplate.replaceAll('{namespace}', workflow.namespace).replace(/\/+$/, '');
    const root = `/rfe-workflows/${workflow.name}/workspace`;
    const headers: Record<string, string> = options.contentServiceToken ? { Authorization: `Bearer ${options.contentServiceToken}` } : {};
    return { base, root, headers };
  }

  async function listFromContentService(workflow: Workflow): Promise<WorkflowDocument[]> {
    const service = contentService(workflow);
    const listDir = async (dir: string): Promise<ListingEntry[]> => {
      const response = await get(`${service.base}/content/list?path=${encodeURIComponent(`${service.root}/${dir}`)}`, service.headers);
      if (response.status === 404) {
        await response.body?.cancel().catch(() => {});
        return [];
      }
      await failUnlessOk(response, 'the content service');
      const listing = contentListSchema.parse(await json(response));
      return listing.items
        .filter((item) => item.name !== '' && !item.name.includes('/') && item.name !== '.' && item.name !== '..')
        .map((item) => ({ path: `${dir}/${item.name}`, isDir: item.isDir }));
    };
    const specs = await listDir('specs');
    const first = specs
      .filter((e) => e.isDir)
      .map((e) => e.path)
      .sort()[0];
    return documentsIn([...specs, ...(first ? await listDir(first) : [])]);
  }

  async function readFromContentService(workflow: Workflow, path: string): Promise<DocumentContent> {
    const service = contentService(workflow);
    const url = `${service.base}/content/file?path=${encodeURIComponent(`${service.root}/${path}`)}`;
    const response = await get(url, service.headers);
    await failUnlessOk(response, 'the content service', () => errors.documentNotFound(path, workflow.name));
    const markdown = await readBody(response, workflow, path);
    return { path, phase: phaseOf(path), markdown, sourceUrl: url };
  }

  /** Runs against the right layout and maps failures onto the error catalogue. */
  async function route<T>(
    workflow: Workflow,
    fromGitHub: (repo: Awaited<ReturnType<typeof github>>, branch: string) => Promise<T>,
    fromContentService: () => Promise<T>,
  ): Promise<T> {
    const branch = workflow.branchName?.trim();
    try {
      if (workflow.umbrellaRepo && branch)
        return await fromGitHub(await github({ ...workflow, umbrellaRepo: workflow.umbrellaRepo }), branch);
      try {
        return await fromContentService();
      } catch (error) {
        // A final-layout workflow that was never seeded: no branch, and no content service to fall back on.
        if (workflow.umbrellaRepo && (error instanceof UnreachableError || (error instanceof HttpStatusError && error.status >= 502))) {
          throw errors.noFeatureBranch(workflow.name);
        }
        throw error;
      }
    } catch (error) {
      if (isVteamError(error)) throw error;
      logger?.warn({ workflow: `${workflow.namespace}/${workflow.name}`, err: error }, 'reading workflow documents failed');
      throw errors.documentSourceFailed(workflow.name, error);
    }
  }

  return {
    list(workflow) {
      return route(
        workflow,
        (repo, branch) => listFromGitHub(workflow, repo, branch),
        () => listFromContentService(workflow),
      );
    },
    async read(workflow, rawPath) {
      // Validated by the caller already; normalising again keeps this adapter safe on its own.
      const path = normalizeWorkspacePath(rawPath);
      if (!/\.md$/i.test(path)) throw errors.notMarkdown(path);
      return route(
        workflow,
        (repo, branch) => readFromGitHub(workflow, repo, branch, path),
        () => readFromContentService(workflow, path),
      );
    },
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
}

function redactQuery(url: string): string {
  const index = url.indexOf('?');
  return index < 0 ? url : url.slice(0, index);
}
