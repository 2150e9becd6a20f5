/**
 * Document paths arrive from Slack (typed by users, or echoed back in button values) and end up in
 * GitHub/content-service URLs and in the RFEWorkflow's jiraLinks, so they are validated strictly and
 * normalised to the workspace-relative form the vTeam UI computes (e.g. `specs/001-dark-mode/spec.md`).
 */
import { errors } from '../errors.ts';
import type { Phase } from './model.ts';

const MAX_PATH_LENGTH = 512;
/** C0/C1 control characters and DEL; also Unicode line/paragraph separators and bidi overrides. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * Normalises a workspace-relative path or throws PATH_OUTSIDE_WORKSPACE. Percent-encoding is decoded
 * repeatedly first, so `%2e%2e%2f` and `%252e%252e` are judged as what they finally mean.
 */
export function normalizeWorkspacePath(input: string): string {
  const original = input;
  let path = input.trim();
  if (path === '' || path.length > MAX_PATH_LENGTH) throw errors.pathOutsideWorkspace(original);
  for (let round = 0; /%[0-9a-fA-F]{2}/.test(path); round++) {
    if (round === 5) throw errors.pathOutsideWorkspace(original);
    try {
      path = decodeURIComponent(path);
    } catch {
      throw errors.pathOutsideWorkspace(original);
    }
  }
  // A '%' left after decoding is ambiguous (literal, or a malformed escape); document names never need one.
  if (FORBIDDEN_CHARACTERS.test(path) || path.includes('\\') || path.includes('%')) throw errors.pathOutsideWorkspace(original);
  while (path.startsWith('./')) path = path.slice(2);
  // Absolute (POSIX or a Windows drive), home-relative, or a URL; judged after `./` is gone, so `./C:` is refused like `C:`.
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.startsWith('~')) throw errors.pathOutsideWorkspace(original);
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw errors.pathOutsideWorkspace(original);
  return segments.join('/');
}

/** A publishable document path: safe, markdown, and not the RFE's idea document. */
export function validateDocumentPath(input: string): string {
  const path = normalizeWorkspacePath(input);
  const name = basename(path);
  if (!/\.md$/i.test(name) || name.length <= 3) throw errors.notMarkdown(path);
  if (name.toLowerCase() === 'rfe.md') {
    throw errors.badRequest(
      "`rfe.md` is the RFE's idea document and is never published to Jira; publish its `spec.md`, `plan.md` or `tasks.md` instead.",
    );
  }
  return path;
}

/** Phase from a file name, as the vTeam backend derived it: `spec` → `specify`, otherwise the basename. */
export function phaseOf(path: string): Phase {
  const stem = basename(path).replace(/\.md$/i, '');
  return stem.toLowerCase() === 'spec' ? 'specify' : stem.toLowerCase();
}

/** The documents vTeam's phases produce, in phase order. */
export const PHASE_DOCUMENTS = ['spec.md', 'plan.md', 'tasks.md'] as const;

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
