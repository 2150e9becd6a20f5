/**
 * The escaping primitives every builder uses (src/slack/blocks/text.ts), and the checks the hostile
 * walk relies on, so that a walk that finds nothing means there was nothing to find.
 */
import { describe, expect, it } from 'vitest';
import { slackDate } from '../../src/slack/blocks/status.ts';
import { clip, clipMrkdwn, code, codeBlock, cut, escapeMrkdwn, link, mention } from '../../src/slack/blocks/text.ts';
import { messageViolations } from './hostile/block-kit-limits.ts';
import { HOSTILE, injectionViolations } from './hostile/mrkdwn-safety.ts';

describe('escapeMrkdwn', () => {
  it('turns &, < and > into entities, & first so entities in the input stay text', () => {
    expect(escapeMrkdwn('<!channel> & <http://x|y>')).toBe('&lt;!channel&gt; &amp; &lt;http://x|y&gt;');
    expect(escapeMrkdwn('&lt;!here&gt;')).toBe('&amp;lt;!here&amp;gt;');
  });

  it('replaces half a surrogate pair (a value cut elsewhere), which is not valid UTF-8', () => {
    expect(escapeMrkdwn('ok 🚀 \uD83D')).toBe('ok 🚀 \uFFFD');
  });
});

describe('code and codeBlock', () => {
  it('escape the value, since Slack parses <…> inside backticks', () => {
    expect(code('<!channel>')).toBe('`&lt;!channel&gt;`');
    expect(codeBlock('a <@U1> & b')).toBe('```a &lt;@U1&gt; &amp; b```');
  });

  it('keep a backtick in the value from ending the span', () => {
    const span = code('x` <https://evil.example|Reconnect> `y');
    expect(span.match(/`/g)).toHaveLength(2);
    expect(span).not.toContain('<https');
    const block = codeBlock('echo ```\n<!here>');
    expect(block.match(/`/g)).toHaveLength(6);
    expect(block).not.toContain('<!here');
  });
});

describe('link', () => {
  it('links http(s) URLs with an escaped label', () => {
    expect(link('https://acme.atlassian.net/browse/PROJ-1', 'PROJ-1')).toBe('<https://acme.atlassian.net/browse/PROJ-1|PROJ-1>');
    expect(link('https://a.example/x', '<!here>')).toBe('<https://a.example/x|&lt;!here&gt;>');
  });

  it('shows anything but an http(s) URL as its label alone', () => {
    for (const url of ['javascript:alert(1)', 'mailto:x@y', '//evil.example', 'https://', 'http:// spaced', undefined]) {
      expect(link(url, 'PROJ-1 <!channel>')).toBe('PROJ-1 &lt;!channel&gt;');
    }
    expect(link(`https://a.example/${'x'.repeat(1000)}`, 'long')).toBe('long');
  });

  it('percent-encodes |, <, > and spaces so a URL cannot bring its own label or end the link', () => {
    const forged = link('https://evil.example/x|Reconnect Atlassian>', 'PROJ-1');
    expect(forged).toBe('<https://evil.example/x%7CReconnect%20Atlassian%3E|PROJ-1>');
    expect(link('https://a.example/?a=1&b=<2>', 'k')).toBe('<https://a.example/?a=1&amp;b=%3C2%3E|k>');
  });
});

describe('mention', () => {
  it('mentions well-formed Slack user ids only', () => {
    expect(mention('U0ALICE')).toBe('<@U0ALICE>');
    expect(mention('W123')).toBe('<@W123>');
    expect(mention('U1> <!channel')).toBe('U1&gt; &lt;!channel');
  });
});

describe('clipping', () => {
  it('never leaves half an entity, half a <…> sequence or half a surrogate pair', () => {
    expect(clipMrkdwn('abc &amp; def', 7)).toBe('abc …');
    expect(clipMrkdwn('see <https://a.example/x|PROJ-1> now', 20)).toBe('see …');
    expect(clipMrkdwn(`${'a'.repeat(9)}🚀🚀`, 11)).toBe(`${'a'.repeat(9)}…`);
    expect(clip(`${'a'.repeat(9)}🚀🚀`, 11)).toBe(`${'a'.repeat(9)}…`);
    expect(cut(`${'a'.repeat(9)}🚀`, 10)).toBe('a'.repeat(9));
    expect(clipMrkdwn('short', 10)).toBe('short');
  });
});

describe('slackDate', () => {
  it('writes a date sequence for a real time and plain words for a broken one', () => {
    expect(slackDate(Date.UTC(2026, 0, 1))).toBe('<!date^1767225600^{date_short_pretty} {time}|2026-01-01T00:00:00Z>');
    expect(slackDate(Number.NaN)).toBe('unknown time');
  });
});

describe('the checks of the hostile walk', () => {
  it('flag raw mentions and forged links, and accept what our code writes', () => {
    const channel = HOSTILE[0]!;
    expect(injectionViolations('hi <!channel>', channel)).not.toEqual([]);
    expect(injectionViolations('<https://evil.example x|Reconnect>', channel)).not.toEqual([]);
    expect(injectionViolations('<@U999>', channel)).not.toEqual([]);
    expect(
      injectionViolations(`by <@U0ALICE> ${slackDate(0)} <https://a.example/b|PROJ-1> \`/vteam publish <workflow>\``, channel),
    ).toEqual([]);
  });

  it('flag payloads over Block Kit limits', () => {
    expect(messageViolations({ text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) })).toEqual([
      'message: 51 blocks > 50',
    ]);
    expect(messageViolations({ text: 'x', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }] })).toHaveLength(
      1,
    );
    expect(messageViolations({ text: '\uD83D' })).toHaveLength(1);
  });
});
