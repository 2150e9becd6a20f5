/**
 * Pure parsing of a project's Jira settings: ProjectSettings annotations first, else the legacy runner
 * Secret keys JIRA_URL / JIRA_PROJECT (reference §5). Issue types default to `Task` for every phase.
 */
import { HIERARCHY_TYPE_KEYS } from '../publishing/issue-drafts.ts';
import type { JiraSettings } from '../publishing/model.ts';
import { ANNOTATIONS } from './resources.ts';

export const DEFAULT_ISSUE_TYPE = 'Task';

/** `https://acme.atlassian.net/` → `https://acme.atlassian.net`; anything but a plain http(s) URL → undefined. */
export function parseSiteUrl(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Jira project keys: a letter, then letters, digits or underscores. */
export function parseProjectKey(value: string | undefined): string | undefined {
  const text = value?.trim();
  return text && /^[A-Za-z][A-Za-z0-9_]{0,254}$/.test(text) ? text.toUpperCase() : undefined;
}

/**
 * `{"specify":"Feature Request","default":"Story"}` or `specify=Feature Request,plan=Feature`.
 * Returns the valid entries; `invalid` lists what was ignored, for a warning.
 */
export function parseIssueTypes(value: string | undefined): { types: Record<string, string>; invalid: string[] } {
  const types: Record<string, string> = {};
  const invalid: string[] = [];
  const text = value?.trim();
  if (!text) return { types, invalid };
  let entries: [string, unknown][];
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      entries = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? Object.entries(parsed) : [];
      if (entries.length === 0) invalid.push(text);
    } catch {
      return { types, invalid: [text] };
    }
  } else {
    entries = text
      .split(',')
      .filter((part) => part.trim() !== '')
      .map((part) => {
        const eq = part.indexOf('=');
        return eq < 0 ? [part, undefined] : [part.slice(0, eq), part.slice(eq + 1)];
      });
  }
  for (const [rawPhase, rawType] of entries) {
    const phase = rawPhase.trim().toLowerCase();
    const type = typeof rawType === 'string' ? rawType.trim() : '';
    if (/^[a-z][a-z0-9_-]*$/.test(phase) && isPrintable(type) && type.length <= 255) types[phase] = type;
    else invalid.push(rawPhase.trim());
  }
  return { types, invalid };
}

function isPrintable(text: string): boolean {
  return text !== '' && [...text].every((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f);
}

export interface SettingsInputs {
  annotations: Record<string, string>;
  /** Decoded runner Secret data, or undefined when the Secret does not exist. */
  secret: Record<string, string> | undefined;
  secretName: string;
}

export interface SettingsResult {
  settings: JiraSettings | undefined;
  /** Problems worth a warning in the log (never contains secret values). */
  warnings: string[];
}

/**
 * Annotations win when they name both a site and a project; a half-configured pair is reported and the
 * Secret is used instead. The issue-type annotation applies whichever source gave site and project.
 */
export function resolveJiraSettings({ annotations, secret, secretName }: SettingsInputs): SettingsResult {
  const warnings: string[] = [];
  const { types, invalid } = parseIssueTypes(annotations[ANNOTATIONS.jiraIssueTypes]);
  if (invalid.length > 0) warnings.push(`ignored invalid entries in ${ANNOTATIONS.jiraIssueTypes}: ${invalid.join(', ')}`);
  const issueTypes = { ...types, default: types.default ?? DEFAULT_ISSUE_TYPE };

  const siteAnnotation = annotations[ANNOTATIONS.jiraSite];
  const projectAnnotation = annotations[ANNOTATIONS.jiraProject];
  if (siteAnnotation !== undefined || projectAnnotation !== undefined) {
    const siteUrl = parseSiteUrl(siteAnnotation);
    const projectKey = parseProjectKey(projectAnnotation);
    if (siteUrl && projectKey) return { settings: { siteUrl, projectKey, issueTypes, source: 'annotations', secretName }, warnings };
    warnings.push(
      `${ANNOTATIONS.jiraSite} and ${ANNOTATIONS.jiraProject} must both be set and valid; falling back to Secret ${secretName}`,
    );
  }

  if (secret) {
    const siteUrl = parseSiteUrl(secret.JIRA_URL);
    const projectKey = parseProjectKey(secret.JIRA_PROJECT);
    if (siteUrl && projectKey) return { settings: { siteUrl, projectKey, issueTypes, source: 'runner-secret', secretName }, warnings };
    if (secret.JIRA_URL !== undefined && !siteUrl) warnings.push(`JIRA_URL in Secret ${secretName} is not an http(s) URL`);
    if (secret.JIRA_PROJECT !== undefined && !projectKey) warnings.push(`JIRA_PROJECT in Secret ${secretName} is not a Jira project key`);
  }
  return { settings: undefined, warnings };
}

/** The phases whose issue type a project can set, in workflow order. */
export const CONFIGURABLE_PHASES = ['specify', 'plan', 'tasks'] as const;

/** Types of the workflow's hierarchy: the spec's issue in Publish all (`epic`), and task issues (`task-item`). */
export const HIERARCHY_TYPES = [HIERARCHY_TYPE_KEYS.epic, HIERARCHY_TYPE_KEYS.taskItem] as const;

/**
 * The `jira-issue-types` annotation value the bot writes: compact JSON, `default` first, then the phases
 * in workflow order, then anything else; read back by parseIssueTypes.
 */
export function formatIssueTypes(types: { default: string } & Partial<Record<string, string>>): string {
  const order = ['default', ...CONFIGURABLE_PHASES, ...HIERARCHY_TYPES] as string[];
  const keys = Object.keys(types)
    .filter((k) => types[k] !== undefined && types[k] !== '')
    .sort((a, b) => rank(order, a) - rank(order, b) || a.localeCompare(b));
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, types[k]])));
}

function rank(order: string[], key: string): number {
  const index = order.indexOf(key);
  return index < 0 ? order.length : index;
}
