/**
 * Hostile values for every outside-sourced field, and the checks that prove none of them took
 * control of Slack's mrkdwn: no mention, broadcast or link that the input wrote survives, and every
 * `<…>` left in the text is one our code wrote (a date, the acting user, a well-formed http link).
 */

export interface HostileCase {
  name: string;
  value: string;
  /** Raw sequences from the value that must never reach mrkdwn. */
  forbidden: string[];
}

/** Ids our fixtures treat as Slack's own (the clicking user, a bound channel): the only ones allowed in `<@…>`/`<#…>`. */
export const TRUSTED = { userId: 'U0ALICE', channelId: 'C0BOUND1' } as const;

export const HOSTILE: HostileCase[] = [
  { name: 'channel broadcast', value: '<!channel>', forbidden: ['<!channel'] },
  { name: 'here and everyone', value: 'hi <!here> and <!everyone>', forbidden: ['<!here', '<!everyone'] },
  { name: 'user, channel and group mentions', value: '<@U123> <#C123> <!subteam^S123>', forbidden: ['<@U123', '<#C123', '<!subteam'] },
  { name: 'forged link', value: '<https://evil.example|Reconnect Atlassian>', forbidden: ['<https://evil.example'] },
  {
    name: 'URL with its own label',
    value: 'https://evil.example/x|Reconnect Atlassian>',
    forbidden: ['<https://evil.example/x|', 'Atlassian>'],
  },
  { name: 'pre-escaped entities', value: '&lt;!here&gt; &amp; &', forbidden: ['&lt;!here&gt;'] },
  {
    name: 'backticks and formatting',
    value: '` <!channel> ` ```<!here>``` *bold* _it_ ~strike~ > quote',
    forbidden: ['<!channel', '<!here'],
  },
  { name: 'javascript URL', value: 'javascript:alert(1)//<!channel>', forbidden: ['<javascript', '<!channel'] },
  { name: '5,000 characters', value: '<!channel>'.repeat(500), forbidden: ['<!channel'] },
  { name: 'unicode', value: `${'🚀'.repeat(2500)}\u202e\u200b<!here>é`, forbidden: ['<!here'] },
  { name: 'benign', value: 'specs/001-dark-mode/spec.md', forbidden: [] },
];

/** The case whose escaped form must show up wherever a builder shows an outside value (it is not ignored). */
export const ECHO = { value: '<!channel>', escaped: '&lt;!channel&gt;' } as const;

/** An outside value as a URL: as given when it already looks like one, else inside an https URL. */
export const urlOf = (h: string) => (/^https?:/i.test(h) ? h : `https://outside.example/${h}`);

/** At most `n` code points of a value, for fields whose producer caps them (schemas, Kubernetes names). */
export const prefix = (h: string, n: number) => Array.from(h).slice(0, n).join('');

/** Every place of a mrkdwn string where the input took control, as sentences. */
export function injectionViolations(text: string, hostile: HostileCase): string[] {
  const out = hostile.forbidden.filter((raw) => text.includes(raw)).map((raw) => `raw ${JSON.stringify(raw)} from the input`);
  for (const [sequence, inner] of text.matchAll(/<([^<>]*)>/g)) {
    if (!allowedSequence(inner!)) out.push(`control sequence ${JSON.stringify(sequence.slice(0, 80))} not written by our code`);
  }
  return out;
}

function allowedSequence(inner: string): boolean {
  if (inner.startsWith('!')) return /^!date\^-?\d+\^\{[a-z_]+\}( \{[a-z_]+\})?\|[^|]*$/.test(inner);
  if (inner.startsWith('@')) return inner === `@${TRUSTED.userId}`;
  if (inner.startsWith('#')) return inner === `#${TRUSTED.channelId}`;
  if (/[|:]/.test(inner)) return /^https?:\/\/[^\s|<>]+(\|[^<>]*)?$/.test(inner);
  // Our own placeholders in help text and usage, such as <workflow>: no mention, no link.
  return /^[A-Za-z][\w-]*$/.test(inner);
}

type Node = Record<string, unknown>;

/** The mrkdwn strings of a payload: every `type: mrkdwn` text object, and `text` itself when it is a message's. */
export function mrkdwnStrings(payload: unknown, topLevelText: boolean): string[] {
  const found: string[] = [];
  if (topLevelText && typeof payload === 'object' && payload !== null && typeof (payload as Node).text === 'string') {
    found.push((payload as Node).text as string);
  }
  JSON.stringify(payload, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && (value as Node).type === 'mrkdwn' && typeof (value as Node).text === 'string') {
      found.push((value as Node).text as string);
    }
    return value;
  });
  return found;
}
