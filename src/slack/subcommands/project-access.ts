/**
 * The one authorization gate for project administration from Slack: Slack user → profile email →
 * cluster identity → SubjectAccessReview on the project's `projectsettings`. Asked afresh on every
 * write; nothing a Slack payload claims is trusted.
 */
import type { IdentityMapper } from '../../identity/identity-mapper.ts';
import type { SlackUserRef } from '../../publishing/model.ts';
import type { ClusterIdentity } from '../../vteam/access-review.ts';
import type { ProjectAdmin } from '../../vteam/project-admin.ts';
import type { Refusal } from '../blocks/settings.ts';

export type ProjectAccess = { allowed: true; identity: ClusterIdentity } | { allowed: false; refusal: Refusal };

export async function checkProjectAccess(
  deps: { identities: IdentityMapper; admin: Pick<ProjectAdmin, 'mayEdit'> },
  user: SlackUserRef,
  project: string,
): Promise<ProjectAccess> {
  const mapped = await deps.identities.resolve(user);
  if (mapped.kind === 'no-email') return { allowed: false, refusal: { reason: 'no-email' } };
  if (mapped.kind === 'unmappable') return { allowed: false, refusal: { reason: 'unmappable', email: mapped.email } };
  return (await deps.admin.mayEdit(mapped.identity, project))
    ? { allowed: true, identity: mapped.identity }
    : { allowed: false, refusal: { reason: 'denied', clusterUser: mapped.identity.user } };
}
