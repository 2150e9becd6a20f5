import { z } from 'zod';
import type { WorkflowRef } from '../publishing/model.ts';

export const ACTIONS = {
  publish: 'publish_to_jira',
  update: 'update_jira_issue',
  connect: 'connect_atlassian',
  disconnect: 'disconnect_atlassian',
} as const;

/**
 * What a document button carries. It is only a claim: handlers re-check it against the channel's
 * binding and the cluster, never trusting it for authorization.
 */
const documentValueSchema = z.object({
  v: z.literal(1),
  ns: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/),
  wf: z.string().regex(/^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/),
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
