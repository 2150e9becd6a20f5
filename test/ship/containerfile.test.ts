/**
 * The Containerfile cannot be built here (no container engine), so it is linted, in CI with the other
 * tests: hadolint's rules that matter (lintContainerfile in containerfile.ts: pinned bases, never latest,
 * COPY not ADD, npm ci after the lockfile, no secrets in ENV/ARG, numeric non-root USER, exec-form CMD),
 * and this project's: a multi-stage build on one pinned Node 24 base whose runtime gets production
 * dependencies or a bundle from earlier stages, and a build context that carries only what the image copies.
 * Build it with `podman build -t vteam-slack -f Containerfile .` (README "Container image").
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_STEP, copyArgs, execForm, expandGlobalArgs, lintContainerfile, parseContainerfile, stagesOf } from './containerfile.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const text = readFileSync(join(ROOT, 'Containerfile'), 'utf8');
const instructions = parseContainerfile(text);
const stages = stagesOf(instructions);
const final = stages.at(-1)!;
const finalOf = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword);
/** What the build copies from the context (not from other stages). */
const contextSources = instructions
  .filter((i) => i.keyword === 'COPY')
  .map((i) => copyArgs(i.args))
  .filter((c) => c.flags.from === undefined)
  .flatMap((c) => c.sources.map((source) => source.replace(/^\.\//, '').replace(/\/$/, '')));

describe('Containerfile', () => {
  it('passes the lint (hadolint-like rules, see lintContainerfile)', () => {
    expect(lintContainerfile(text, (path) => existsSync(join(ROOT, path)))).toEqual([]);
  });

  it('is a multi-stage build whose runtime takes its dependencies (node_modules, or a bundle) from an earlier stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names = stages.slice(0, -1).map((s) => s.name);
    const fromStage = finalOf('COPY')
      .map((i) => copyArgs(i.args))
      .filter((c) => c.flags.from !== undefined);
    expect(fromStage.length).toBeGreaterThan(0);
    expect(fromStage.map((c) => c.flags.from).every((from) => names.includes(from))).toBe(true);
    const bundled = stages.slice(0, -1).some((stage) => stage.instructions.some((i) => i.keyword === 'RUN' && BUILD_STEP.test(i.args)));
    expect(bundled || fromStage.some((c) => c.sources.some((s) => /(^|\/)node_modules\/?$/.test(s)))).toBe(true);
  });

  it('builds every stage on the same pinned Node 24 image (an exact version, never a floating tag)', () => {
    const external = stages.filter((stage) => !stages.some((other) => other.name === stage.image));
    const images = external.map((stage) => expandGlobalArgs(instructions, stage.image));
    for (const image of images) {
      expect(image).toMatch(
        /^(docker\.io\/library\/)?node:24\.\d+\.\d+-[a-z0-9-]+(@sha256:[0-9a-f]{64})?$|^registry\.access\.redhat\.com\/ubi9\/nodejs-24:[\w.-]+$/,
      );
    }
    expect(new Set(images).size).toBe(1);
  });

  it('installs the locked dependencies with npm ci, and only production ones in the runtime', () => {
    const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(
      runs.filter((r) => /\bnpm\s+(install|i|add)\b/.test(r)),
      'use npm ci, not npm install',
    ).toEqual([]);
    expect(runs.filter((r) => /\bnpm\s+ci\b/.test(r)).length).toBeGreaterThan(0);
    for (const r of final.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm\s+ci\b/.test(i.args)))
      expect(r.args).toMatch(/--omit=dev\b/);
    expect(contextSources).toContain('package-lock.json');
  });

  it('copies only the package files, src/ and build scripts from the context, and nothing remote', () => {
    expect(
      instructions.filter((i) => i.keyword === 'ADD'),
      'use COPY; ADD fetches URLs and unpacks archives',
    ).toEqual([]);
    const allowed = /^(package\.json|package-lock\.json|tsconfig\.json|src(\/.*)?|scripts(\/.*)?)$/;
    expect(contextSources.filter((source) => !allowed.test(source))).toEqual([]);
    expect(contextSources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
    for (const source of contextSources) expect(existsSync(join(ROOT, source)), source).toBe(true);
  });

  it('runs as a numeric non-root user, in production mode, the sources package.json starts or a bundle built from them', () => {
    const users = finalOf('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(':')[0]!;
    expect(user).toMatch(/^\d+$/);
    expect(Number(user)).toBeGreaterThan(0);
    const cmd = finalOf('CMD').at(-1)!;
    expect(users.at(-1)!.line).toBeLessThan(cmd.line);
    expect(finalOf('ENTRYPOINT')).toEqual([]);
    const command = execForm(cmd.args);
    expect(command?.[0]).toBe('node');
    expect(command).toHaveLength(2);
    if (command?.[1] === 'src/main.ts') {
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      expect(pkg.scripts.start).toBe('node src/main.ts');
    } else {
      // A bundle: some earlier stage builds it from src/ (`node scripts/build.mjs` or `npm run build`).
      expect(instructions.some((i) => i.keyword === 'RUN' && BUILD_STEP.test(i.args))).toBe(true);
      expect(contextSources.some((source) => source === 'src' || source.startsWith('src/'))).toBe(true);
    }
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

describe('lintContainerfile', () => {
  const base = 'docker.io/library/node:24.21.0-bookworm-slim';
  const good = [
    `FROM ${base} AS deps`,
    'WORKDIR /app',
    'COPY package.json package-lock.json ./',
    'RUN npm ci --omit=dev',
    `FROM ${base}`,
    'ENV NODE_ENV=production PORT=3000',
    'WORKDIR /app',
    'COPY --from=deps /app/node_modules ./node_modules',
    'COPY package.json ./',
    'COPY src ./src',
    'USER 1000',
    'CMD ["node", "src/main.ts"]',
  ];
  const withLine = (index: number, line: string | undefined) =>
    good
      .map((l, i) => (i === index ? line : l))
      .filter((l) => l !== undefined)
      .join('\n');

  it('accepts a multi-stage build, and one whose build stage bundles the sources for the runtime', () => {
    expect(lintContainerfile(good.join('\n'))).toEqual([]);
    const bundle = [
      '# syntax=docker/dockerfile:1',
      'ARG NODE_IMAGE=' + base,
      'FROM ${NODE_IMAGE} AS build',
      'WORKDIR /app',
      'COPY package.json package-lock.json ./',
      'RUN npm ci --no-audit --no-fund',
      'COPY scripts ./scripts',
      'COPY src ./src',
      'RUN node scripts/build.mjs',
      'FROM build AS test',
      'RUN npm test',
      'FROM ${NODE_IMAGE} AS runtime',
      'ENV NODE_ENV=production \\',
      '    NODE_OPTIONS=--max-semi-space-size=2',
      'WORKDIR /app',
      'COPY --from=build /app/dist/ ./dist/',
      'RUN mkdir -p /app/data && chown 1000:0 /app/data',
      'USER 1000:0',
      'EXPOSE 3000',
      'CMD ["node", "dist/main.js"]',
    ].join('\n');
    expect(lintContainerfile(bundle)).toEqual([]);
    expect(BUILD_STEP.test('node scripts/build.mjs')).toBe(true);
    expect(BUILD_STEP.test('npm run build')).toBe(true);
  });

  it.each([
    ['line 1: FROM node: pin the base by tag or digest', withLine(0, 'FROM node AS deps')],
    ['line 5: FROM node:latest: never latest', withLine(4, 'FROM node:latest')],
    ['every stage should build on the same base', withLine(4, 'FROM docker.io/library/node:22.19.0-bookworm-slim')],
    ['line 3: ADD fetches URLs and unpacks archives: use COPY', withLine(2, 'ADD package.json package-lock.json ./')],
    ['line 4: npm ci before package-lock.json was copied', withLine(2, 'COPY package.json ./')],
    ['line 4: use `npm ci`', withLine(3, 'RUN npm install --omit=dev')],
    [
      "line 8: COPY --from=deps /app/node_modules: the runtime's node_modules must come from `npm ci --omit=dev`",
      withLine(3, 'RUN npm ci'),
    ],
    ['line 6: ENV SLACK_BOT_TOKEN: secrets do not belong in an image layer', withLine(5, 'ENV NODE_ENV=production SLACK_BOT_TOKEN=xoxb-1')],
    ['line 6: ARG GITHUB_TOKEN: secrets do not belong in an image layer', withLine(5, 'ARG GITHUB_TOKEN')],
    ["line 11: USER node: numeric, so Kubernetes' runAsNonRoot can verify it", withLine(10, 'USER node')],
    ['line 11: USER 0 is root', withLine(10, 'USER 0')],
    ['line 5: the final stage sets no USER', withLine(10, undefined)],
    ['line 12: CMD in exec form', withLine(11, 'CMD node src/main.ts')],
    ['line 12: CMD runs dist/main.js, which the final stage does not copy', withLine(11, 'CMD ["node", "dist/main.js"]')],
    ['line 7: WORKDIR app: use an absolute path', withLine(6, 'WORKDIR app')],
    ['line 2: COPY to ./ before any WORKDIR', withLine(1, undefined)],
    ['line 10: COPY .: name what the image needs', withLine(9, 'COPY . .')],
    ['line 8: COPY --from=builder: name an earlier stage', withLine(7, 'COPY --from=builder /app/node_modules ./node_modules')],
    ['line 4: no sudo', withLine(3, 'RUN sudo npm ci --omit=dev')],
    [
      'line 4: apt-get install needs -y and --no-install-recommends',
      withLine(3, 'RUN apt-get update && apt-get install -y git && npm ci --omit=dev'),
    ],
    ['line 4: no apt-get upgrade', withLine(3, 'RUN apt-get upgrade -y && npm ci --omit=dev')],
    ['line 4: no piping a download into a shell', withLine(3, 'RUN curl -fsSL https://example.com/x.sh | sh && npm ci --omit=dev')],
  ])('refuses: %s', (problem, containerfile) => {
    expect(lintContainerfile(containerfile).join('\n')).toContain(problem);
  });

  it('checks that what the build copies from the context exists', () => {
    expect(lintContainerfile(good.join('\n'), (path) => path !== 'src')).toEqual(['line 10: COPY src: not in the build context']);
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

  it('lets in what the Containerfile copies, and keeps secrets and local state out', () => {
    for (const path of ['package.json', 'package-lock.json', 'src/main.ts', 'src/vteam/workflows.ts', ...contextSources])
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
