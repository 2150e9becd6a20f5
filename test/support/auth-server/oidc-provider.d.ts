/**
 * The slice of `oidc-provider` (v9, shipped without types) that the test authorization server uses.
 * Kept narrow on purpose: anything not declared here is not relied upon.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface InteractionDetails {
    uid: string;
    prompt: {
      name: string;
      details: Record<string, unknown> & {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
    };
    params: Record<string, unknown> & { client_id: string; scope?: string; resource?: string | string[] };
    session?: { accountId?: string };
    grantId?: string;
  }

  export interface GrantInstance {
    accountId: string;
    clientId: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
    destroy(): Promise<void>;
  }

  export interface TokenInstance {
    accountId?: string;
    clientId?: string;
    aud?: string | string[];
    scope?: string;
    grantId?: string;
    isExpired: boolean;
    isValid: boolean;
    consumed?: number;
  }

  export interface ModelAdapter {
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface OidcContext {
    oidc?: {
      params?: Record<string, unknown>;
      client?: { clientId: string };
      entities?: Record<string, unknown>;
    };
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    on(event: string, listener: (ctx: OidcContext, ...rest: unknown[]) => void): this;
    readonly Grant: {
      new (properties: { accountId: string; clientId: string }): GrantInstance;
      find(id: string): Promise<GrantInstance | undefined>;
    };
    readonly AccessToken: { find(value: string): Promise<TokenInstance | undefined>; revokeByGrantId(grantId: string): Promise<void> };
    readonly RefreshToken: { find(value: string): Promise<TokenInstance | undefined> };
    readonly Client: { adapter: ModelAdapter; find(id: string): Promise<{ clientId: string } | undefined> };
  }

  export default Provider;
  export const errors: { InvalidTarget: new (description?: string) => Error };
}
