/**
 * What a protected resource (the MCP server) says about itself, per RFC 9728, and the 401 challenge
 * that points clients at it: the two things Atlassian's MCP endpoint answers before any token exists.
 */

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  resource_name?: string;
}

/** `<origin>/.well-known/oauth-protected-resource<path>` for a resource URL (RFC 9728 §3.1). */
export function protectedResourceMetadataUrl(resourceUrl: string): string {
  const url = new URL(resourceUrl);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

export function protectedResourceMetadata(
  resourceUrl: string,
  authorizationServer: string,
  options: { scopesSupported?: string[]; resourceName?: string } = {},
): ProtectedResourceMetadata {
  return {
    resource: resourceUrl,
    authorization_servers: [authorizationServer],
    ...(options.scopesSupported ? { scopes_supported: options.scopesSupported } : {}),
    bearer_methods_supported: ['header'],
    ...(options.resourceName ? { resource_name: options.resourceName } : {}),
  };
}

/** The `WWW-Authenticate` value of a 401 from the resource, as Atlassian sends it. */
export function bearerChallenge(
  resourceUrl: string,
  options: { error?: 'invalid_token' | 'insufficient_scope'; metadataUrl?: string } = {},
): string {
  const metadata = options.metadataUrl ?? protectedResourceMetadataUrl(resourceUrl);
  return options.error === undefined
    ? `Bearer resource_metadata="${metadata}"`
    : `Bearer error="${options.error}", resource_metadata="${metadata}"`;
}
