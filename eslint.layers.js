// @ts-check
/**
 * The direction of imports between the folders of src/, as lint rules: a wrong import fails `npm test`.
 * Layers, lowest first; a folder may import only from the folders listed before it:
 *
 *   kernel (lib/, errors.ts, logging.ts, config/)
 *   observability/ → storage/ → publishing/ (the use case and its ports)
 *   adapters: vteam/ → identity/ ; atlassian/ → oauth/
 *   slack/blocks/ (pure Block Kit) → status/, cards/ (use cases of the Slack surface)
 *   http/ → slack/ → the composition root (app.ts, main.ts)
 *
 * The allowed relation is acyclic, so no two folders can import each other while lint passes.
 */

const ALL = [
  'lib',
  'config',
  'observability',
  'storage',
  'publishing',
  'vteam',
  'identity',
  'atlassian',
  'oauth',
  'status',
  'cards',
  'http',
  'slack',
];

/** Folder → the folders it may import (besides itself and the kernel files). */
const ALLOWED = {
  lib: [],
  config: ['lib'],
  observability: ['lib'],
  storage: ['lib', 'observability'],
  publishing: ['lib', 'observability', 'storage'],
  vteam: ['lib', 'config', 'observability', 'storage', 'publishing'],
  identity: ['lib', 'config', 'observability', 'storage', 'publishing', 'vteam'],
  atlassian: ['lib', 'config', 'observability', 'storage', 'publishing'],
  oauth: ['lib', 'config', 'observability', 'storage', 'publishing', 'atlassian'],
  status: ['lib', 'config', 'observability', 'storage', 'publishing', 'vteam', 'identity', 'atlassian', 'oauth', 'slack/blocks'],
  cards: ['lib', 'config', 'observability', 'storage', 'publishing', 'vteam', 'slack/blocks'],
  http: ['lib', 'config', 'observability', 'storage', 'publishing', 'oauth'],
  slack: ['lib', 'config', 'observability', 'storage', 'publishing', 'vteam', 'identity', 'atlassian', 'oauth', 'status', 'http'],
};

/** An import specifier reaching `target` (a folder of src/) from a file anywhere below src/. */
const reaching = (target) => `^(?:\\.\\./)+${target.replace('/', '\\/')}\\/`;

/** @returns {import('eslint').Linter.Config[]} */
export function layerRules() {
  return Object.entries(ALLOWED).map(([folder, allowed]) => {
    const forbidden = ALL.filter((f) => f !== folder && !allowed.includes(f));
    const patterns = forbidden.map((target) => ({
      // slack/blocks is a layer of its own: allowed to some folders that may not import the rest of slack/.
      regex: target === 'slack' && allowed.includes('slack/blocks') ? '^(?:\\.\\./)+slack\\/(?!blocks\\/)' : reaching(target),
      message: `src/${folder}/ may not import src/${target}/ (see eslint.layers.js for the direction of imports).`,
    }));
    patterns.push({ regex: '^(?:\\.\\./)+(?:app|main)\\.ts$', message: 'Only the composition root imports app.ts.' });
    return { files: [`src/${folder}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
  });
}
