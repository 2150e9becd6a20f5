/** Generators of hostile input shared by the property suites. */
import fc from 'fast-check';

/** Strings an attacker or a broken client would send: mrkdwn control sequences, quotes, paths, unicode, control characters, very long text. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.constantFrom(
    '<!channel>',
    '<!here>',
    '<@U0123>',
    '<https://evil.example|Reconnect Atlassian>',
    '&lt;!channel&gt;',
    '`',
    '```',
    '*bold*',
    'publish "Dark mode',
    'publish “Dark mode” spec.md',
    'publish rfe-1 ../../etc/passwd',
    'publish rfe-1 %2e%2e/secret.md',
    'publish --type',
    'publish -t "" x',
    'publish --unknown x',
    '\u0000',
    '\u202e',
    'x'.repeat(5000),
  ),
  fc
    .array(
      fc.constantFrom(
        'publish',
        'help',
        'connect',
        'jira-status',
        'rfe-1760000000',
        'specs/001/spec.md',
        '--type',
        'Epic',
        '"',
        '“',
        '”',
        '<!here>',
        ' ',
      ),
      { maxLength: 12 },
    )
    .map((words) => words.join(' ')),
);

/** Any JSON-ish value, hostile strings included: what a hand-edited CR or a broken server may hold. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  hostileText,
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(null, undefined, 0, -1, true, [], {}, Number.NaN),
);
