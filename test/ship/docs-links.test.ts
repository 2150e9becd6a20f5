/**
 * Every relative link in the README, docs/*.md and the READMEs under deploy/ points to a file or folder
 * that exists, and every `#anchor` to a heading of the target document (GitHub's slugs: lower case, each
 * space a hyphen, punctuation dropped, `-1`, `-2` … for repeated headings) or an explicit HTML id.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function readmesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return readmesUnder(path);
    return entry.name === 'README.md' ? [path] : [];
  });
}

const DOCUMENTS = [
  join(ROOT, 'README.md'),
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(ROOT, 'docs', name)),
  ...readmesUnder(join(ROOT, 'deploy')),
];

/** The text outside fenced code blocks and code spans (those replaced by blanks, so offsets stay). */
function prose(markdown: string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence !== undefined) {
        if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
        return '';
      }
      if (marker !== undefined) {
        fence = marker;
        return '';
      }
      return line.replace(/(`+)(.+?)\1/g, (span) => ' '.repeat(span.length));
    })
    .join('\n');
}

/** Link targets: inline `[text](target "title")`, images, reference definitions `[x]: target`, `<a href>`. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  return [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
    ...[...text.matchAll(/<a\s[^>]*href="([^"]+)"/gi)].map((m) => m[1]!),
  ];
}

/** GitHub's anchor for a heading text (github-slugger): lower case, punctuation dropped, spaces → '-'. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    // Emphasis with underscores (`_x_`, `__x__`); inside a word (snake_case) they stay. `*`, `` ` ``, `~` go below.
    .replace(/(^|[\s(])_+(?=\S)/g, '$1')
    .replace(/(?<=\S)_+(?=$|[\s).,:;!?])/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a Markdown document offers: its headings' slugs (numbered when repeated) and HTML ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(markdown).split('\n')) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+\s*)?$/.exec(line)?.[1];
    if (heading !== undefined) {
      const base = slug(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const m of line.matchAll(/<a\s[^>]*(?:name|id)="([^"]+)"/gi)) anchors.add(m[1]!);
  }
  return anchors;
}

/** What is wrong with one relative link of `file`, or undefined. */
function brokenLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined; // https:, mailto:, …
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const path = pathPart === '' ? file : pathPart.startsWith('/') ? join(ROOT, pathPart) : resolve(dirname(file), pathPart);
  if (!path.startsWith(ROOT)) return `${target}: leaves the repository`;
  if (!existsSync(path)) return `${target}: ${relative(ROOT, path)} does not exist`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(path).isDirectory() || !path.endsWith('.md')) return `${target}: an anchor into a file that is not Markdown`;
  if (!anchorsOf(readFileSync(path, 'utf8')).has(anchor)) return `${target}: ${relative(ROOT, path)} has no heading #${anchor}`;
  return undefined;
}

describe('relative links in the documentation', () => {
  it('covers the README, every guide in docs/ and the READMEs under deploy/', () => {
    const names = DOCUMENTS.map((file) => relative(ROOT, file));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'docs/admin-guide.md', 'deploy/overlays/example-site/README.md']));
  });

  it.each(DOCUMENTS.map((file) => [relative(ROOT, file), file]))('%s: every relative link and anchor resolves', (_name, file) => {
    const markdown = readFileSync(file, 'utf8');
    const problems = linkTargets(markdown).flatMap((target) => brokenLink(file, target) ?? []);
    expect(problems).toEqual([]);
  });
});

describe('the link check itself', () => {
  it("makes GitHub's heading anchors", () => {
    expect(slug('2. Atlassian')).toBe('2-atlassian');
    expect(slug('3. Deploy to Kubernetes')).toBe('3-deploy-to-kubernetes');
    expect(slug('Self-hosted MCP server (`sooperset/mcp-atlassian`) with a classic 3LO app')).toBe(
      'self-hosted-mcp-server-soopersetmcp-atlassian-with-a-classic-3lo-app',
    );
    expect(slug('Behind **MCP Context Forge**')).toBe('behind-mcp-context-forge');
    expect(slug('snake_case and [a link](x.md)')).toBe('snake_case-and-a-link');
    expect([...anchorsOf('# A\n## Steps\n```\n# not a heading\n```\n## Steps\n<a id="custom"></a>')]).toEqual([
      'a',
      'steps',
      'steps-1',
      'custom',
    ]);
  });

  it('finds inline, reference and HTML links, but not those in code', () => {
    const markdown = [
      'See [the guide](docs/admin-guide.md#2-atlassian "title") and ![img](a.png).',
      '[ref]: ../README.md',
      '<a href="LICENSE">licence</a> and `[not](a-link.md)`',
      '```',
      '[also not](b.md)',
      '```',
      'Absolute: [x](https://example.com/a.md).',
    ].join('\n');
    expect(linkTargets(markdown)).toEqual([
      'docs/admin-guide.md#2-atlassian',
      'a.png',
      'https://example.com/a.md',
      '../README.md',
      'LICENSE',
    ]);
  });

  it('reports a missing file and a missing heading', () => {
    const file = join(ROOT, 'docs/migration.md');
    expect(brokenLink(file, 'admin.md')).toBe('admin.md: docs/admin.md does not exist');
    expect(brokenLink(file, 'admin-guide.md#atlassian')).toBe('admin-guide.md#atlassian: docs/admin-guide.md has no heading #atlassian');
    expect(brokenLink(file, 'admin-guide.md#2-atlassian')).toBeUndefined();
    expect(brokenLink(file, '#steps')).toBeUndefined();
  });
});

describe('LICENSE', () => {
  it('is the MIT licence that package.json names', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license?: string };
    expect(pkg.license).toBe('MIT');
    const licence = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(licence).toMatch(/^MIT License\n\nCopyright \(c\) 2026 vteam-slack contributors\n/);
    expect(licence).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });
});
