/**
 * The only way outside values (anything our code did not write: CR fields, paths, Jira answers,
 * store records, typed text) enter Slack mrkdwn, in blocks and in the `text` fallbacks alike. Slack
 * parses `<…>` as mentions (`<!channel>`, `<@U…>`) and links (`<url|label>`) everywhere, inside
 * backticks too, so every outside value goes through `escapeMrkdwn`, `code`, `codeBlock` or `link`.
 */

/**
 * Escapes the three characters Slack's mrkdwn treats as control characters. Half a surrogate pair
 * (a value cut elsewhere) becomes U+FFFD, since it is not valid UTF-8 and would spoil the payload.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(HALF_PAIR, '\uFFFD');
}

const HALF_PAIR = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Links longer than this are shown as their label: no real Jira or repository URL comes close. */
const MAX_LINK_URL = 1000;

/**
 * `<url|label>` for an http(s) URL; anything else is shown as the label alone. Characters that would
 * end the URL early (`|`, `<`, `>`, whitespace) are percent-encoded, so a URL cannot carry its own
 * label or a second link; the label is escaped.
 */
export function link(url: string | undefined, label: string): string {
  if (!url || url.length > MAX_LINK_URL || !/^https?:\/\/[^/\s]/i.test(url) || !URL.canParse(url)) return escapeMrkdwn(label);
  const safeUrl = escapeMrkdwn(url.replace(/[<>|\s]/g, (c) => encodeURIComponent(c)));
  return `<${safeUrl}|${escapeMrkdwn(label)}>`;
}

/** `<@U…>` for a well-formed Slack user id; anything else (a tampered record) as plain text. */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(clip(userId, 30));
}

/** One line of at most `max` characters (whitespace runs folded), never ending in half a surrogate pair. */
export function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${withoutHalfPair(flat.slice(0, max - 1))}…` : flat;
}

/** At most `max` UTF-16 units, as is (no folding, no ellipsis), never ending in half a surrogate pair: for plain_text fields. */
export function cut(text: string, max: number): string {
  return text.length > max ? withoutHalfPair(text.slice(0, max)) : text;
}

// A backtick in a value would end the code span; U+02CB looks the same and cannot.
const SAFE_BACKTICK = 'ˋ';

/** An outside value as inline code: escaped (Slack parses `<…>` inside backticks) and unable to end the span. */
export function code(text: string): string {
  return '`' + escapeMrkdwn(text.replace(/`/g, SAFE_BACKTICK)) + '`';
}

/** A code block (e.g. a command to copy): escaped, and no run of backticks in it can close the block. */
export function codeBlock(text: string): string {
  return '```' + escapeMrkdwn(text.replace(/`/g, SAFE_BACKTICK)) + '```';
}

/**
 * Cuts finished mrkdwn to `max` characters without leaving half an entity (`&am`), half a `<…>`
 * sequence or half a surrogate pair at the end, where Slack would show them raw or refuse the text.
 */
export function clipMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = withoutHalfPair(text.slice(0, max - 1));
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open);
  cut = cut.replace(/&[a-z]{0,4}$/, '');
  return `${cut}…`;
}

function withoutHalfPair(text: string): string {
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? text.slice(0, -1) : text;
}

/** Slack's limits this code relies on (Block Kit reference). */
export const LIMITS = {
  /** Section and context text, and any mrkdwn text object. */
  sectionText: 3000,
  /** A message's top-level `text`: Slack advises at most 4,000 characters. */
  messageText: 4000,
  messageBlocks: 50,
} as const;

/** A mrkdwn text object (section text, context element), cut to Slack's 3,000 characters. */
export function mrkdwnText(text: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: clipMrkdwn(text, LIMITS.sectionText) };
}

export function mrkdwnSection(text: string): { type: 'section'; text: { type: 'mrkdwn'; text: string } } {
  return { type: 'section', text: mrkdwnText(text) };
}
