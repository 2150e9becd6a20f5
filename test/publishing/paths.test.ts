import { describe, expect, it } from 'vitest';
import { isVteamError } from '../../src/errors.ts';
import { normalizeWorkspacePath, phaseOf, validateDocumentPath } from '../../src/publishing/paths.ts';

const codeOf = (input: string) => {
  try {
    validateDocumentPath(input);
    return 'OK';
  } catch (error) {
    return isVteamError(error) ? error.code : String(error);
  }
};

describe('validateDocumentPath', () => {
  it.each([
    ['specs/001-dark-mode/spec.md', 'specs/001-dark-mode/spec.md'],
    ['./specs/plan.md', 'specs/plan.md'],
    ['././specs/tasks.md', 'specs/tasks.md'],
    ['  specs/spec.md  ', 'specs/spec.md'],
    ['specs%2Fspec.md', 'specs/spec.md'],
    ['specs/My%20Notes.md', 'specs/My Notes.md'],
    ['README.MD', 'README.MD'],
  ])('accepts %j as %j', (input, expected) => {
    expect(validateDocumentPath(input)).toBe(expected);
  });

  it.each([
    ['/etc/passwd.md', 'absolute'],
    ['C:/specs/spec.md', 'Windows drive'],
    ['~/spec.md', 'home'],
    ['../spec.md', 'parent'],
    ['specs/../../spec.md', 'parent in the middle'],
    ['specs/./spec.md', 'dot segment'],
    ['specs//spec.md', 'empty segment'],
    ['specs/', 'trailing slash'],
    ['specs\\..\\spec.md', 'backslash'],
    ['specs/spec.md\u0000.txt', 'NUL'],
    ['specs/\nspec.md', 'newline'],
    ['specs/\u202espec.md', 'bidi override'],
    ['%2e%2e/spec.md', 'encoded parent'],
    ['%2E%2E%2Fspec.md', 'encoded parent and slash'],
    ['%252e%252e%252fspec.md', 'double-encoded parent'],
    ['%25252e%25252e/spec.md', 'triple-encoded parent'],
    ['%2fetc/spec.md', 'encoded absolute'],
    ['specs%5c..%5cspec.md', 'encoded backslash'],
    ['specs/%00spec.md', 'encoded NUL'],
    ['specs/100%.md', 'malformed escape'],
    ['https://github.com/org/repo/blob/main/spec.md', 'URL'],
    ['', 'empty'],
    ['a/'.repeat(300) + 'x.md', 'too long'],
  ])('rejects %j (%s) as outside the workspace', (input) => {
    expect(codeOf(input)).toBe('PATH_OUTSIDE_WORKSPACE');
  });

  it.each(['specs/spec.txt', 'specs/spec', 'specs/.md', 'specs/spec.md.exe', 'specs/spec.md/'])(
    'rejects %j as not markdown (or outside)',
    (input) => {
      expect(['NOT_MARKDOWN', 'PATH_OUTSIDE_WORKSPACE']).toContain(codeOf(input));
    },
  );

  it('rejects non-markdown files with NOT_MARKDOWN', () => {
    expect(codeOf('specs/diagram.png')).toBe('NOT_MARKDOWN');
  });

  it('refuses rfe.md, which vTeam never publishes, with a clear message', () => {
    for (const input of ['rfe.md', 'docs/RFE.md']) {
      expect(() => validateDocumentPath(input)).toThrowError(/never published/);
    }
  });

  it('keeps the user input (not a decoded form) in the error message', () => {
    try {
      validateDocumentPath('%2e%2e/x.md');
    } catch (error) {
      expect(isVteamError(error) && error.userMessage).toContain('%2e%2e/x.md');
    }
  });

  it('normalizeWorkspacePath allows any safe file, for attachments', () => {
    expect(normalizeWorkspacePath('./specs/001/data-model.md')).toBe('specs/001/data-model.md');
    expect(normalizeWorkspacePath('rfe.md')).toBe('rfe.md');
  });
});

describe('phaseOf', () => {
  it.each([
    ['specs/001-x/spec.md', 'specify'],
    ['specs/plan.md', 'plan'],
    ['tasks.md', 'tasks'],
    ['specs/001-x/research.md', 'research'],
    ['specs/Spec.MD', 'specify'],
  ])('%j → %j', (path, phase) => {
    expect(phaseOf(path)).toBe(phase);
  });
});
