/**
 * The jira-config modal's data, as pure functions: what the form holds, how a submission is read out
 * of `view.state.values`, how it is validated (errors keyed by block id, for `response_action: errors`)
 * and what travels in `private_metadata` (a hint for the UI only; never trusted for authorization).
 */
import { z } from 'zod';
import { CONFIGURABLE_PHASES, HIERARCHY_TYPES, parseSiteUrl } from '../../vteam/jira-settings.ts';
import { isProjectName } from '../../vteam/project-admin.ts';

export const JIRA_CONFIG_CALLBACK_ID = 'vteam_jira_config';
export const LOAD_ISSUE_TYPES_ACTION = 'vteam_jira_config_load_types';

export type ConfigurablePhase = (typeof CONFIGURABLE_PHASES)[number];
export type TypeField = 'default' | ConfigurablePhase | (typeof HIERARCHY_TYPES)[number];
export const TYPE_FIELDS: readonly TypeField[] = ['default', ...CONFIGURABLE_PHASES, ...HIERARCHY_TYPES];

export const BLOCKS = {
  site: 'jira_site',
  project: 'jira_project',
  type: (field: TypeField) => `jira_type_${field}`,
} as const;

/** Action ids differ by element kind so Slack does not carry a text value into a select (or back). */
export const ELEMENTS = {
  text: (block: string) => `${block}_text`,
  select: (block: string) => `${block}_select`,
} as const;

/** What the user typed or chose, before validation; undefined = left empty. */
export interface JiraConfigInput {
  site?: string | undefined;
  project?: string | undefined;
  types: Partial<Record<TypeField, string | undefined>>;
}

export interface JiraConfigValues {
  siteUrl: string;
  projectKey: string;
  issueTypes: { default: string } & Partial<Record<TypeField, string>>;
}

export type Validation = { ok: true; values: JiraConfigValues } | { ok: false; errors: Record<string, string> };

interface StateValue {
  value?: string | null | undefined;
  selected_option?: { value: string } | null | undefined;
}
export type StateValues = Record<string, Record<string, StateValue>>;

export function readJiraConfigForm(values: StateValues): JiraConfigInput {
  const read = (block: string): string | undefined => {
    const actions = values[block] ?? {};
    for (const action of [ELEMENTS.text(block), ELEMENTS.select(block)]) {
      const state = actions[action];
      const value = state?.selected_option?.value ?? state?.value;
      if (typeof value === 'string') return value;
    }
    return undefined;
  };
  return {
    site: read(BLOCKS.site),
    project: read(BLOCKS.project),
    types: Object.fromEntries(TYPE_FIELDS.map((field) => [field, read(BLOCKS.type(field))])),
  };
}

export const SITE_ERROR = 'Enter the https address of your Jira site, such as https://acme.atlassian.net.';
export const PROJECT_ERROR = 'Enter the Jira project key: capital letters, digits or _, starting with a letter, such as PROJ.';
export const DEFAULT_TYPE_ERROR = 'Enter the issue type to use when a phase has none of its own, such as Task.';
export const TYPE_ERROR = 'Enter an issue type name (up to 255 characters), or leave it empty to use the default.';

/** `https://acme.atlassian.net/` → `https://acme.atlassian.net`; http, credentials, query or fragment → undefined. */
export function validSiteUrl(value: string | undefined): string | undefined {
  const site = parseSiteUrl(value);
  return site?.startsWith('https://') ? site : undefined;
}

/** Jira project keys are upper case; a key typed in lower case is accepted as its upper-case form. */
export function validProjectKey(value: string | undefined): string | undefined {
  const key = value?.trim().toUpperCase();
  return key && /^[A-Z][A-Z0-9_]+$/.test(key) && key.length <= 255 ? key : undefined;
}

function validIssueType(value: string): string | undefined {
  const type = value.trim();
  return type !== '' && type.length <= 255 && [...type].every((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f)
    ? type
    : undefined;
}

export function validateJiraConfig(input: JiraConfigInput): Validation {
  const errors: Record<string, string> = {};
  const siteUrl = validSiteUrl(input.site);
  if (!siteUrl) errors[BLOCKS.site] = SITE_ERROR;
  const projectKey = validProjectKey(input.project);
  if (!projectKey) errors[BLOCKS.project] = PROJECT_ERROR;

  const issueTypes: Partial<Record<TypeField, string>> = {};
  for (const field of TYPE_FIELDS) {
    const raw = input.types[field];
    if (field !== 'default' && (raw === undefined || raw === '')) continue; // empty phase → the default applies
    const type = raw === undefined ? undefined : validIssueType(raw);
    if (type) issueTypes[field] = type;
    else errors[BLOCKS.type(field)] = field === 'default' ? DEFAULT_TYPE_ERROR : TYPE_ERROR;
  }
  if (Object.keys(errors).length > 0 || !siteUrl || !projectKey || !issueTypes.default) return { ok: false, errors };
  return { ok: true, values: { siteUrl, projectKey, issueTypes: { ...issueTypes, default: issueTypes.default } } };
}

/** UI context carried by the view; the project in it is re-authorized on every use. */
export interface JiraConfigMetadata {
  project: string;
  /** Where the command was run, for the confirmation. */
  channelId?: string | undefined;
}

const metadataSchema = z.object({
  project: z.string().refine(isProjectName),
  channelId: z
    .string()
    .regex(/^[CDG][A-Z0-9]{2,}$/)
    .optional(),
});

export function encodeMetadata(metadata: JiraConfigMetadata): string {
  return JSON.stringify({ project: metadata.project, ...(metadata.channelId ? { channelId: metadata.channelId } : {}) });
}

export function decodeMetadata(text: string | undefined): JiraConfigMetadata | undefined {
  try {
    const parsed = metadataSchema.safeParse(JSON.parse(text ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
