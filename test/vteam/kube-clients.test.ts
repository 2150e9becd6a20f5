import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKubeClients } from '../../src/vteam/kube-clients.ts';
import { writeKubeconfig } from '../support/kubeconfig.ts';

let connections = 0;
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ major: '1', minor: '31', gitVersion: 'v1.31.0' }));
});
server.on('connection', () => {
  connections += 1;
});
let dir = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dir = await mkdtemp(join(tmpdir(), 'kube-clients-'));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

it('reuses one connection for many API calls instead of opening one per request', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kube = createKubeClients({ kubeconfigPath: await writeKubeconfig(dir, url, 'token') });
  for (let i = 0; i < 20; i++) await kube.ping();
  // undici may keep a second socket while the previous response is still being released; without
  // reuse this was one connection (and one TLS handshake, in-cluster) per call.
  expect(connections).toBeLessThanOrEqual(2);
});
