import type { SlackUserRef } from '../publishing/model.ts';
import type { AtlassianSite } from './results.ts';

/** What the gateway sends as the user: a bearer token and, in classic 3LO mode, the site's cloud id. */
export interface AtlassianCredential {
  accessToken: string;
  /**
   * Sent as `X-Atlassian-Cloud-Id` when no site-specific id was chosen (links stored before sites
   * were resolved per publish, and tests of the self-hosted server without a site lookup).
   */
  cloudId?: string | undefined;
  /** The sites the user's link is known to reach (classic mode picks the cloud id from these). */
  sites?: readonly AtlassianSite[] | undefined;
}

/**
 * Where the gateway gets a user's Atlassian credential. The gateway never stores tokens itself;
 * it asks for the current one before every publish.
 */
export interface AtlassianCredentials {
  /** The user's current credential; undefined when the user never linked an account. */
  current(user: SlackUserRef): Promise<AtlassianCredential | undefined>;
  /**
   * Called once when the MCP server rejected `rejectedAccessToken` (HTTP 401 or a tool-level
   * authentication failure). Return a fresh credential (e.g. after a refresh) to retry the call
   * once, or undefined when the user must reconnect.
   */
  afterRejection?(user: SlackUserRef, rejectedAccessToken: string): Promise<AtlassianCredential | undefined>;
  /** Keep a freshly read site list with the user's link (best effort). */
  rememberSites?(user: SlackUserRef, sites: AtlassianSite[]): Promise<void>;
}
