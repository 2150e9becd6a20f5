import { parseArgs } from 'node:util';
import { errors } from '../errors.ts';

export type VteamCommand =
  | { kind: 'help' }
  | { kind: 'connect' }
  | { kind: 'disconnect' }
  | { kind: 'publish'; workflow: string; path?: string | undefined; issueType?: string | undefined }
  /** `--all`: every document, the spec as the parent issue. */
  | { kind: 'publish-all'; workflow: string }
  /** `--tasks`: one issue per open task of the tasks document `path`. */
  | { kind: 'task-issues'; workflow: string; path: string }
  /** Any other sub-command: routed by name to a registered handler, else answered with help. */
  | { kind: 'other'; name: string; args: string[] };

/**
 * Parses the text after `/vteam`. Quotes (straight or the curly ones Slack clients insert) group
 * words; an unquoted multi-word workflow title works too when the last word is the document path.
 */
export function parseVteamCommand(text: string): VteamCommand {
  const tokens = tokenize(text);
  const [name, ...rest] = tokens;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') return { kind: 'help' };
  const sub = name.toLowerCase();
  if (sub === 'connect' || sub === 'disconnect') return { kind: sub };
  if (sub !== 'publish') return { kind: 'other', name: sub, args: rest };

  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { type: { type: 'string', short: 't' }, all: { type: 'boolean' }, tasks: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw errors.badRequest(`${(error as Error).message.split('\n')[0]}; usage: ${USAGE}.`);
  }
  // An empty quoted word ("" or a lone curly quote) names nothing.
  const positionals = parsed.positionals.map((word) => word.trim()).filter((word) => word !== '');
  if (positionals.length === 0) {
    throw errors.badRequest('Say which workflow to publish: `/vteam publish <workflow> [<path>] [--type <IssueType>]`.');
  }
  const issueType = parsed.values.type?.trim() || undefined;
  const last = positionals[positionals.length - 1]!;
  const withPath = positionals.length >= 2 && looksLikePath(last);
  const workflow = withPath ? positionals.slice(0, -1).join(' ') : positionals.join(' ');
  const { all, tasks } = parsed.values;
  if (all && tasks) throw errors.badRequest(`Use either \`--all\` or \`--tasks\`, not both; usage: ${USAGE}.`);
  if (all) {
    if (withPath || issueType)
      throw errors.badRequest('`--all` publishes every document with its own type; leave out the path and `--type`.');
    return { kind: 'publish-all', workflow };
  }
  if (tasks) {
    if (!withPath) throw errors.badRequest('Say which tasks document: `/vteam publish <workflow> <tasks-path> --tasks`.');
    if (issueType) throw errors.badRequest("`--tasks` uses the project's type for task issues; leave out `--type`.");
    return { kind: 'task-issues', workflow, path: last };
  }
  return withPath ? { kind: 'publish', workflow, path: last, issueType } : { kind: 'publish', workflow, issueType };
}

const USAGE =
  '`/vteam publish <workflow> [<path>] [--type <IssueType>]`, `/vteam publish <workflow> --all` or `/vteam publish <workflow> <tasks-path> --tasks`';

function looksLikePath(token: string): boolean {
  return token.includes('/') || /\.[A-Za-z0-9]+$/.test(token);
}

const QUOTES: Record<string, string> = { '"': '"', "'": "'", '“': '”', '”': '”', '‘': '’' };

/** Shell-like split on whitespace, honouring quotes; unbalanced quotes close at the end. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let closing: string | undefined;
  for (const ch of text.trim()) {
    if (closing !== undefined) {
      if (ch === closing) closing = undefined;
      else current += ch;
      continue;
    }
    if (ch in QUOTES) {
      closing = QUOTES[ch];
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (inToken) tokens.push(current);
  return tokens;
}
