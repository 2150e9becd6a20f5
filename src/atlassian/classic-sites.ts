/**
 * The cloud id a classic 3LO token is sent with (`X-Atlassian-Cloud-Id`, self-hosted mcp-atlassian),
 * chosen per publish from the project's Jira site — never "the first site the user granted".
 *
 * The sites come from the user's stored link, else from accessible-resources on Atlassian's API
 * gateway. A lookup that failed when the user linked is simply tried again here, so a passing
 * outage never leaves the user in a reconnect loop; a site the account has really not granted is
 * said as such. Server/DC sites (not on an Atlassian Cloud domain) need no cloud id: the self-hosted
 * server sends the Bearer token to its own JIRA_URL.
 */
import type { Logger } from 'pino';
import { errors } from '../errors.ts';
import type { SlackUserRef } from '../publishing/model.ts';
import type { AtlassianCredential } from './credentials.ts';
import { RecoverableFailure } from './failures.ts';
import { findSite, hostOf } from './results.ts';
import type { AtlassianSite } from './results.ts';
import { SiteLookupError } from './site-lookup.ts';
import type { SiteLookup } from './site-lookup.ts';

export interface ClassicSitesOptions {
  lookup: SiteLookup;
  /** Persist a fresh site list with the user's link (best effort). */
  remember?: (user: SlackUserRef, sites: AtlassianSite[]) => Promise<void>;
  /** A user's list read less than this long ago is not read again for a site it lacks. Default 60 s. */
  rereadAfterMs?: number;
  logger?: Logger | undefined;
  now?: () => number;
}

export interface ClassicSites {
  /**
   * The cloud id for `siteUrl`; undefined for a Server/DC site. Throws SITE_NOT_GRANTED when the
   * token reaches no such Cloud site, MCP_UNREACHABLE when the list cannot be read now, and a
   * RecoverableFailure('auth') when Atlassian refused the token (the gateway refreshes once).
   */
  cloudIdFor(user: SlackUserRef, key: string, credential: AtlassianCredential, siteUrl: string): Promise<string | undefined>;
}

/** Atlassian Cloud sites live on these domains; anything else is a Server/DC base URL. */
const CLOUD_DOMAINS = ['atlassian.net', 'jira.com', 'jira-dev.com'];

export function isAtlassianCloudSite(siteUrl: string): boolean {
  const host = hostOf(siteUrl)?.replace(/:\d+$/, '');
  return host !== undefined && CLOUD_DOMAINS.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

export function createClassicSites(options: ClassicSitesOptions): ClassicSites {
  const now = options.now ?? Date.now;
  const rereadAfterMs = options.rereadAfterMs ?? 60_000;
  const readAt = new Map<string, { sites: AtlassianSite[]; at: number }>();

  async function read(user: SlackUserRef, key: string, credential: AtlassianCredential): Promise<AtlassianSite[]> {
    let sites: AtlassianSite[];
    try {
      ({ sites } = await options.lookup(credential.accessToken));
    } catch (error) {
      if (error instanceof SiteLookupError && error.tokenRefused) throw new RecoverableFailure('auth', error);
      options.logger?.warn(
        { session: key, reason: error instanceof Error ? error.message : String(error) },
        'Could not read the Atlassian sites of a classic token',
      );
      throw errors.siteLookupFailed(error);
    }
    readAt.set(key, { sites, at: now() });
    await options.remember?.(user, sites).catch((error: unknown) => {
      options.logger?.warn(
        { session: key, reason: error instanceof Error ? error.message : String(error) },
        'Could not store the Atlassian sites with the link',
      );
    });
    return sites;
  }

  return {
    async cloudIdFor(user, key, credential, siteUrl) {
      const cached = readAt.get(key);
      const known = cached?.sites ?? credential.sites;
      const match = known === undefined ? undefined : findSite(known, siteUrl);
      if (match !== undefined) return match.id;
      if (!isAtlassianCloudSite(siteUrl)) return undefined;
      // A list read a moment ago is trusted: the user cannot have granted the site since.
      if (cached !== undefined && now() - cached.at < rereadAfterMs) throw errors.siteNotGranted(siteUrl);
      const fresh = findSite(await read(user, key, credential), siteUrl);
      if (fresh === undefined) throw errors.siteNotGranted(siteUrl);
      return fresh.id;
    },
  };
}
