import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors } from '../../src/errors.ts';
import { createKubeClients } from '../../src/vteam/kube-clients.ts';
import {
  KubernetesNotConfiguredError,
  describeKubeFailure,
  kubeFailureFields,
  kubeFailureSummary,
  toKubeError,
} from '../../src/vteam/kube-errors.ts';
import { freePort } from '../support/app-process.ts';
import { writeKubeconfig } from '../support/kubeconfig.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-errors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('describeKubeFailure: host and cause, for a log line an operator can act on', () => {
  it('a dead API server: the real client error (undici hides ECONNREFUSED in err.cause)', async () => {
    const server = `https://127.0.0.1:${await freePort()}`;
    const kube = createKubeClients({ kubeconfigPath: await writeKubeconfig(dir, server, 'token') });
    expect(kube.server).toBe(server);
    const error = await kube.ping().catch((e: unknown) => e);
    const failure = describeKubeFailure(error, kube.server);
    expect(failure).toEqual({ kubernetes: server, cause: 'ECONNREFUSED', kind: 'unreachable' });
    expect(kubeFailureSummary(failure)).toBe(`Kubernetes API at ${server} unreachable (ECONNREFUSED)`);
    expect(kubeFailureFields(failure, error)).toEqual({ kubernetes: server, cause: 'ECONNREFUSED' }); // no err, no stack
    // Wrapped for the user (KUBERNETES_UNAVAILABLE), it still says the same.
    expect(describeKubeFailure(toKubeError(error), kube.server)).toEqual(failure);
  });

  it('a port fetch refuses to use (:1): the innermost message', async () => {
    const kube = createKubeClients({ kubeconfigPath: await writeKubeconfig(join(dir, 'bad-port'), 'https://127.0.0.1:1', 'token') });
    const error = await kube.ping().catch((e: unknown) => e);
    expect(describeKubeFailure(error, kube.server)).toEqual({ kubernetes: 'https://127.0.0.1:1', cause: 'bad port', kind: 'unreachable' });
  });

  it('answers, timeouts, no cluster, and the unexpected (which keeps its stack)', () => {
    const at = 'https://api.example:6443';
    expect(describeKubeFailure(new ApiException(403, 'Forbidden', {}, {}), at)).toEqual({
      kubernetes: at,
      cause: 'HTTP 403',
      kind: 'answered',
    });
    expect(kubeFailureSummary(describeKubeFailure(new ApiException(503, 'x', {}, {}), at))).toBe(
      `Kubernetes API at ${at} answered HTTP 503`,
    );
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(describeKubeFailure(timeout, at)).toMatchObject({ cause: 'timeout', kind: 'unreachable' });
    const dns = new TypeError('fetch failed', {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND api.example'), { code: 'ENOTFOUND' }),
    });
    expect(describeKubeFailure(errors.kubernetesUnavailable(dns), at)).toMatchObject({ cause: 'ENOTFOUND', kind: 'unreachable' });
    expect(describeKubeFailure(new KubernetesNotConfiguredError(), at)).toEqual({
      kubernetes: 'none',
      cause: 'not configured',
      kind: 'not-configured',
    });
    const bug = new Error('Cannot read properties of undefined (reading "spec")\n    at somewhere');
    const failure = describeKubeFailure(bug, at);
    expect(failure).toEqual({ kubernetes: at, cause: 'Cannot read properties of undefined (reading "spec")', kind: 'other' });
    expect(kubeFailureFields(failure, bug)).toMatchObject({ err: bug });
  });
});
