/**
 * The task list of a spec-kit `tasks.md`, one Jira issue per task. The markdown is an LLM-written
 * repository file, so the parser is a single linear pass over lines with hand-written scanning (no
 * regex that can backtrack), bounded in the number of tasks it returns, and it keeps nothing that
 * could break a line or reorder text (control, line-separator and bidi characters become spaces).
 *
 * Recognised, as spec-kit writes it:
 *
 *   ## Phase 3: User Story 1 - Browse (Priority: P1)
 *   - [ ] T012 [P] [US1] Create the user model in src/models/user.py
 *   - [x] **T013** Done task
 *
 * A task is a `-`, `*` or `+` list item with a checkbox and a task ID; list items without either
 * (such as the template's `- T008 blocks T009` dependency notes) are not tasks, nor is anything in a
 * fenced code block or an HTML comment, nor a list item nested under a task (its detail lines).
 */
import { errors } from '../errors.ts';
import { validateDocumentPath } from './paths.ts';

export interface PlanTask {
  /** e.g. 'T012' (upper-cased). */
  id: string;
  /** The task text without checkbox, ID and leading markers: 'Create the user model in src/models/user.py'. */
  text: string;
  done: boolean;
  /** Nearest heading above, e.g. 'Phase 3.2: Tests First (TDD)'; undefined if none. */
  phase: string | undefined;
  /** Had the [P] marker. */
  parallel: boolean;
  /** Story markers without brackets, e.g. ['US1'] (`[USn]` or `[Story …]` tokens right after the ID). */
  stories: string[];
  /** 1-based line number of the task's line in the document. */
  line: number;
}

export interface ParsedTasks {
  tasks: PlanTask[];
  /** IDs seen more than once, each listed once; only their first occurrence is a task. */
  duplicates: string[];
}

export const TASK_ID = /^T\d{1,6}$/;

/** Tasks past this many are ignored (not reported as anything). */
export const MAX_TASKS = 2_000;

const SUMMARY_MAX = 255;
const DESCRIPTION_MAX = 32_000;
/** A heading longer than this is clipped: it is repeated on every task of its phase. */
const PHASE_MAX = 200;
const MAX_ID_DIGITS = 6;
/** Longest bracket marker content considered (`[Story 12: Checkout]`). */
const MARKER_MAX = 40;

/** C0/C1 control characters and DEL, Unicode line/paragraph separators and bidi controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const USER_STORY = /^US[ _-]?\d{1,4}$/i;
const STORY = /^Story(?:$|[^A-Za-z])/i;

export function parseTasks(markdown: string): ParsedTasks {
  const tasks: PlanTask[] = [];
  const duplicates = new Set<string>();
  const seen = new Set<string>();
  const lines = markdown.split('\n');
  let phase: string | undefined;
  /** Open fence: its character and length. */
  let fence: { char: string; length: number } | undefined;
  let inComment = false;
  /** Indentation of the task whose nested list items are detail lines, while that list item lasts. */
  let taskIndent: number | undefined;

  for (let index = 0; index < lines.length && tasks.length < MAX_TASKS; index++) {
    let raw = lines[index] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (index === 0 && raw.startsWith('\uFEFF')) raw = raw.slice(1);

    if (fence) {
      if (closesFence(raw, fence)) fence = undefined;
      continue;
    }
    const stripped = stripComments(raw, inComment);
    inComment = stripped.inComment;
    const line = stripped.text;

    const start = indentEnd(line);
    if (start === line.length) continue; // blank (or only a comment): does not end a list item
    const indent = columns(line, start);
    if (taskIndent !== undefined && indent <= taskIndent) taskIndent = undefined;

    const opened = opensFence(line, start);
    if (opened) {
      fence = opened;
      continue;
    }
    const heading = indent <= 3 ? headingText(line, start) : undefined;
    if (heading !== undefined) {
      phase = heading === '' ? undefined : heading;
      taskIndent = undefined;
      continue;
    }
    if (taskIndent !== undefined) continue; // nested under a task: a detail line
    const task = taskLine(line, start);
    if (!task) continue;
    taskIndent = indent;
    if (seen.has(task.id)) {
      duplicates.add(task.id);
      continue;
    }
    seen.add(task.id);
    tasks.push({ ...task, phase, line: index + 1 });
  }
  return { tasks, duplicates: [...duplicates] };
}

/** Link path of one task's issue in spec.jiraLinks: `<tasks-path>#<task ID>`. */
export function taskPath(documentPath: string, taskId: string): string {
  const id = taskId.toUpperCase();
  if (!TASK_ID.test(id)) throw errors.badRequest(`\`${oneLine(taskId).slice(0, 20)}\` is not a task ID such as \`T012\`.`);
  return `${documentPath}#${id}`;
}

/** Inverse of taskPath: { documentPath, taskId } when `path` is a task path (`…md#T<digits>`), else undefined. */
export function splitTaskPath(path: string): { documentPath: string; taskId: string } | undefined {
  const hash = path.lastIndexOf('#');
  if (hash <= 0) return undefined;
  const documentPath = path.slice(0, hash);
  const taskId = path.slice(hash + 1);
  if (!TASK_ID.test(taskId) || !isDocumentPath(documentPath)) return undefined;
  return { documentPath, taskId };
}

/** Jira summary: `T012 Create the user model…`, whitespace collapsed, at most 255 characters. */
export function taskSummary(task: PlanTask): string {
  const summary = oneLine(`${task.id} ${task.text}`).replace(/\s+/g, ' ');
  return clip(summary, SUMMARY_MAX);
}

/**
 * Markdown: the Source link (with a `#L<line>` anchor for a GitHub blob URL without a fragment),
 * then the task, its phase, whether it is parallel, and its user stories; at most 32,000 characters.
 */
export function taskDescription(task: PlanTask, sourceUrl: string): string {
  const phase = task.phase === undefined ? '' : oneLine(task.phase);
  const stories = task.stories.map(oneLine).filter((s) => s !== '');
  const lines = [
    `**Source:** ${withLineAnchor(sourceUrl, task.line)}`,
    '',
    `**Task:** ${clip(oneLine(`${task.id} ${task.text}`), 30_000)}`,
  ];
  if (phase !== '') lines.push(`**Phase:** ${clip(phase, 500)}`);
  if (task.parallel) lines.push('**Parallel:** yes — can run alongside other [P] tasks');
  if (stories.length > 0) lines.push(`**User ${stories.length === 1 ? 'story' : 'stories'}:** ${clip(stories.join(', '), 500)}`);
  return clip(`${lines.join('\n')}\n`, DESCRIPTION_MAX);
}

function withLineAnchor(sourceUrl: string, line: number): string {
  if (sourceUrl.includes('#') || !Number.isSafeInteger(line) || line < 1) return sourceUrl;
  let pathname: string;
  try {
    pathname = new URL(sourceUrl).pathname;
  } catch {
    return sourceUrl;
  }
  return pathname.includes('/blob/') ? `${sourceUrl}#L${line}` : sourceUrl;
}

function isDocumentPath(path: string): boolean {
  try {
    return validateDocumentPath(path) === path;
  } catch {
    return false;
  }
}

// --- line scanning ----------------------------------------------------------------------------------

/** The line without HTML comments (`<!-- … -->`, possibly spanning lines); whether one is still open. */
function stripComments(line: string, inComment: boolean): { text: string; inComment: boolean } {
  if (!inComment && !line.includes('<!--')) return { text: line, inComment: false };
  let text = '';
  let at = 0;
  let open = inComment;
  while (at <= line.length) {
    if (open) {
      const end = line.indexOf('-->', at);
      if (end < 0) return { text, inComment: true };
      at = end + 3;
      open = false;
    } else {
      const begin = line.indexOf('<!--', at);
      if (begin < 0) return { text: text + line.slice(at), inComment: false };
      text += line.slice(at, begin);
      at = begin + 4;
      open = true;
    }
  }
  return { text, inComment: open };
}

function isBlank(char: string | undefined): boolean {
  return char === ' ' || char === '\t';
}

/** Index of the first character that is not a space or tab. */
function indentEnd(line: string, from = 0): number {
  let at = from;
  while (at < line.length && isBlank(line[at])) at++;
  return at;
}

/** Width of the indentation before `end`, a tab counting to the next multiple of 4. */
function columns(line: string, end: number): number {
  let width = 0;
  for (let at = 0; at < end; at++) width = line[at] === '\t' ? width + 4 - (width % 4) : width + 1;
  return width;
}

function runLength(line: string, from: number, char: string): number {
  let at = from;
  while (line[at] === char) at++;
  return at - from;
}

function opensFence(line: string, start: number): { char: string; length: number } | undefined {
  const char = line[start];
  if (char !== '`' && char !== '~') return undefined;
  const length = runLength(line, start, char);
  if (length < 3) return undefined;
  // A backtick fence's info string has no backtick (otherwise it is inline code, as in ```x```).
  if (char === '`' && line.includes('`', start + length)) return undefined;
  return { char, length };
}

function closesFence(line: string, fence: { char: string; length: number }): boolean {
  const start = indentEnd(line);
  const length = runLength(line, start, fence.char);
  return length >= fence.length && indentEnd(line, start + length) === line.length;
}

/** The text of an ATX heading starting at `start` (`## Phase 1: Setup ##` → 'Phase 1: Setup'), else undefined. */
function headingText(line: string, start: number): string | undefined {
  const level = runLength(line, start, '#');
  if (level < 1 || level > 6) return undefined;
  const after = start + level;
  if (after < line.length && !isBlank(line[after])) return undefined;
  let end = line.length;
  while (end > after && isBlank(line[end - 1])) end--;
  // An optional closing sequence of #s, when separated by a space (or when it is all there is).
  let hashes = end;
  while (hashes > after && line[hashes - 1] === '#') hashes--;
  if (hashes < end && (hashes === after || isBlank(line[hashes - 1]))) end = hashes;
  let begin = after;
  while (begin < end && isBlankOrStar(line[begin])) begin++;
  while (end > begin && isBlankOrStar(line[end - 1])) end--;
  return clip(oneLine(line.slice(begin, end)), PHASE_MAX);
}

function isBlankOrStar(char: string | undefined): boolean {
  return char === '*' || isBlank(char);
}

type ScannedTask = Omit<PlanTask, 'phase' | 'line'>;

/** A task list item starting at `start` (`- [ ] T012 [P] [US1] text`), else undefined. */
function taskLine(line: string, start: number): ScannedTask | undefined {
  const bullet = line[start];
  if ((bullet !== '-' && bullet !== '*' && bullet !== '+') || !isBlank(line[start + 1])) return undefined;
  let at = indentEnd(line, start + 1);

  // Checkbox: [ ], [x] or [X].
  const mark = line[at + 1];
  if (line[at] !== '[' || line[at + 2] !== ']' || (mark !== ' ' && mark !== 'x' && mark !== 'X')) return undefined;
  const done = mark !== ' ';
  at = indentEnd(line, at + 3);

  // ID: T<digits>, optionally bold (**T012**), optionally followed by a colon.
  const bold = line.startsWith('**', at);
  if (bold) at += 2;
  if (line[at] !== 'T' && line[at] !== 't') return undefined;
  const digitsStart = at + 1;
  at = digitsStart;
  while (at < line.length && at - digitsStart <= MAX_ID_DIGITS && isDigit(line[at])) at++;
  const digits = at - digitsStart;
  if (digits < 1 || digits > MAX_ID_DIGITS) return undefined;
  const id = `T${line.slice(digitsStart, at)}`;
  if (line[at] === ':') at++;
  if (bold) {
    if (!line.startsWith('**', at)) return undefined;
    at += 2;
    if (line[at] === ':') at++;
  }
  if (at < line.length && !isBlank(line[at])) return undefined;

  // Markers right after the ID: [P] and story labels, in any order.
  let parallel = false;
  const stories: string[] = [];
  for (;;) {
    const next = indentEnd(line, at);
    const marker = markerAt(line, next);
    if (marker === undefined) {
      at = next;
      break;
    }
    if (marker.token.toUpperCase() === 'P') parallel = true;
    else if (USER_STORY.test(marker.token) || STORY.test(marker.token)) {
      if (!stories.includes(marker.token)) stories.push(marker.token);
    } else {
      at = next; // an ordinary bracket ([Docs] …): part of the text
      break;
    }
    at = marker.end;
  }

  const text = oneLine(line.slice(at));
  return { id, text, done, parallel, stories };
}

/** A `[token]` at `at` (not a link), its content trimmed with inner whitespace collapsed; bounded look-ahead. */
function markerAt(line: string, at: number): { token: string; end: number } | undefined {
  if (line[at] !== '[') return undefined;
  const limit = Math.min(line.length, at + 1 + MARKER_MAX + 1);
  let close = -1;
  for (let i = at + 1; i < limit; i++) {
    const char = line[i];
    if (char === '[') return undefined;
    if (char === ']') {
      close = i;
      break;
    }
  }
  if (close < 0) return undefined;
  const after = line[close + 1];
  if (after === '(' || after === '[' || after === ':') return undefined; // a link, not a marker
  if (close + 1 < line.length && !isBlank(after)) return undefined;
  const token = oneLine(line.slice(at + 1, close)).replace(/\s+/g, ' ');
  return token === '' ? undefined : { token, end: close + 1 };
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= '0' && char <= '9';
}

/** Control, line-separator and bidi characters replaced by spaces; trimmed. */
function oneLine(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, ' ').trim();
}

/** At most `max` characters, ending in '…' when clipped, never splitting a surrogate pair. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
