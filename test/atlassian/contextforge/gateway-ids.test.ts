/**
 * Which MCF gateway users authorize at: CONTEXTFORGE_GATEWAY_ID until MCF names one, then MCF's
 * word, kept in the shared store so every replica's Connect flow uses it.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGatewayIds } from '../../../src/atlassian/contextforge/gateway-ids.ts';
import { createStore } from '../../../src/storage/store.ts';
import type { KeyValueStore } from '../../../src/storage/types.ts';

const KEY = 'contextforge:gateway-id';
const CONFIGURED = 'configured0000000000000000000001';
const NAMED = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

let store: KeyValueStore;
beforeEach(async () => {
  store = await createStore('sqlite::memory:');
});
afterEach(async () => {
  await store.close();
});

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

describe('the MCF gateway id', () => {
  it('is the configured one until MCF names one, and undefined when neither exists', async () => {
    expect(await createGatewayIds(store, CONFIGURED).current()).toBe(CONFIGURED);
    expect(await createGatewayIds(store, undefined).current()).toBeUndefined();
  });

  it("prefers MCF's word to the configuration, and keeps it in the shared store for the other replicas", async () => {
    const logs = captureLogs();
    const ids = createGatewayIds(store, CONFIGURED, logs.logger);
    ids.learn(NAMED);
    expect(await ids.current()).toBe(NAMED);
    await vi.waitFor(async () => expect(await store.get(KEY)).toBe(NAMED));
    // Another replica (or this one after a restart) reads it from the store.
    expect(await createGatewayIds(store, CONFIGURED).current()).toBe(NAMED);
    expect(logs.lines.filter((l) => l.level === 40).map((l) => [l.configured, l.named])).toEqual([[CONFIGURED, NAMED]]);
  });

  it('learns without a configured id, and does not warn when MCF names the configured one', async () => {
    const logs = captureLogs();
    createGatewayIds(store, undefined, logs.logger).learn(NAMED);
    await vi.waitFor(async () => expect(await store.get(KEY)).toBe(NAMED));
    expect(await createGatewayIds(store, undefined).current()).toBe(NAMED);
    createGatewayIds(store, NAMED, logs.logger).learn(NAMED);
    expect(logs.lines.filter((l) => l.level === 40)).toEqual([]);
  });

  it.each([[''], ['../x'], ['a b'], ['<script>'], ['x'.repeat(129)], ['abc/def'], ['id\n']])('ignores an invalid id (%j)', async (id) => {
    const ids = createGatewayIds(store, CONFIGURED);
    ids.learn(id);
    expect(await ids.current()).toBe(CONFIGURED);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.get(KEY)).toBeUndefined();
  });

  it('accepts an id of 128 letters, digits, - and _', async () => {
    const id = `A-z_9${'b'.repeat(123)}`;
    const ids = createGatewayIds(store, CONFIGURED);
    ids.learn(id);
    expect(await ids.current()).toBe(id);
  });

  it('ignores an invalid id found in the store', async () => {
    await store.set(KEY, '../../admin');
    expect(await createGatewayIds(store, CONFIGURED).current()).toBe(CONFIGURED);
    await store.set(KEY, { id: NAMED });
    expect(await createGatewayIds(store, undefined).current()).toBeUndefined();
  });

  it('forgets an id MCF no longer knows, here and in the store, and falls back to the configured one', async () => {
    const ids = createGatewayIds(store, CONFIGURED);
    ids.learn(NAMED);
    await vi.waitFor(async () => expect(await store.get(KEY)).toBe(NAMED));
    await ids.forget(NAMED);
    expect(await ids.current()).toBe(CONFIGURED);
    expect(await store.get(KEY)).toBeUndefined();
    expect(await createGatewayIds(store, undefined).current()).toBeUndefined();
  });

  it('keeps a newer id when asked to forget an older one', async () => {
    const ids = createGatewayIds(store, undefined);
    ids.learn(NAMED);
    await vi.waitFor(async () => expect(await store.get(KEY)).toBe(NAMED));
    await ids.forget('old-gateway-id');
    expect(await ids.current()).toBe(NAMED);
    expect(await store.get(KEY)).toBe(NAMED);
  });

  it('forgets an id another replica stored even when this one never learned it', async () => {
    await store.set(KEY, NAMED);
    const ids = createGatewayIds(store, CONFIGURED);
    await ids.forget(NAMED);
    expect(await ids.current()).toBe(CONFIGURED);
    expect(await store.get(KEY)).toBeUndefined();
  });

  it('learns on a best-effort basis: a failing store neither throws nor loses the id for this replica', async () => {
    const logs = captureLogs();
    const failing: KeyValueStore = { ...store, set: () => Promise.reject(new Error('store down')) };
    const ids = createGatewayIds(failing, CONFIGURED, logs.logger);
    expect(() => ids.learn(NAMED)).not.toThrow();
    expect(await ids.current()).toBe(NAMED);
    await vi.waitFor(() => expect(logs.lines.some((l) => l.msg === 'could not remember the MCF gateway id')).toBe(true));
  });
});
