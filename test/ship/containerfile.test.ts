/**
 * The Containerfile cannot be built here (no container engine), so it is linted: a multi-stage build on a
 * pinned Node 24 base, locked production dependencies only, non-root, exec-form CMD, and a build context
 * that carries only what the image copies.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyArgs, execForm, parseContainerfile, stagesOf } from './containerfile.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const instructions = parseContainerfile(readFileSync(join(ROOT, 'Containerfile'), 'utf8'));
const stages = stagesOf(instructions);
const final = stages.at(-1)!;
const finalOf = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword);

describe('Containerfile', () => {
  it('is a multi-stage build whose runtime takes node_modules from an earlier stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names = stages.slice(0, -1).map((s) => s.name);
    const fromStage = finalOf('COPY')
      .map((i) => copyArgs(i.args))
      .filter((c) => c.flags.from !== undefined);
    expect(fromStage.map((c) => c.flags.from).every((from) => names.includes(from))).toBe(true);
    expect(fromStage.some((c) => c.sources.some((s) => s.endsWith('node_modules')))).toBe(true);
  });

  it('builds every stage on the same pinned Node 24 image (an exact version, never a floating tag)', () => {
    for (const stage of stages) {
      expect(stage.image).toMatch(
        /^(docker\.io\/library\/)?node:24\.\d+\.\d+-[a-z0-9-]+(@sha256:[0-9a-f]{64})?$|^registry\.access\.redhat\.com\/ubi9\/nodejs-24:[\w.-]+$/,
      );
    }
    expect(new Set(stages.map((s) => s.image)).size).toBe(1);
  });

  it('installs exactly the locked production dependencies', () => {
    const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(
      runs.filter((r) => /\bnpm\s+(install|i|add)\b/.test(r)),
      'use npm ci, not npm install',
    ).toEqual([]);
    const ci = runs.filter((r) => /\bnpm\s+ci\b/.test(r));
    expect(ci).toHaveLength(1);
    expect(ci[0]).toMatch(/--omit=dev\b/);
    const lockCopied = instructions.some((i) => i.keyword === 'COPY' && copyArgs(i.args).sources.includes('package-lock.json'));
    expect(lockCopied).toBe(true);
  });

  it('copies only package.json, package-lock.json and src/ from the context, and nothing remote', () => {
    expect(
      instructions.filter((i) => i.keyword === 'ADD'),
      'use COPY; ADD fetches URLs and unpacks archives',
    ).toEqual([]);
    const contextSources = instructions
      .filter((i) => i.keyword === 'COPY')
      .map((i) => copyArgs(i.args))
      .filter((c) => c.flags.from === undefined)
      .flatMap((c) => c.sources);
    expect(new Set(contextSources)).toEqual(new Set(['package.json', 'package-lock.json', 'src']));
    for (const source of contextSources) expect(existsSync(join(ROOT, source)), source).toBe(true);
  });

  it('runs as a numeric non-root user, in production mode, the way package.json starts it', () => {
    const users = finalOf('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(':')[0]!;
    expect(user).toMatch(/^\d+$/);
    expect(Number(user)).toBeGreaterThan(0);
    const cmd = finalOf('CMD').at(-1)!;
    expect(users.at(-1)!.line).toBeLessThan(cmd.line);
    expect(finalOf('ENTRYPOINT')).toEqual([]);
    expect(execForm(cmd.args)).toEqual(['node', 'src/main.ts']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('node src/main.ts');
    expect(
      finalOf('ENV')
        .map((i) => i.args)
        .join(' '),
    ).toMatch(/\bNODE_ENV=production\b/);
  });

  it('exposes the port the app and the Deployment use, and leaves health checks to Kubernetes', () => {
    expect(finalOf('EXPOSE').map((i) => i.args)).toEqual(['3000']);
    expect(instructions.filter((i) => i.keyword === 'HEALTHCHECK')).toEqual([]);
  });
});

/** Docker/Podman ignore-file semantics: patterns in order, the last match wins, `!` re-includes. */
function ignored(patterns: string[], path: string): boolean {
  let result = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${pattern
        .split('**')
        .map((part) =>
          part
            .split('*')
            .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('[^/]*'),
        )
        .join('.*')}(/.*)?$`,
    );
    if (regex.test(path)) result = !negate;
  }
  return result;
}

describe.each(['.containerignore', '.dockerignore'])('%s', (file) => {
  const patterns = readFileSync(join(ROOT, file), 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('lets in exactly what the Containerfile copies, and keeps secrets and local state out', () => {
    for (const path of ['package.json', 'package-lock.json', 'src/main.ts', 'src/vteam/workflows.ts'])
      expect(ignored(patterns, path), path).toBe(false);
    for (const path of [
      '.env',
      '.git/config',
      'node_modules/pino/package.json',
      'data/vteam-slack.sqlite',
      'data/.dev-key',
      'test/ship/manifest.test.ts',
      'deploy/base/kustomization.yaml',
      'README.md',
    ]) {
      expect(ignored(patterns, path), path).toBe(true);
    }
  });

  it('has the same rules as the other ignore file', () => {
    const other = file === '.dockerignore' ? '.containerignore' : '.dockerignore';
    const otherPatterns = readFileSync(join(ROOT, other), 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(patterns).toEqual(otherPatterns);
  });
});
