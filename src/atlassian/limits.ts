/** What the rate limiter and circuit breaker report about one Atlassian site (for jira-status). */
export interface JiraLimitsStatus {
  site: string;
  usedThisHour: number;
  hourlyBudget: number;
  inFlight: number;
  concurrency: number;
  queued: number;
  /** Epoch ms until which calls to this site wait because of a 429's Retry-After. */
  pausedUntil?: number | undefined;
  circuit: 'closed' | 'open' | 'half-open';
}

export interface JiraLimits {
  status(siteUrl: string): Promise<JiraLimitsStatus>;
}
