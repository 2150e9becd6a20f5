// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { layerRules } from './eslint.layers.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'coverage/', '.ci/.node/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Type-aware, for the application only: a promise nobody awaits must handle its own rejection
    // (`void` is left for promises that cannot reject, with a comment saying why).
    files: ['src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // Pure Block Kit: data in, blocks out; no I/O, no other part of the Slack surface.
    files: ['src/slack/blocks/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^\\.\\./[^./]', message: 'Block Kit builders stay pure: no other part of the Slack surface.' },
            {
              regex: '^\\.\\./\\.\\./(?!publishing/|lib/|storage/channel-problems\\.ts|errors\\.ts)',
              message: 'Block Kit builders stay pure: only publishing/ model types, lib/ and errors.ts.',
            },
          ],
        },
      ],
    },
  },
  ...layerRules(),
);
