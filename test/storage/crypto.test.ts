import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt, loadOrCreateDevKey, parseKeyRing } from '../../src/storage/crypto.ts';

const newKey = () => randomBytes(32).toString('base64');

describe('key ring encryption', () => {
  it('round-trips text, with a fresh IV each time', () => {
    const ring = parseKeyRing(newKey());
    const secret = 'atlassian-access-token-ünïcode-✓';
    const first = encrypt(ring, secret);
    expect(first).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(first).not.toContain(secret);
    expect(encrypt(ring, secret)).not.toBe(first);
    expect(decrypt(ring, first)).toBe(secret);
  });

  it('decrypts with an older key after rotation, and encrypts with the new first key', () => {
    const oldKey = newKey();
    const before = encrypt(parseKeyRing(oldKey), 'old secret');
    const rotated = parseKeyRing(`${newKey()}, ${oldKey}`);
    expect(decrypt(rotated, before)).toBe('old secret');
    const after = encrypt(rotated, 'new secret');
    expect(() => decrypt(parseKeyRing(oldKey), after)).toThrow(/not in the key ring/);
  });

  it('fails on tampering, a foreign key, or a different associated value', () => {
    const ring = parseKeyRing(newKey());
    const envelope = encrypt(ring, 'secret', 'user-1');
    const [v, id, iv, tag, ct] = envelope.split('.') as [string, string, string, string, string];
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => decrypt(ring, [v, id, iv, tag, flipped.toString('base64url')].join('.'), 'user-1')).toThrow(/altered/);
    expect(() => decrypt(ring, envelope, 'user-2')).toThrow(/altered/);
    expect(() => decrypt(parseKeyRing(newKey()), envelope, 'user-1')).toThrow(/not in the key ring/);
    expect(() => decrypt(ring, 'plain text')).toThrow(/envelope/);
    expect(decrypt(ring, envelope, 'user-1')).toBe('secret');
  });

  it('accepts base64url keys', () => {
    const key = randomBytes(32);
    const ring = parseKeyRing(key.toString('base64url'));
    expect(decrypt(parseKeyRing(key.toString('base64')), encrypt(ring, 'x'))).toBe('x');
  });

  it('names the bad key by position and never echoes it', () => {
    const short = randomBytes(16).toString('base64');
    const garbage = 'not!base64@@@secretish';
    for (const [spec, message] of [
      [`${newKey()},${short}`, /key #2 of 2 is not 32 bytes/],
      [garbage, /key #1 of 1 is not valid base64/],
      [`${newKey()},,${newKey()}`, /key #2 of 3 is empty/],
      ['', /key #1 of 1 is empty/],
    ] as const) {
      let error: Error | undefined;
      try {
        parseKeyRing(spec);
      } catch (caught) {
        error = caught as Error;
      }
      expect(error?.message).toMatch(message);
      for (const part of spec.split(',').filter(Boolean)) expect(error?.message).not.toContain(part);
    }
  });
});

describe('development key file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vteam-devkey-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is created once with mode 0600, reused afterwards, and logged without the key', async () => {
    const logged: string[] = [];
    const logger = pino(new Writable({ write: (chunk: Buffer, _e, done) => (logged.push(chunk.toString()), done()) }));
    const dataDir = join(dir, 'data');
    const [first, second] = await Promise.all([loadOrCreateDevKey(dataDir, logger), loadOrCreateDevKey(dataDir, logger)]);
    const third = await loadOrCreateDevKey(dataDir);
    const file = join(dataDir, 'token-encryption.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(decrypt(third, encrypt(first, 'x'))).toBe('x');
    expect(decrypt(second, encrypt(third, 'y'))).toBe('y');
    const key = (await readFile(file, 'utf8')).trim();
    expect(logged).toHaveLength(2);
    expect(logged.join('\n')).toContain('TOKEN_ENCRYPTION_KEY is not set');
    expect(logged.join('\n')).not.toContain(key);
  });
});
