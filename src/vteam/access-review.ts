/**
 * Asks the API server (SubjectAccessReview, authorization.k8s.io/v1) whether a cluster identity may
 * change a project's `projectsettings`: the same check kubectl would face, so cluster RBAC stays the
 * one place that decides who administers a project.
 */
import type { KubeClients } from './kube-clients.ts';
import { toKubeError } from './kube-errors.ts';
import { PROJECT_SETTINGS, PROJECT_SETTINGS_NAME, VTEAM_GROUP } from './resources.ts';

/**
 * The identity the API server is asked about: a user name and the groups it belongs to. Which Slack
 * user maps to which identity is decided above this adapter, in src/identity/.
 */
export interface ClusterIdentity {
  user: string;
  groups: string[];
}

export interface AccessReviewer {
  /** May `identity` patch the `projectsettings` singleton in `namespace`? */
  mayEditProjectSettings(identity: ClusterIdentity, namespace: string): Promise<boolean>;
}

type Clients = Pick<KubeClients, 'authorization' | 'callOptions'>;

export function createAccessReviewer(kube: Clients): AccessReviewer {
  const { authorization, callOptions } = kube;
  return {
    async mayEditProjectSettings(identity, namespace) {
      try {
        const review = await authorization.createSubjectAccessReview(
          {
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SubjectAccessReview',
              spec: {
                user: identity.user,
                groups: identity.groups,
                resourceAttributes: {
                  namespace,
                  verb: 'patch',
                  group: VTEAM_GROUP,
                  resource: PROJECT_SETTINGS,
                  name: PROJECT_SETTINGS_NAME,
                },
              },
            },
          },
          callOptions,
        );
        return review.status?.allowed === true && review.status.denied !== true;
      } catch (error) {
        throw toKubeError(error);
      }
    },
  };
}
