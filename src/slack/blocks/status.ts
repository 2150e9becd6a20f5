/**
 * The `/vteam jira-status` reply: one compact section per area, each led by ✅ / ⚠️ / ❌ and the
 * numbers that matter (round trips, budget, expiry). Pure; built from a StatusReport, which holds no
 * token, so the reply cannot show one.
 */
import type { KnownBlock } from '@slack/types';
import type { JiraLimitsStatus } from '../../atlassian/limits.ts';
import type { PublishFailure } from '../../status/failure-log.ts';
import type { ProbeResult } from '../../status/probe.ts';
import type { ChannelProblem } from '../../storage/channel-problems.ts';
import type {
  KubernetesStatus,
  LimitsStatus,
  LinkStatus,
  McpStatus,
  ProjectProblem,
  StatusReport,
  StoreStatus,
} from '../../status/report.ts';
import { clip, code, escapeMrkdwn, mrkdwnSection } from './text.ts';

export type Verdict = 'ok' | 'warn' | 'fail' | 'none';

const ICON: Record<Verdict, string> = { ok: ':white_check_mark:', warn: ':warning:', fail: ':x:', none: ':heavy_minus_sign:' };
const MAX_LIST = 8;

interface Line {
  verdict: Verdict;
  /** mrkdwn after the title. */
  text: string;
}

export function jiraStatusMessage(report: StatusReport): { text: string; blocks: KnownBlock[] } {
  const areas: [string, Line][] = [
    ['Atlassian MCP server', probeLine(report, report.mcp, mcpLine)],
    ['Your Atlassian account', probeLine(report, report.link, (link) => linkLine(link, report.generatedAt))],
    ['Jira rate budget', probeLine(report, report.limits, (limits) => limitsLine(limits, report.generatedAt))],
    ['Kubernetes', probeLine(report, report.kubernetes, kubernetesLine)],
    ['Store', probeLine(report, report.store, storeLine)],
    ['Recent publish failures', probeLine(report, report.failures, (failures) => failuresLine(failures, report.generatedAt))],
  ];
  if (report.admin !== undefined) {
    areas.push(
      ['Project configuration', probeLine(report, report.admin.projects, projectsLine)],
      ['Channels', probeLine(report, report.admin.channels, channelsLine)],
    );
  }

  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Jira integration status* ${ICON[overall(areas.map(([, line]) => line.verdict))]}` },
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `Checked ${slackDate(report.generatedAt)} · each check gets ${seconds(report.timeoutMs)}${report.admin ? ' · administrator view' : ''}`,
        },
      ],
    },
  ];
  areas.forEach(([title, line], index) => {
    if (report.admin !== undefined && index === areas.length - 2) blocks.push({ type: 'divider' });
    blocks.push(mrkdwnSection(`${ICON[line.verdict]} *${title}*  ${line.text}`));
  });

  const summary = areas
    .map(
      ([title, line]) =>
        `${title}: ${line.verdict === 'ok' ? 'ok' : line.verdict === 'none' ? 'n/a' : line.verdict === 'warn' ? 'warning' : 'failing'}`,
    )
    .join('; ');
  return { text: `Jira integration status: ${summary}`, blocks };
}

function probeLine<T>(report: StatusReport, result: ProbeResult<T>, describe: (value: T) => Line): Line {
  if (result.state === 'timed-out') return { verdict: 'warn', text: `timed out: no answer within ${seconds(report.timeoutMs)}` };
  if (result.state === 'failed') return { verdict: 'fail', text: `check failed: ${escapeMrkdwn(clip(result.reason, 300))}` };
  return describe(result.value);
}

export function mcpLine(mcp: McpStatus): Line {
  const where = lit(hostOf(mcp.url));
  const rtt = mcp.rttMs === undefined ? '' : ` · ${mcp.rttMs} ms`;
  if (mcp.mode === 'unauthenticated') {
    const status = mcp.httpStatus ?? 0;
    const because = mcp.note ? ` · tools not checked: ${escapeMrkdwn(clip(mcp.note, 300))}` : '';
    if (status >= 500) return { verdict: 'fail', text: `${where} answers HTTP ${status}${rtt}` };
    if (status === 401 || status === 403 || (status >= 200 && status < 300)) {
      return {
        verdict: 'ok',
        text: `${where} reachable${rtt}${mcp.authChallenge ? ' (asks for OAuth sign-in, as it should)' : ` (HTTP ${status})`}${because}`,
      };
    }
    return { verdict: 'warn', text: `${where} answers HTTP ${status}${rtt}: check \`ATLASSIAN_MCP_URL\`${because}` };
  }
  if (mcp.gatewayRefusal !== undefined) {
    const gateway = mcp.gateway ?? 'The gateway';
    return {
      verdict: 'fail',
      text: `${where} reachable, but ${escapeMrkdwn(gateway)} refused the bot's token for you (HTTP ${mcp.httpStatus ?? 401}: ${lit(clip(mcp.gatewayRefusal, 200))}): ${gatewayAdvice(mcp.httpStatus, mcp.gatewayRefusal)}`,
    };
  }
  if (mcp.tokenRejected) {
    return {
      verdict: 'warn',
      text: `${where} reachable, but it refused your Atlassian token (HTTP ${mcp.httpStatus ?? 401}): run \`/vteam connect\``,
    };
  }
  const facts = [
    `${where} reachable${rtt}`,
    mcp.protocolVersion ? `protocol ${lit(mcp.protocolVersion)}` : undefined,
    mcp.dialect
      ? (mcp.dialect === 'rovo' ? 'Rovo tools' : 'self-hosted tools') + (mcp.toolCount === undefined ? '' : ` (${mcp.toolCount})`)
      : undefined,
    mcp.server ? `server ${lit(clip(`${mcp.server.name} ${mcp.server.version}`, 60))}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  if (mcp.createTool === undefined)
    return {
      verdict: 'warn',
      text: `${facts}\nOffers *no issue-create tool* to your account: publishing cannot work until an Atlassian admin enables Jira for the MCP server.`,
    };
  return { verdict: 'ok', text: `${facts} · can create issues (${lit(clip(mcp.createTool, 60))})` };
}

/** What an admin changes when MCP Context Forge refuses the bot's token (reference Part D's answers). */
function gatewayAdvice(status: number | undefined, detail: string): string {
  if (/user not found/i.test(detail))
    return 'an MCF admin must create an MCF user with your Slack email (see `CONTEXTFORGE_USER_TEMPLATE`)';
  if (/member of the associated team/i.test(detail))
    return "an MCF admin must add you to the team in `CONTEXTFORGE_TEAM_ID`, or the bot's admin must correct that id";
  if (status === 404) return 'check the server id in `ATLASSIAN_MCP_URL` against the virtual servers in MCF';
  if (status === 403) return 'the token is limited to another server: check the server id in `ATLASSIAN_MCP_URL`';
  return "an admin must set `CONTEXTFORGE_JWT_SECRET`, `CONTEXTFORGE_JWT_ISSUER` and `CONTEXTFORGE_JWT_AUDIENCE` to MCF's `JWT_SECRET_KEY`, `JWT_ISSUER` and `JWT_AUDIENCE`";
}

export function linkLine(link: LinkStatus, now: number): Line {
  if (link.heldBy !== undefined) return gatewayLinkLine(link);
  if (link.state === 'missing') return { verdict: 'warn', text: 'not connected: run `/vteam connect` to publish as yourself' };
  const who = link.accountName ? `${escapeMrkdwn(clip(link.accountName, 60))} · ` : '';
  const sites =
    link.sites.length === 0
      ? 'not read yet (read again at your next publish)'
      : link.sites
          .slice(0, 3)
          .map((s) => `${escapeMrkdwn(clip(s.name, 40))} (${lit(hostOf(s.url))})`)
          .join(', ') + (link.sites.length > 3 ? ` and ${link.sites.length - 3} more` : '');
  const since = link.linkedAt === undefined ? '' : ` · linked ${slackDate(link.linkedAt)}`;
  if (link.state === 'broken')
    return {
      verdict: 'fail',
      text: `${who}${sites}${since}\nThe link is *broken* (Atlassian refused to renew it): run \`/vteam connect\` to reconnect.`,
    };
  let expiry = '';
  let verdict: Verdict = 'ok';
  if (link.expiresAt !== undefined) {
    if (link.expiresAt > now)
      expiry = ` · token expires ${relative(link.expiresAt - now)}${link.refreshable ? ', renewed automatically' : ''}`;
    else if (link.refreshable) expiry = ' · token expired, renewed at the next publish';
    else {
      expiry = ' · token expired and cannot be renewed: run `/vteam connect`';
      verdict = 'warn';
    }
  }
  const scope = link.scope ? ` · scopes ${lit(clip(link.scope, 120))}` : '';
  return { verdict, text: `${who}${sites}${since}${expiry}${scope}` };
}

/** Behind MCP Context Forge there is no token here to describe: only whether the gateway lets the caller through. */
function gatewayLinkLine(link: LinkStatus): Line {
  const gateway = escapeMrkdwn(link.heldBy ?? 'the gateway');
  if (link.state === 'missing')
    return { verdict: 'warn', text: `not authorized in ${gateway} yet: run \`/vteam connect\` to publish as yourself` };
  if (link.state === 'broken') return { verdict: 'fail', text: escapeMrkdwn(clip(link.refusal ?? `${gateway} refused you`, 400)) };
  const sites = link.sites
    .slice(0, 3)
    .map((s) => `${escapeMrkdwn(clip(s.name, 40))} (${lit(hostOf(s.url))})`)
    .join(', ');
  return { verdict: 'ok', text: `authorized in ${gateway}, which holds and renews your Atlassian token${sites ? ` · ${sites}` : ''}` };
}

export function limitsLine(limits: LimitsStatus, now: number): Line {
  if (limits.sites.length === 0) return { verdict: 'none', text: escapeMrkdwn(clip(limits.note ?? 'nothing to show', 300)) };
  const lines = limits.sites.map((site) => siteBudget(site, now));
  return { verdict: overall(lines.map((l) => l.verdict)), text: lines.map((l) => l.text).join('\n') };
}

function siteBudget(site: JiraLimitsStatus, now: number): Line {
  const left = Math.max(0, site.hourlyBudget - site.usedThisHour);
  const share = site.hourlyBudget > 0 ? site.usedThisHour / site.hourlyBudget : 1;
  const parts = [
    `${lit(hostOf(site.site))}: ${fmt(site.usedThisHour)} of ${fmt(site.hourlyBudget)} requests used this hour (${fmt(left)} left)`,
    `${site.inFlight}/${site.concurrency} in flight`,
    `${site.queued} queued`,
  ];
  let verdict: Verdict = 'ok';
  if (share >= 0.8 || site.queued > 0) verdict = 'warn';
  if (site.pausedUntil !== undefined && site.pausedUntil > now) {
    parts.push(`paused by Jira (429) until ${slackDate(site.pausedUntil)}`);
    verdict = 'warn';
  }
  if (site.circuit === 'half-open') {
    parts.push('MCP circuit half-open (testing the server)');
    verdict = 'warn';
  }
  if (site.circuit === 'open') {
    parts.push('*MCP circuit open*: calls are suspended after repeated failures');
    verdict = 'fail';
  }
  if (left === 0) verdict = 'fail';
  return { verdict, text: parts.join(' · ') };
}

export function kubernetesLine(kube: KubernetesStatus): Line {
  const problems: string[] = [];
  const unknown: string[] = [];
  if (kube.rfeWorkflowsServed === false) problems.push('the *RFEWorkflow CRD is not served*: install the vTeam CRDs');
  if (kube.rfeWorkflowsServed === undefined) unknown.push('whether RFEWorkflows are served');
  const permission = (allowed: boolean | undefined, what: string) => {
    if (allowed === false) problems.push(`the bot *may not ${what}*`);
    if (allowed === undefined) unknown.push(`whether it may ${what}`);
  };
  permission(kube.permissions.watchWorkflows, 'watch RFEWorkflows');
  permission(kube.permissions.updateWorkflows, 'update RFEWorkflows');
  permission(kube.permissions.patchProjectSettings, 'patch ProjectSettings');
  const head = `API reachable · ${kube.rttMs} ms`;
  if (problems.length > 0)
    return { verdict: 'fail', text: `${head}\n${problems.join('; ')} (check the ClusterRole bound to the bot's ServiceAccount)` };
  if (unknown.length > 0) return { verdict: 'warn', text: `${head} · could not check ${unknown.join(', ')}` };
  return { verdict: 'ok', text: `${head} · RFEWorkflows served · may watch and update RFEWorkflows and patch ProjectSettings` };
}

export function storeLine(store: StoreStatus): Line {
  return { verdict: 'ok', text: `reachable · ${store.rttMs} ms` };
}

/** Failures within the last day make this a warning; older ones are listed for context only. */
export function failuresLine(failures: PublishFailure[], now: number): Line {
  if (failures.length === 0) return { verdict: 'ok', text: 'none recorded' };
  const byCause = new Map<string, number>();
  for (const f of failures) byCause.set(f.code, (byCause.get(f.code) ?? 0) + 1);
  const causes = [...byCause]
    .sort((a, b) => b[1] - a[1])
    .map(([cause, n]) => `${lit(cause)} ×${n}`)
    .join(', ');
  const lines = failures.map((f) => {
    const where = [f.workflow ? lit(clip(f.workflow, 80)) : undefined, f.path ? lit(clip(f.path, 80)) : undefined]
      .filter(Boolean)
      .join(' ');
    return `• ${slackDate(f.at)} ${lit(f.code)}${where ? ` ${where}` : ''}: ${escapeMrkdwn(clip(f.message, 160))}`;
  });
  const recent = failures.some((f) => f.at > now - 24 * 3600 * 1000);
  return { verdict: recent ? 'warn' : 'ok', text: `last ${failures.length}: ${causes}\n${lines.join('\n')}` };
}

export function projectsLine(problems: ProjectProblem[]): Line {
  if (problems.length === 0) return { verdict: 'ok', text: 'every bound project has usable Jira settings' };
  const lines = problems.slice(0, MAX_LIST).map((p) => {
    const channels = p.channels.slice(0, 3).map(channelRef).join(' ');
    return `• ${lit(p.namespace)}${channels ? ` (${channels})` : ''}: ${escapeMrkdwn(clip(p.problem, 300))}`;
  });
  if (problems.length > MAX_LIST) lines.push(`…and ${problems.length - MAX_LIST} more`);
  return {
    verdict: 'warn',
    text: `${problems.length} bound project${problems.length === 1 ? '' : 's'} cannot publish:\n${lines.join('\n')}`,
  };
}

export function channelsLine(problems: ChannelProblem[]): Line {
  if (problems.length === 0) return { verdict: 'ok', text: 'the bot can post in every bound channel it tried' };
  const lines = problems.slice(0, MAX_LIST).map((p) => `• ${channelRef(p.channelId)}: ${lit(p.error)}${hint(p.error)}`);
  if (problems.length > MAX_LIST) lines.push(`…and ${problems.length - MAX_LIST} more`);
  return {
    verdict: 'warn',
    text: `the bot cannot post in ${problems.length} channel${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
  };
}

function hint(error: string): string {
  if (error === 'not_in_channel') return ' (invite the bot with `/invite`)';
  if (error === 'is_archived') return ' (archived: unarchive it or remove the binding)';
  if (error === 'channel_not_found') return ' (deleted or private: invite the bot or remove the binding)';
  return '';
}

/** `<#C123>` for well-formed ids only; anything else is shown as code. */
function channelRef(id: string): string {
  return /^[CGD][A-Z0-9]{2,20}$/.test(id) ? `<#${id}>` : lit(clip(id, 30));
}

/** Data shown as code (`code` escapes it: Slack still parses `<!channel>` and links inside backticks). */
const lit = code;

function overall(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('fail')) return 'fail';
  if (verdicts.includes('warn')) return 'warn';
  return 'ok';
}

function hostOf(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return clip(url, 60);
  }
}

/** Slack renders the date in the reader's time zone; the fallback is UTC ISO. */
export function slackDate(ms: number): string {
  const date = new Date(ms);
  // A record with a broken time would give `<!date^NaN…>`, which Slack shows raw.
  if (Number.isNaN(date.getTime())) return 'unknown time';
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${date.toISOString().replace(/\.\d{3}Z$/, 'Z')}>`;
}

function relative(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'in under a minute';
  if (minutes < 120) return `in ${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `in ${hours} h` : `in ${Math.round(hours / 24)} days`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
