/**
 * The unavoidable part of a publish, measured directly against the same loopback servers the app
 * uses: one raw round trip of each external call a publish cannot do without.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Environment } from '../test/support/environment.ts';
import { PROJECT } from '../test/support/environment.ts';
import { median, round } from './stats.ts';
import type { BenchDocument, BenchUser } from './world.ts';

export interface ProbeResult {
  samples: number;
  /** Median ms of each raw round trip. */
  kubeGetWorkflowMs: number;
  githubReadDocumentMs: number;
  mcpRequestMs: number;
  kubePutWorkflowMs: number;
  slackPostMessageMs: number;
}

async function timed(samples: number, run: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return round(median(times), 2);
}

async function ok(response: Response): Promise<string> {
  const text = await response.text();
  if (!response.ok) throw new Error(`probe got HTTP ${response.status}: ${text.slice(0, 200)}`);
  return text;
}

/**
 * `probeWorkflow` must be a workflow no publish touches (its PUTs change its resourceVersion).
 * Run with the MCP latency already injected, so the MCP figure includes it.
 */
export async function measureRoundTrips(
  env: Environment,
  probeWorkflow: string,
  document: BenchDocument,
  user: BenchUser,
  samples = 15,
): Promise<ProbeResult> {
  const workflowUrl = `${env.kube.url}/apis/vteam.ambient-code/v1alpha1/namespaces/${PROJECT}/rfeworkflows/${probeWorkflow}`;
  const kubeHeaders = { authorization: `Bearer ${env.kube.token}`, accept: 'application/json' };
  const kubeGetWorkflowMs = await timed(samples, async () => {
    await ok(await fetch(workflowUrl, { headers: kubeHeaders }));
  });
  const kubePutWorkflowMs = await (async () => {
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const body = await ok(await fetch(workflowUrl, { headers: kubeHeaders }));
      const started = performance.now();
      await ok(await fetch(workflowUrl, { method: 'PUT', headers: { ...kubeHeaders, 'content-type': 'application/json' }, body }));
      times.push(performance.now() - started);
    }
    return round(median(times), 2);
  })();

  const githubUrl = `${env.github.apiUrl}/repos/org/spec-repo/contents/${document.path}?ref=${document.workflow.branch}`;
  const githubReadDocumentMs = await timed(samples, async () => {
    await ok(await fetch(githubUrl, { headers: { accept: 'application/vnd.github.raw', authorization: 'Bearer ghp-team-a' } }));
  });

  const slackPostMessageMs = await timed(samples, async () => {
    const body = new URLSearchParams({ channel: 'CPROBE', text: 'round-trip probe' });
    await ok(
      await fetch(`${env.slack.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { authorization: 'Bearer xoxb-test-token', 'content-type': 'application/x-www-form-urlencoded' },
        body,
      }),
    );
  });

  // One MCP request on an initialized session (the SDK server, the injected latency), as a publish's
  // createJiraIssue is in steady state; ping carries no Jira work, which the fake does in memory anyway.
  const transport = new StreamableHTTPClientTransport(new URL(env.mcp.url), {
    requestInit: { headers: { authorization: `Bearer ${user.token}` } },
  });
  const client = new Client({ name: 'vteam-slack-bench-probe', version: '1.0.0' });
  await client.connect(transport);
  let mcpRequestMs: number;
  try {
    mcpRequestMs = await timed(samples, async () => {
      await client.ping();
    });
  } finally {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  }
  return { samples, kubeGetWorkflowMs, githubReadDocumentMs, mcpRequestMs, kubePutWorkflowMs, slackPostMessageMs };
}
