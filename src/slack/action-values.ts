import { z } from 'zod';
import type { WorkflowRef } from '../publishing/model.ts';

export const ACTIONS = {
  publish: 'publish_to_jira',
  update: 'update_jira_issue',
  /** The overflow choice "Publish as…" beside a Publish button: opens the issue-type modal. */
  publishAs: 'publish_as',
  /** Publish every document of a workflow: the spec as the parent issue, the others as its children. */
  publishAll: 'publish_all',
  /** One Jira issue per open task of a tasks document, after a confirmation modal. */
  createTaskIssues: 'create_task_issues',
  connect: 'connect_atlassian',
  disconnect: 'disconnect_atlassian',
} as const;

/**
 * What a document button carries. It is only a claim: handlers re-check it against the channel's
 * binding and the cluster, never trusting it for authorization.
 */
const NAMESPACE = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const WORKFLOW_NAME = z.string().regex(/^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/);

const documentValueSchema = z.object({
  v: z.literal(1),
  ns: NAMESPACE,
  wf: WORKFLOW_NAME,
  p: z.string().min(1).max(1024),
});

export interface DocumentActionValue extends WorkflowRef {
  path: string;
}

export function encodeDocumentValue(value: DocumentActionValue): string {
  return JSON.stringify({ v: 1, ns: value.namespace, wf: value.name, p: value.path });
}

/** Undefined when the value is not one we could have produced (tampered or garbage). */
export function decodeDocumentValue(raw: string | undefined): DocumentActionValue | undefined {
  if (raw === undefined || raw.length > 2000) return undefined;
  try {
    const parsed = documentValueSchema.safeParse(JSON.parse(raw));
    return parsed.success ? { namespace: parsed.data.ns, name: parsed.data.wf, path: parsed.data.p } : undefined;
  } catch {
    return undefined;
  }
}

const workflowValueSchema = z.object({ v: z.literal(1), ns: NAMESPACE, wf: WORKFLOW_NAME });

/** What a workflow button (Publish all) carries: only a claim, like a document button's value. */
export function encodeWorkflowValue(value: WorkflowRef): string {
  return JSON.stringify({ v: 1, ns: value.namespace, wf: value.name });
}

export function decodeWorkflowValue(raw: string | undefined): WorkflowRef | undefined {
  if (raw === undefined || raw.length > 2000) return undefined;
  try {
    const parsed = workflowValueSchema.safeParse(JSON.parse(raw));
    return parsed.success ? { namespace: parsed.data.ns, name: parsed.data.wf } : undefined;
  } catch {
    return undefined;
  }
}

/** Slack caps an overflow option's value at 150 characters. */
export const OVERFLOW_VALUE_MAX = 150;
const OVERFLOW_PREFIX = 'd1|';
/** The overflow's other choice, "Publish to Jira" with the project's default type (same as the button). */
const PUBLISH_NOW_PREFIX = 'n1|';

/**
 * The value of a "Publish as…" overflow option: `d1|<namespace>|<workflow>|<path>`. Neither a
 * namespace nor a workflow name can hold `|`, so the path is everything after the third field and is
 * kept whole. Undefined when it would not fit in 150 characters: the row then offers no overflow
 * (`--type` still works) rather than a truncated path.
 */
export function encodePublishAsValue(value: DocumentActionValue): string | undefined {
  const encoded = `${OVERFLOW_PREFIX}${value.namespace}|${value.name}|${value.path}`;
  return encoded.length <= OVERFLOW_VALUE_MAX && decodePublishAsValue(encoded) !== undefined ? encoded : undefined;
}

/** The same document, for the overflow's "Publish to Jira" choice. */
export function encodePublishNowValue(value: DocumentActionValue): string | undefined {
  const encoded = encodePublishAsValue(value);
  return encoded === undefined ? undefined : PUBLISH_NOW_PREFIX + encoded.slice(OVERFLOW_PREFIX.length);
}

/** Which overflow choice was made, for which document; undefined for anything we could not have produced. */
export function decodeOverflowChoice(
  raw: string | undefined,
): { choice: 'publish-as' | 'publish-now'; value: DocumentActionValue } | undefined {
  if (raw?.startsWith(PUBLISH_NOW_PREFIX)) {
    const value = decodePublishAsValue(OVERFLOW_PREFIX + raw.slice(PUBLISH_NOW_PREFIX.length));
    return value && { choice: 'publish-now', value };
  }
  const value = decodePublishAsValue(raw);
  return value && { choice: 'publish-as', value };
}

/** Undefined when the value is not one we could have produced (tampered, garbage or too long). */
export function decodePublishAsValue(raw: string | undefined): DocumentActionValue | undefined {
  if (raw === undefined || raw.length > OVERFLOW_VALUE_MAX || !raw.startsWith(OVERFLOW_PREFIX)) return undefined;
  const rest = raw.slice(OVERFLOW_PREFIX.length);
  const first = rest.indexOf('|');
  const second = first < 0 ? -1 : rest.indexOf('|', first + 1);
  if (second < 0) return undefined;
  const namespace = NAMESPACE.safeParse(rest.slice(0, first));
  const name = WORKFLOW_NAME.safeParse(rest.slice(first + 1, second));
  const path = rest.slice(second + 1);
  if (!namespace.success || !name.success || path.length === 0 || hasControlCharacters(path)) return undefined;
  return { namespace: namespace.data, name: name.data, path };
}

function hasControlCharacters(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * What the "Publish as…" modal carries in private_metadata: the document, and where the click came
 * from (the channel that authorizes the publish, and the click's response_url for ephemeral answers).
 * Only a claim, like a button value: the publish re-checks the channel's binding.
 */
export interface PublishAsMetadata extends DocumentActionValue {
  channelId: string;
  responseUrl?: string | undefined;
  sourceEphemeral?: boolean | undefined;
}

/** Slack caps private_metadata at 3000 characters. */
const PRIVATE_METADATA_MAX = 3000;

const publishAsMetadataSchema = z.object({
  namespace: NAMESPACE,
  name: WORKFLOW_NAME,
  path: z
    .string()
    .min(1)
    .max(1024)
    .refine((p) => !hasControlCharacters(p)),
  channelId: z.string().regex(/^[CDG][A-Z0-9]{2,}$/),
  responseUrl: z
    .string()
    .max(2000)
    .regex(/^https?:\/\/[^\s]+$/)
    .optional(),
  sourceEphemeral: z.boolean().optional(),
});

export function encodePublishAsMetadata(metadata: PublishAsMetadata): string {
  const full = JSON.stringify({
    namespace: metadata.namespace,
    name: metadata.name,
    path: metadata.path,
    channelId: metadata.channelId,
    ...(metadata.responseUrl ? { responseUrl: metadata.responseUrl } : {}),
    ...(metadata.sourceEphemeral ? { sourceEphemeral: true } : {}),
  });
  if (full.length <= PRIVATE_METADATA_MAX) return full;
  // Without the response_url, results still reach the thread and errors arrive by postEphemeral.
  return JSON.stringify({ namespace: metadata.namespace, name: metadata.name, path: metadata.path, channelId: metadata.channelId });
}

/** Undefined when the metadata is not one we could have produced. */
export function decodePublishAsMetadata(raw: string | undefined): PublishAsMetadata | undefined {
  if (raw === undefined || raw.length > PRIVATE_METADATA_MAX) return undefined;
  try {
    const parsed = publishAsMetadataSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
