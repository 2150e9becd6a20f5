/**
 * Pure mapping between RFEWorkflow custom resources and the domain `Workflow`, plus the jiraLinks upsert
 * applied to the raw object. Objects come from a cluster that may hold any schema revision (or hand
 * edits), so every field is validated on its own and bad values are dropped rather than failing the read.
 */
import { z } from 'zod';
import { documentId } from '../publishing/issue-content.ts';
import type { JiraLink, PublishIntent, RepoRef, Workflow, WorkflowRef } from '../publishing/model.ts';

const nonEmpty = z.string().trim().min(1);
const optionalText = nonEmpty.optional().catch(undefined);

const repoSchema = z
  .object({ url: nonEmpty, branch: nonEmpty.optional().catch(undefined) })
  .transform((r): RepoRef => ({ url: r.url, branch: r.branch ?? 'main' }));
const linkSchema = z.object({ path: nonEmpty, jiraKey: nonEmpty }).transform((l): JiraLink => ({ path: l.path, jiraKey: l.jiraKey }));

const metadataSchema = z.object({
  name: nonEmpty,
  namespace: nonEmpty,
  resourceVersion: z.string().catch(''),
  annotations: z.record(z.string(), z.unknown()).optional().catch(undefined),
});

/** One annotation per document in flight: `<prefix><documentId>` → JSON PublishIntent. */
export const IN_FLIGHT_PREFIX = 'jira-publish.vteam.ambient-code/';
const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/);
const intentSchema = z.object({
  path: nonEmpty.max(1024),
  since: z.number().int().nonnegative(),
  fence: z.string().max(256),
  user: z.object({ teamId: id, enterpriseId: id.optional(), userId: id }),
  replyTo: z.record(z.string(), z.union([z.string().max(256), z.boolean()])).catch({}),
});

const specSchema = z
  .object({
    title: optionalText,
    description: z.string().optional().catch(undefined),
    branchName: optionalText,
    umbrellaRepo: repoSchema.optional().catch(undefined),
    // Before the 2025-10-03 schema (#139) the repos were a list; the first one played the umbrella role.
    repositories: z.array(z.unknown()).optional().catch(undefined),
    parentOutcome: optionalText,
    jiraLinks: z.array(z.unknown()).optional().catch(undefined),
  })
  .catch({});

export type RawObject = Record<string, unknown>;

/** Maps one RFEWorkflow object; undefined when it lacks a usable name/namespace. */
export function toWorkflow(raw: unknown): Workflow | undefined {
  if (!isRecord(raw)) return undefined;
  const metadata = metadataSchema.safeParse(raw.metadata);
  if (!metadata.success) return undefined;
  const spec = specSchema.parse(raw.spec ?? {});
  const umbrellaRepo = spec.umbrellaRepo ?? legacyUmbrellaRepo(spec.repositories);
  const inFlight = intentsOf(metadata.data, metadata.data.annotations);
  return {
    namespace: metadata.data.namespace,
    name: metadata.data.name,
    // The schema requires a title; a hand-made object without one still needs something to show.
    title: spec.title ?? metadata.data.name,
    description: spec.description ?? '',
    branchName: spec.branchName,
    umbrellaRepo,
    parentOutcome: spec.parentOutcome,
    jiraLinks: (spec.jiraLinks ?? []).flatMap((entry) => {
      const link = linkSchema.safeParse(entry);
      return link.success ? [link.data] : [];
    }),
    ...(inFlight.length > 0 ? { inFlight } : {}),
    resourceVersion: metadata.data.resourceVersion,
  };
}

/** In-flight records; anyone can edit annotations, so a record that does not belong to its key is ignored. */
function intentsOf(ref: WorkflowRef, annotations: Record<string, unknown> | undefined): PublishIntent[] {
  return Object.entries(annotations ?? {}).flatMap(([key, value]) => {
    if (!key.startsWith(IN_FLIGHT_PREFIX) || typeof value !== 'string' || value.length > 4096) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return [];
    }
    const intent = intentSchema.safeParse(parsed);
    if (!intent.success || inFlightKey(ref, intent.data.path) !== key) return [];
    return [intent.data];
  });
}

export function inFlightKey(ref: WorkflowRef, path: string): string {
  return `${IN_FLIGHT_PREFIX}${documentId(ref, path)}`;
}

function legacyUmbrellaRepo(repositories: unknown[] | undefined): RepoRef | undefined {
  const first = repositories?.[0];
  const parsed = repoSchema.safeParse(first);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Adds {path, jiraKey} to spec.jiraLinks of a copy of the raw object, keeping every other field and
 * entry as it was (including fields of entries this code does not know). A path that already links
 * a different issue is left alone and that key returned: overwriting it would orphan that issue.
 * `changed` is false when nothing needs writing (then the object is `raw` itself).
 *
 * Copy on write: only what changes is copied (the object, spec, the list, a completed entry); the rest
 * is shared with `raw`, which callers keep (a recent read) and nobody mutates.
 */
export function withJiraLink(raw: RawObject, link: JiraLink): { object: RawObject; changed: boolean; existingKey?: string } {
  const spec = isRecord(raw.spec) ? raw.spec : {};
  const links: unknown[] = Array.isArray(spec.jiraLinks) ? spec.jiraLinks : [];
  const current = links.find(
    (entry): entry is Record<string, unknown> =>
      isRecord(entry) && entry.path === link.path && typeof entry.jiraKey === 'string' && entry.jiraKey.trim() !== '',
  );
  if (current) {
    const key = (current.jiraKey as string).trim();
    return key === link.jiraKey ? { object: raw, changed: false } : { object: raw, changed: false, existingKey: key };
  }
  // An entry for the path without a usable key is completed rather than duplicated.
  const broken = links.findIndex((entry) => isRecord(entry) && entry.path === link.path);
  const jiraLinks =
    broken >= 0
      ? links.map((entry, i) => (i === broken ? { ...(entry as Record<string, unknown>), jiraKey: link.jiraKey } : entry))
      : [...links, { path: link.path, jiraKey: link.jiraKey }];
  return { object: { ...raw, spec: { ...spec, jiraLinks } }, changed: true };
}

/**
 * Sets (intent) or removes (undefined) the path's in-flight annotation on a copy of the raw object
 * (copy on write, as withJiraLink: the object, metadata and annotations; `raw` itself when unchanged).
 */
export function withInFlight(
  raw: RawObject,
  ref: WorkflowRef,
  path: string,
  intent: PublishIntent | undefined,
): { object: RawObject; changed: boolean } {
  const metadata = isRecord(raw.metadata) ? raw.metadata : {};
  const key = inFlightKey(ref, path);
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : undefined;
  let next: Record<string, unknown>;
  if (intent === undefined) {
    if (annotations === undefined || !(key in annotations)) return { object: raw, changed: false };
    next = { ...annotations };
    delete next[key];
  } else {
    const value = JSON.stringify(intent);
    if (annotations?.[key] === value) return { object: raw, changed: false };
    next = { ...annotations, [key]: value };
  }
  return { object: { ...raw, metadata: { ...metadata, annotations: next } }, changed: true };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
