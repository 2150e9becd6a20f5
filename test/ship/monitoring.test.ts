/**
 * deploy/components/monitoring: it renders (alone and on the base, like `kubectl kustomize`), its
 * PodMonitor scrapes the bot's pods where /metrics is served, every alert says what to do, and every
 * metric its alerts and dashboard query is one the app exports, with labels it has.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricsRoute } from '../../src/http/metrics-route.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import {
  describe as describeObject,
  isRecord,
  podContainers,
  realKustomize,
  renderComponent,
  renderKustomization,
  type KubeObject,
} from './kustomize.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const COMPONENT = join(ROOT, 'deploy/components/monitoring');
const NAMESPACE = 'vteam-slack';

type Rec = Record<string, unknown>;
const rec = (value: unknown): Rec => (isRecord(value) ? value : {});
const recs = (value: unknown): Rec[] => (Array.isArray(value) ? value.filter(isRecord) : []);

/** The component in an overlay on deploy/base, as a site would add it (rendered by `render`). */
function withOverlay<T>(render: (directory: string) => T): T {
  const scratch = mkdtempSync(join(tmpdir(), 'vteam-slack-monitoring-'));
  try {
    writeFileSync(
      join(scratch, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        `namespace: ${NAMESPACE}`,
        'resources:',
        `  - ${relative(scratch, join(ROOT, 'deploy/base'))}`,
        'components:',
        `  - ${relative(scratch, COMPONENT)}`,
        '',
      ].join('\n'),
    );
    return render(scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const alone = renderComponent(COMPONENT);
const objects = withOverlay(renderKustomization);

function find(kind: string, name: string): KubeObject {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`${kind} ${name} is not rendered`);
  return object;
}

const podMonitor = find('PodMonitor', 'vteam-slack');
const rule = find('PrometheusRule', 'vteam-slack');
const dashboardMap = find('ConfigMap', 'vteam-slack-dashboard');
const alerts = recs(rec(rule.spec).groups).flatMap((group) => recs(group.rules));
const dashboardFiles = Object.entries(rec(dashboardMap.data));
const dashboard = rec(JSON.parse(String(dashboardFiles[0]?.[1] ?? '{}')));

/** Every panel, rows' nested panels included. */
function panelsOf(value: unknown): Rec[] {
  return recs(value).flatMap((panel) => [panel, ...panelsOf(panel.panels)]);
}
const panels = panelsOf(dashboard.panels).filter((p) => p.type !== 'row');

/** Every PromQL expression of the kit, with where it comes from. */
const queries: { where: string; expr: string }[] = [
  ...alerts.map((a) => ({ where: `alert ${String(a.alert)}`, expr: String(a.expr) })),
  ...panels.flatMap((p) => recs(p.targets).map((t) => ({ where: `panel "${String(p.title)}"`, expr: String(t.expr) }))),
  ...recs(rec(dashboard.templating).list)
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `variable ${String(v.name)}`, expr: labelValuesSelector(String(rec(v.query).query ?? v.query)) })),
];

describe('deploy/components/monitoring', () => {
  it('renders alone and in an overlay on the base as kubectl kustomize does, where kubectl is installed', (context) => {
    expect(alone.map(describeObject).sort()).toEqual([
      'ConfigMap vteam-slack-dashboard',
      'PodMonitor vteam-slack',
      'PrometheusRule vteam-slack',
    ]);
    const real = realKustomize(COMPONENT);
    const realOverlay = withOverlay(realKustomize);
    if (!real || !realOverlay) {
      context.skip('neither kubectl nor kustomize is installed');
      return;
    }
    expect(real.map(describeObject).sort()).toEqual(alone.map(describeObject).sort());
    for (const object of real) expect(alone.find((o) => describeObject(o) === describeObject(object))).toEqual(object);
    expect(realOverlay.map(describeObject).sort()).toEqual(objects.map(describeObject).sort());
    for (const object of realOverlay) expect(objects.find((o) => describeObject(o) === describeObject(object))).toEqual(object);
  });

  it("puts its objects in the overlay's namespace", () => {
    for (const object of [podMonitor, rule, dashboardMap]) expect(object.metadata.namespace, describeObject(object)).toBe(NAMESPACE);
  });

  it("scrapes the bot's pods, and only them, on the port and path where the app serves /metrics", () => {
    const deployment = find('Deployment', 'vteam-slack');
    const podLabels = rec(rec(rec(rec(deployment.spec).template).metadata).labels);
    const selector = rec(rec(podMonitor.spec).selector).matchLabels;
    expect(Object.keys(rec(selector)).length).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(rec(selector))) expect(podLabels[key], key).toBe(value);
    // The bundled Redis (components/redis) shares the name label but not the component.
    expect(rec(selector)['app.kubernetes.io/component']).toBe('bot');

    const endpoints = recs(rec(podMonitor.spec).podMetricsEndpoints);
    expect(endpoints).toHaveLength(1);
    const ports = podContainers(deployment).flatMap((c) => recs(c.ports));
    expect(ports.map((p) => p.name)).toContain(endpoints[0]!.port);
    expect(endpoints[0]!.path).toBe(metricsRoute(createMetrics().registry).path);
  });

  it('has the alerts the runbook describes, each with a severity, a summary and what to do', () => {
    const names = alerts.map((a) => String(a.alert));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        'VteamSlackMcpUnreachable',
        'VteamSlackMcpCircuitOpen',
        'VteamSlackPublishesFailing',
        'VteamSlackRateBudgetNearlySpent',
        'VteamSlackNoCardLeader',
        'VteamSlackTokenRefreshesFailing',
        'VteamSlackKubernetesUnreachable',
      ]),
    );
    for (const alert of alerts) {
      const what = String(alert.alert);
      expect(alert.expr, what).toEqual(expect.any(String));
      expect(rec(alert.labels).severity, what).toMatch(/^(critical|warning|info)$/);
      expect(String(rec(alert.annotations).summary ?? ''), what).not.toBe('');
      expect(String(rec(alert.annotations).description ?? '').length, what).toBeGreaterThan(80);
      if (alert.for !== undefined) expect(alert.for, what).toMatch(/^\d+[smh]$/);
    }
  });

  it('ships a Grafana dashboard for the sidecar, every panel querying Prometheus', () => {
    expect(dashboardMap.metadata.labels?.grafana_dashboard).toBe('1');
    expect(dashboardFiles.map(([key]) => key)).toEqual(['vteam-slack.json']);
    expect(dashboard.uid).toBe('vteam-slack');
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      expect(recs(panel.targets).length, String(panel.title)).toBeGreaterThan(0);
      expect(rec(panel.datasource).uid, String(panel.title)).toBe('${datasource}');
    }
    const titles = panels.map((p) => String(p.title));
    for (const needed of [
      'Publishes by outcome',
      'Publish duration',
      'Acknowledgement latency (p99)',
      'MCP calls by status',
      'Memory',
      'CPU',
      'Event loop lag',
    ])
      expect(titles).toContain(needed);
  });

  it('queries only metrics the app exports, with labels they have', async () => {
    const exported = await exportedSeries();
    const problems: string[] = [];
    for (const { where, expr } of queries) {
      for (const { metric, labels } of selectorsOf(expr)) {
        const series = exported.get(metric);
        if (!series) {
          problems.push(`${where}: ${metric} is not exported by the app`);
          continue;
        }
        for (const label of labels) {
          if (!series.labels.has(label) && !TARGET_LABELS.has(label)) problems.push(`${where}: ${metric} has no label ${label}`);
        }
      }
    }
    expect(problems).toEqual([]);
    // Not vacuous: the app's own metrics and Node's standard ones are both found in the queries.
    const named = new Set(queries.flatMap(({ expr }) => selectorsOf(expr).map((s) => s.metric)));
    for (const metric of [
      'vteam_slack_mcp_calls_total',
      'vteam_slack_cards_leader',
      'vteam_slack_ack_duration_seconds_bucket',
      'process_cpu_seconds_total',
    ])
      expect(named).toContain(metric);
  });

  it('finds the metric names in PromQL, and tells a misspelt one', async () => {
    expect(
      selectorsOf(
        'histogram_quantile(0.99, sum by (le, kind) (rate(vteam_slack_ack_duration_seconds_bucket{namespace="$namespace", kind!="x"}[$__rate_interval]))) > 2 and on (namespace) absent(up) or vector(1e3)',
      ),
    ).toEqual([
      { metric: 'vteam_slack_ack_duration_seconds_bucket', labels: ['namespace', 'kind'] },
      { metric: 'up', labels: [] },
    ]);
    const exported = await exportedSeries();
    expect(selectorsOf('rate(vteam_slak_publishes_total[5m])').filter((s) => !exported.has(s.metric))).toEqual([
      { metric: 'vteam_slak_publishes_total', labels: [] },
    ]);
  });
});

/** Labels Prometheus adds to every series it scrapes through a PodMonitor. */
const TARGET_LABELS = new Set(['namespace', 'pod', 'container', 'endpoint', 'job', 'instance']);
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The series the app's registry exposes (a histogram as _bucket, _sum and _count; a counter under its
 * _total name), each with its label names.
 */
async function exportedSeries(): Promise<Map<string, { labels: Set<string> }>> {
  const { registry } = createMetrics();
  const series = new Map<string, { labels: Set<string> }>();
  for (const { name, type } of await registry.getMetricsAsJSON()) {
    const metric = registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined;
    const labels = new Set(metric?.labelNames ?? []);
    if (String(type) === 'histogram') {
      series.set(`${name}_bucket`, { labels: new Set([...labels, 'le']) });
      series.set(`${name}_sum`, { labels });
      series.set(`${name}_count`, { labels });
    } else if (String(type) === 'summary') {
      series.set(name, { labels: new Set([...labels, 'quantile']) });
      series.set(`${name}_sum`, { labels });
      series.set(`${name}_count`, { labels });
    } else {
      series.set(name, { labels });
    }
  }
  return series;
}

/** The metric selectors of a PromQL expression: metric names with the label names their matchers use. */
function selectorsOf(expr: string): { metric: string; labels: string[] }[] {
  const found: { metric: string; labels: string[] }[] = [];
  // Label matchers first (their values may contain anything), replaced by a marker the names keep.
  const matchers: string[][] = [];
  let text = expr.replace(/\{([^}]*)\}/g, (_whole, inside: string) => {
    matchers.push([...inside.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g)].map((m) => m[1]!));
    return ` @${matchers.length - 1}`;
  });
  text = text
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ') // strings
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery durations
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping labels
    .replace(/\$\{?\w+\}?/g, ' '); // Grafana variables
  for (const match of text.matchAll(/(?<![\w.$@:])([a-zA-Z_:][\w:]*)(?![\w:])(\s*@(\d+))?(?!\s*[(@])/g)) {
    const name = match[1]!;
    if (KEYWORDS.has(name.toLowerCase())) continue;
    found.push({ metric: name, labels: match[3] === undefined ? [] : matchers[Number(match[3])]! });
  }
  return found;
}

/** `label_values(selector, label)` (a Grafana variable) → its selector, the part that names a metric. */
function labelValuesSelector(query: string): string {
  const match = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(query);
  return match ? match[1]! : query;
}
