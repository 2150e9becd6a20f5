/**
 * Pure mapping between RFEWorkflow custom resources and the domain `Workflow`, plus the jiraLinks upsert
 * applied to the raw object. Objects come from a cluster that may hold any schema revision (or hand
 * edits), so every field is validated on its own and bad values are dropped rather than failing the read.
 */
import { z } from 'zod';
import type { JiraLink, RepoRef, Workflow } from '../publishing/model.ts';

const nonEmpty = z.string().trim().min(1);
const optionalText = nonEmpty.optional().catch(undefined);

const repoSchema = z.object({ url: nonEmpty, branch: nonEmpty.optional().catch(undefined) }).transform((r): RepoRef => ({ url: r.url, branch: r.branch ?? 'main' }));
const linkSchema = z.object({ path: nonEmpty, jiraKey: nonEmpty }).transform((l): JiraLink => ({ path: l.path, jiraKey: l.jiraKey }));

const metadataSchema = z.object({
  name: nonEmpty,
  namespace: nonEmpty,
  resourceVersion: z.string().catch(''),
});

const specSchema = z.object({
  title: optionalText,
  description: z.string().optional().catch(undefined),
  branchName: optionalText,
  umbrellaRepo: repoSchema.optional().catch(undefined),
  // Before the 2025-10-03 schema (#139) the repos were a list; the first one played the umbrella role.
  repositories: z.array(z.unknown()).optional().catch(undefined),
  parentOutcome: optionalText,
  jiraLinks: z.array(z.unknown()).optional().catch(undefined),
}).catch({});

export type RawObject = Record<string, unknown>;

/** Maps one RFEWorkflow object; undefined when it lacks a usable name/namespace. */
export function toWorkflow(raw: unknown): Workflow | undefined {
  if (!isRecord(raw)) return undefined;
  const metadata = metadataSchema.safeParse(raw.metadata);
  if (!metadata.success) return undefined;
  const spec = specSchema.parse(raw.spec ?? {});
  const umbrellaRepo = spec.umbrellaRepo ?? legacyUmbrellaRepo(spec.repositories);
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
    resourceVersion: metadata.data.resourceVersion,
  };
}

function legacyUmbrellaRepo(repositories: unknown[] | undefined): RepoRef | undefined {
  const first = repositories?.[0];
  const parsed = repoSchema.safeParse(first);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Upserts {path, jiraKey} by exact path into spec.jiraLinks of a copy of the raw object, keeping every
 * other field and entry as it was (including fields of entries this code does not know). `changed` is
 * false when the link is already there, so no write is needed.
 */
export function withJiraLink(raw: RawObject, link: JiraLink): { object: RawObject; changed: boolean } {
  const object = structuredClone(raw);
  const spec = isRecord(object.spec) ? object.spec : (object.spec = {});
  const links = Array.isArray(spec.jiraLinks) ? spec.jiraLinks : (spec.jiraLinks = []);
  let found = false;
  let changed = false;
  for (const entry of links) {
    if (isRecord(entry) && entry.path === link.path) {
      found = true;
      if (entry.jiraKey !== link.jiraKey) {
        entry.jiraKey = link.jiraKey;
        changed = true;
      }
    }
  }
  if (!found) {
    links.push({ path: link.path, jiraKey: link.jiraKey });
    changed = true;
  }
  return { object, changed };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
