import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import type { Workflow } from '../../src/publishing/model.ts';
import { createDocumentSource, type DocumentSourceOptions } from '../../src/vteam/documents.ts';
import { createProjectDirectory } from '../../src/vteam/projects.ts';
import { startFakeContentService, type FakeContentService } from '../support/fake-content-service.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { startKubeFixture, type KubeFixture } from './kube-fixture.ts';

const SPEC = '# Dark mode\n\nUsers can switch themes. ✓\n';

const finalLayout: Workflow = {
  namespace: 'proj',
  name: 'rfe-1760000000',
  title: 'Dark mode',
  description: '',
  branchName: 'ambient-dark-mode',
  umbrellaRepo: { url: 'https://github.com/org/spec-repo.git', branch: 'main' },
  jiraLinks: [],
  resourceVersion: '1',
};
const olderLayout: Workflow = { ...finalLayout, name: 'rfe-1', branchName: undefined, umbrellaRepo: undefined };

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'OK',
    (e: unknown) => (isVteamError(e) ? e.code : String(e)),
  );

describe('DocumentSource', () => {
  let fx: KubeFixture;
  let github: FakeGitHub;
  let content: FakeContentService;
  beforeEach(async () => {
    [fx, github, content] = await Promise.all([
      startKubeFixture(),
      startFakeGitHub({ tokens: ['ghp_project', 'ghp_bot'] }),
      startFakeContentService(),
    ]);
    fx.kube.addProject('proj');
    github.setFiles('org', 'spec-repo', 'ambient-dark-mode', {
      'rfe.md': '# idea',
      'specs/001-dark-mode/spec.md': SPEC,
      'specs/001-dark-mode/plan.md': '# Plan',
      'specs/001-dark-mode/research.md': '# Research',
      'specs/002-later/spec.md': '# Later',
    });
  });
  afterEach(() => Promise.all([fx.close(), github.close(), content.close()]));

  const source = (opts: Partial<DocumentSourceOptions> = {}) =>
    createDocumentSource({
      projects: createProjectDirectory(fx.clients, { cacheTtlMs: 0 }),
      githubApiUrl: github.apiUrl,
      githubToken: 'ghp_bot',
      contentServiceUrl: content.url,
      ...opts,
    });

  describe('from the umbrella repository on GitHub', () => {
    it('reads a document raw from the feature branch, with a browser link to it', async () => {
      const document = await source().read(finalLayout, 'specs/001-dark-mode/spec.md');
      expect(document).toEqual({
        path: 'specs/001-dark-mode/spec.md',
        phase: 'specify',
        markdown: SPEC,
        sourceUrl: 'https://github.com/org/spec-repo/blob/ambient-dark-mode/specs/001-dark-mode/spec.md',
      });
      expect(github.requests).toEqual([
        expect.objectContaining({
          path: '/repos/org/spec-repo/contents/specs/001-dark-mode/spec.md',
          prefix: '',
          query: { ref: 'ambient-dark-mode' },
          accept: 'application/vnd.github.v3.raw',
          status: 200,
        }),
      ]);
    });

    it("uses the project's GIT_TOKEN before the bot's token, and no token when there is neither", async () => {
      await source().read(finalLayout, 'specs/001-dark-mode/plan.md');
      fx.kube.addSecret('proj', 'ambient-runner-secrets', { GIT_TOKEN: 'ghp_project' });
      await source().read(finalLayout, 'specs/001-dark-mode/plan.md');
      fx.kube.remove('secrets', 'proj', 'ambient-runner-secrets');
      await source({ githubToken: undefined }).read(finalLayout, 'specs/001-dark-mode/plan.md');
      expect(github.tokensUsed()).toEqual(['ghp_bot', 'ghp_project', undefined]);
      expect(github.requests.filter((r) => r.token).every((r) => r.authScheme === 'Bearer')).toBe(true);
    });

    it('reads a private repository only with a token that may read it', async () => {
      github.addRepo('org', 'spec-repo', { private: true, readers: ['ghp_project'] });
      expect(await codeOf(source().read(finalLayout, 'specs/001-dark-mode/spec.md'))).toBe('DOCUMENT_NOT_FOUND');
      fx.kube.addSecret('proj', 'ambient-runner-secrets', { GIT_TOKEN: 'ghp_project' });
      expect((await source().read(finalLayout, 'specs/001-dark-mode/spec.md')).markdown).toBe(SPEC);
    });

    it('talks to GitHub Enterprise under /api/v3', async () => {
      const ghe = { ...finalLayout, umbrellaRepo: { url: 'https://github.example.com/org/spec-repo', branch: 'main' } };
      const documents = source({ githubApiUrl: github.enterpriseApiUrl });
      expect((await documents.read(ghe, 'specs/001-dark-mode/spec.md')).sourceUrl).toBe(
        'https://github.example.com/org/spec-repo/blob/ambient-dark-mode/specs/001-dark-mode/spec.md',
      );
      await documents.list(ghe);
      expect(github.requests.map((r) => `${r.prefix}${r.path}`)).toEqual([
        '/api/v3/repos/org/spec-repo/contents/specs/001-dark-mode/spec.md',
        '/api/v3/repos/org/spec-repo/git/trees/ambient-dark-mode',
      ]);
    });

    it('lists the first specs/ subdirectory in phase order, with one tree request', async () => {
      github.setFile('org', 'spec-repo', 'ambient-dark-mode', 'specs/001-dark-mode/tasks.md', '# Tasks');
      expect(await source().list(finalLayout)).toEqual([
        { path: 'specs/001-dark-mode/spec.md', phase: 'specify' },
        { path: 'specs/001-dark-mode/plan.md', phase: 'plan' },
        { path: 'specs/001-dark-mode/tasks.md', phase: 'tasks' },
      ]);
      expect(github.requests).toHaveLength(1);
      expect(github.requests[0]!.query).toEqual({ recursive: '1' });
    });

    it('falls back to bare specs/ documents', async () => {
      github.setFiles('org', 'bare', 'feature', { 'specs/spec.md': '# S', 'specs/tasks.md': '# T', 'README.md': '' });
      const bare = { ...finalLayout, branchName: 'feature', umbrellaRepo: { url: 'https://github.com/org/bare', branch: 'main' } };
      expect(await source().list(bare)).toEqual([
        { path: 'specs/spec.md', phase: 'specify' },
        { path: 'specs/tasks.md', phase: 'tasks' },
      ]);
    });

    it('lists through the contents API when the tree is truncated', async () => {
      github.setTruncateTrees(true);
      expect((await source().list(finalLayout)).map((d) => d.path)).toEqual(['specs/001-dark-mode/spec.md', 'specs/001-dark-mode/plan.md']);
      expect(github.requests.map((r) => r.path)).toEqual([
        '/repos/org/spec-repo/git/trees/ambient-dark-mode',
        '/repos/org/spec-repo/contents/specs',
        '/repos/org/spec-repo/contents/specs/001-dark-mode',
      ]);
    });

    it('maps failures onto the error catalogue', async () => {
      const documents = source();
      expect(await codeOf(documents.read(finalLayout, 'specs/001-dark-mode/tasks.md'))).toBe('DOCUMENT_NOT_FOUND');
      expect(await codeOf(documents.read(finalLayout, 'specs/001-dark-mode.md'))).toBe('DOCUMENT_NOT_FOUND');
      expect(await codeOf(documents.read({ ...finalLayout, branchName: 'no-such-branch' }, 'specs/spec.md'))).toBe('DOCUMENT_NOT_FOUND');
      // A branch not pushed yet, in a repository the token can read: the workflow is simply not seeded.
      const unseeded = await documents.list({ ...finalLayout, branchName: 'no-such-branch' }).catch((e: unknown) => e);
      expect(isVteamError(unseeded, 'NO_FEATURE_BRANCH') && unseeded.userMessage).toContain('`no-such-branch`');
      // The same 404 for a repository that is missing (or that the token cannot see) is a source failure.
      expect(
        await codeOf(documents.list({ ...finalLayout, umbrellaRepo: { url: 'https://github.com/org/no-such-repo', branch: 'main' } })),
      ).toBe('DOCUMENT_SOURCE_FAILED');
      github.failNext({ status: 502 });
      expect(await codeOf(documents.read(finalLayout, 'specs/001-dark-mode/spec.md'))).toBe('DOCUMENT_SOURCE_FAILED');
      expect(await codeOf(source({ githubToken: 'ghp_revoked' }).read(finalLayout, 'specs/001-dark-mode/spec.md'))).toBe(
        'DOCUMENT_SOURCE_FAILED',
      );
      expect(
        await codeOf(
          documents.read(
            { ...finalLayout, umbrellaRepo: { url: 'https://github.com/org/spec-repo/tree/main', branch: 'main' } },
            'specs/spec.md',
          ),
        ),
      ).toBe('DOCUMENT_SOURCE_FAILED');
      expect(await codeOf(documents.read(finalLayout, '../secrets.md'))).toBe('PATH_OUTSIDE_WORKSPACE');
    });

    it('refuses binary, non-UTF-8 and oversized content', async () => {
      github.setFiles('org', 'spec-repo', 'ambient-dark-mode', {
        'specs/binary.md': new Uint8Array([0x23, 0x20, 0x00, 0x01]),
        'specs/latin1.md': new Uint8Array([0x63, 0x61, 0x66, 0xe9]),
        'specs/huge.md': 'x'.repeat(2048),
      });
      const documents = source({ maxDocumentBytes: 1024 });
      expect(await codeOf(documents.read(finalLayout, 'specs/binary.md'))).toBe('NOT_MARKDOWN');
      expect(await codeOf(documents.read(finalLayout, 'specs/latin1.md'))).toBe('NOT_MARKDOWN');
      expect(await codeOf(documents.read(finalLayout, 'specs/huge.md'))).toBe('BAD_REQUEST');
    });
  });

  describe('where a token may go (a CR names the repository)', () => {
    /** The platform fetch, recording where each request went and with which credential. */
    function recordingFetch(answer: (url: URL) => Response = () => new Response('{"message":"Not Found"}', { status: 404 })) {
      const sent: { url: string; authorization: string | undefined }[] = [];
      const fetchImpl = (async (input: string | URL, init?: RequestInit) => {
        const url = new URL(String(input));
        sent.push({ url: url.href, authorization: new Headers(init?.headers).get('authorization') ?? undefined });
        return answer(url);
      }) as typeof fetch;
      return { sent, fetchImpl };
    }
    const onHost = (host: string): Workflow => ({ ...finalLayout, umbrellaRepo: { url: `https://${host}/org/spec-repo`, branch: 'main' } });

    it('sends no request at all to a host nobody allowed, and says why', async () => {
      fx.kube.addSecret('proj', 'ambient-runner-secrets', { GIT_TOKEN: 'ghp_project' });
      const { sent, fetchImpl } = recordingFetch();
      const documents = source({ githubApiUrl: undefined, fetch: fetchImpl });
      for (const attempt of [
        documents.list(onHost('evil.example')),
        documents.read(onHost('evil.example'), 'specs/001-dark-mode/spec.md'),
      ]) {
        const error = await attempt.catch((e: unknown) => e);
        expect(isVteamError(error, 'DOCUMENT_SOURCE_FAILED') && error.userMessage).toMatch(/`evil\.example`.*GITHUB_ALLOWED_HOSTS/);
      }
      expect(sent).toEqual([]);
    });

    it("sends the token to github.com's API and to GitHub Enterprise hosts an admin listed", async () => {
      const { sent, fetchImpl } = recordingFetch();
      const documents = source({ githubApiUrl: undefined, githubAllowedHosts: ['GHE.example.com'], fetch: fetchImpl });
      await documents.read(onHost('github.com'), 'specs/001-dark-mode/spec.md').catch(() => undefined);
      await documents.read(onHost('ghe.example.com'), 'specs/001-dark-mode/spec.md').catch(() => undefined);
      expect(sent.map((r) => [new URL(r.url).origin, r.authorization])).toEqual([
        ['https://api.github.com', 'Bearer ghp_bot'],
        ['https://ghe.example.com', 'Bearer ghp_bot'],
      ]);
    });

    it('with GITHUB_API_URL set, every repository is read there, whatever host the CR names', async () => {
      await source().read(onHost('evil.example'), 'specs/001-dark-mode/spec.md');
      expect(github.requests.map((r) => r.token)).toEqual(['ghp_bot']);
    });

    it('drops the token when a redirect leaves the origin, and keeps it on the same origin', async () => {
      const { sent, fetchImpl } = recordingFetch((url) => {
        if (url.pathname.startsWith('/repositories/'))
          return new Response(null, { status: 302, headers: { location: 'https://cdn.elsewhere.example/blob' } });
        if (url.pathname.endsWith('/spec.md'))
          return new Response(null, { status: 301, headers: { location: '/repositories/1/contents/specs/001-dark-mode/spec.md?ref=x' } });
        return new Response('# Spec', { status: 200, headers: { 'content-type': 'text/plain' } });
      });
      const document = await source({ githubApiUrl: undefined, fetch: fetchImpl }).read(
        onHost('github.com'),
        'specs/001-dark-mode/spec.md',
      );
      expect(document.markdown).toBe('# Spec');
      expect(sent.map((r) => [new URL(r.url).host, r.authorization])).toEqual([
        ['api.github.com', 'Bearer ghp_bot'],
        ['api.github.com', 'Bearer ghp_bot'],
        ['cdn.elsewhere.example', undefined],
      ]);
    });

    it('refuses a listing larger than any real one while it downloads', async () => {
      expect(await codeOf(source({ maxListingBytes: 64 }).list(finalLayout))).toBe('DOCUMENT_SOURCE_FAILED');
    });
  });

  describe('from the content service (older layout)', () => {
    beforeEach(() => {
      content.setWorkspaceFile('rfe-1', 'specs/001-feature/spec.md', SPEC);
      content.setWorkspaceFile('rfe-1', 'specs/001-feature/tasks.md', '# Tasks');
      content.setWorkspaceFile('rfe-1', 'specs/spec.md', '# bare');
      content.setWorkspaceFile('rfe-1', 'rfe.md', '# idea');
    });

    it('reads a document under the workflow workspace', async () => {
      const document = await source().read(olderLayout, 'specs/001-feature/spec.md');
      expect(document).toMatchObject({ path: 'specs/001-feature/spec.md', phase: 'specify', markdown: SPEC });
      expect(content.requests.map((r) => [r.path, r.contentPath])).toEqual([
        ['/content/file', '/rfe-workflows/rfe-1/workspace/specs/001-feature/spec.md'],
      ]);
      expect(github.requests).toHaveLength(0);
    });

    it('lists the first specs/ subdirectory', async () => {
      expect(await source().list(olderLayout)).toEqual([
        { path: 'specs/001-feature/spec.md', phase: 'specify' },
        { path: 'specs/001-feature/tasks.md', phase: 'tasks' },
      ]);
      expect(await source().list({ ...olderLayout, name: 'rfe-empty' })).toEqual([]);
    });

    it('maps failures onto the error catalogue', async () => {
      expect(await codeOf(source().read(olderLayout, 'specs/001-feature/plan.md'))).toBe('DOCUMENT_NOT_FOUND');
      content.failNext(500);
      expect(await codeOf(source().read(olderLayout, 'specs/001-feature/spec.md'))).toBe('DOCUMENT_SOURCE_FAILED');
      content.failNext('reset');
      expect(await codeOf(source().list(olderLayout))).toBe('DOCUMENT_SOURCE_FAILED');
    });

    it('reports a missing feature branch when a final-layout workflow has no branch and no content service answers', async () => {
      const unseeded = { ...finalLayout, branchName: '' };
      await content.close();
      expect(await codeOf(source().read(unseeded, 'specs/spec.md'))).toBe('NO_FEATURE_BRANCH');
      expect(await codeOf(source().list(unseeded))).toBe('NO_FEATURE_BRANCH');
      expect(github.requests).toHaveLength(0);
    });
  });
});
