/**
 * MCF's slugify (mcpgateway/utils/create_slug.py): lower case, apostrophes in contractions dropped,
 * each run of non-alphanumerics (underscore included) becomes the tool-name separator — MCF joins
 * slug words with GATEWAY_TOOL_NAME_SEPARATOR too — separators trimmed from both ends, accents
 * folded to ASCII. `jira_create_issue` → `jira-create-issue`, `createJiraIssue` → `createjiraissue`.
 */
export function contextForgeSlug(text: string, separator = '-'): string {
  const characters = separator.replace(/[\\\]^-]/g, '\\$&');
  const trim = new RegExp(`^[${characters}]+|[${characters}]+$`, 'g');
  return text
    .toLowerCase()
    .replace(/(\w)['\u2019](\w)/g, '$1$2')
    .replace(/[^\p{L}\p{N}]+/gu, separator)
    .replace(trim, '')
    .replaceAll('æ', 'ae')
    .replaceAll('ß', 'ss')
    .replaceAll('ø', 'o')
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '');
}
