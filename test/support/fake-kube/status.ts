/** Kubernetes `Status` objects, shaped exactly as the API server returns them (metav1.Status). */

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message: string; field?: string }[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** Thrown inside the fake's handlers; the HTTP layer turns it into the response. */
export class StatusError extends Error {
  readonly status: KubeStatus;
  constructor(status: KubeStatus) {
    super(status.message ?? status.reason ?? String(status.code));
    this.status = status;
  }
}

export interface ResourceName {
  group: string;
  plural: string;
}

/** `rfeworkflows.vteam.ambient-code` for a group, plain `secrets` for the core group. */
export function qualifiedResource(resource: ResourceName): string {
  return resource.group === '' ? resource.plural : `${resource.plural}.${resource.group}`;
}

function failure(code: number, reason: string, message: string, details?: KubeStatus['details']): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

function nameDetails(resource: ResourceName, name: string): KubeStatus['details'] {
  return resource.group === '' ? { name, kind: resource.plural } : { name, group: resource.group, kind: resource.plural };
}

export const statuses = {
  notFound: (resource: ResourceName, name: string) =>
    failure(404, 'NotFound', `${qualifiedResource(resource)} "${name}" not found`, nameDetails(resource, name)),
  /** The API server's answer for an unknown path or a resource that is not served (e.g. CRD not installed). */
  pathNotFound: () => failure(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (resource: ResourceName, name: string) =>
    failure(409, 'AlreadyExists', `${qualifiedResource(resource)} "${name}" already exists`, nameDetails(resource, name)),
  conflict: (resource: ResourceName, name: string) =>
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      nameDetails(resource, name),
    ),
  preconditionConflict: (resource: ResourceName, name: string, expected: string, actual: string) =>
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(resource)} "${name}": the ResourceVersion in the precondition (${expected}) does not match the ResourceVersion in record (${actual}). The object might have been modified`,
      nameDetails(resource, name),
    ),
  invalid: (kind: string, resource: ResourceName, name: string, field: string, message: string) =>
    failure(422, 'Invalid', `${kind}.${resource.group || 'core'} "${name}" is invalid: ${field}: ${message}`, {
      ...nameDetails(resource, name),
      kind,
      causes: [{ reason: 'FieldValueInvalid', message, field }],
    }),
  /** What a failed JSON-patch operation (including a failed `test`) produces. */
  patchRejected: (detail: string) =>
    failure(422, 'Invalid', 'the server rejected our request due to an error in our request', {
      causes: [{ reason: 'UnexpectedServerResponse', message: detail }],
    }),
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  unsupportedMediaType: (contentType: string) =>
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`,
    ),
  methodNotAllowed: () => failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
  unauthorized: () => failure(401, 'Unauthorized', 'Unauthorized'),
  /** Sent as a watch ERROR event when the requested resourceVersion has been compacted away. */
  expired: (requested: number, oldest: number) => failure(410, 'Expired', `too old resource version: ${requested} (${oldest})`),
  byCode: (code: number, message?: string): KubeStatus => {
    const reasons: Record<number, string> = {
      400: 'BadRequest',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'NotFound',
      409: 'Conflict',
      410: 'Gone',
      422: 'Invalid',
      429: 'TooManyRequests',
      500: 'InternalError',
      503: 'ServiceUnavailable',
      504: 'Timeout',
    };
    const reason = reasons[code] ?? 'Unknown';
    return failure(code, reason, message ?? `injected failure (${reason})`, code === 429 ? { retryAfterSeconds: 1 } : undefined);
  },
  success: (resource: ResourceName, name: string, uid: string): KubeStatus => ({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { ...nameDetails(resource, name), uid },
    code: 200,
  }),
};
