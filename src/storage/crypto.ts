/**
 * AES-256-GCM with a key ring, for secrets at rest. The first key encrypts; every key decrypts,
 * chosen by the key id inside the envelope, so rotating means putting a new key first and keeping
 * the old ones until everything has been rewritten.
 *
 * Envelope: `v1.<keyId>.<iv>.<tag>.<ciphertext>`, each part base64url. keyId is a truncated
 * SHA-256 of the key (under a fixed label), which identifies the key without revealing it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface RingKey {
  readonly id: string;
  readonly key: Buffer;
}

export interface KeyRing {
  /** First key encrypts; all decrypt. Never empty. */
  readonly keys: readonly [RingKey, ...RingKey[]];
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Parses `key1,key2,…` (base64, 32 bytes each). Errors name the position, never the value. */
export function parseKeyRing(spec: string): KeyRing {
  const parts = spec.split(',').map((part) => part.trim());
  const keys = parts.map((part, index): RingKey => {
    const position = `key #${index + 1} of ${parts.length}`;
    if (part === '') throw new Error(`TOKEN_ENCRYPTION_KEY ${position} is empty; give comma-separated base64 keys of 32 bytes.`);
    const valid = BASE64.test(part) || BASE64URL.test(part);
    const key = valid ? Buffer.from(part, BASE64.test(part) ? 'base64' : 'base64url') : undefined;
    if (key?.length !== 32) {
      throw new Error(
        `TOKEN_ENCRYPTION_KEY ${position} is not ${valid ? '32 bytes' : 'valid base64'}; generate one with \`openssl rand -base64 32\`.`,
      );
    }
    return { id: keyId(key), key };
  });
  const [first, ...rest] = keys;
  if (first === undefined) throw new Error('TOKEN_ENCRYPTION_KEY is empty.');
  return { keys: [first, ...rest] };
}

function keyId(key: Buffer): string {
  return createHash('sha256').update('vteam-slack key id\0').update(key).digest().subarray(0, 6).toString('base64url');
}

/**
 * Encrypts with the ring's first key. `associatedData` (e.g. the storage key) is authenticated but
 * not stored: decrypting needs the same value, so an envelope copied elsewhere does not open.
 */
export function encrypt(ring: KeyRing, plaintext: string, associatedData = ''): string {
  const { id, key } = ring.keys[0];
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(id, associatedData));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, id, iv, cipher.getAuthTag(), ciphertext]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** Throws when the envelope is malformed, its key is not in the ring, or it was tampered with. */
export function decrypt(ring: KeyRing, envelope: string, associatedData = ''): string {
  const parts = envelope.split('.');
  const [version, id, iv, tag, ciphertext] = parts;
  if (parts.length !== 5 || version !== VERSION || id === undefined || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error('Not an encrypted envelope of a known version');
  }
  const candidates = ring.keys.filter((k) => k.id === id);
  if (candidates.length === 0) throw new Error('Encrypted with a key that is not in the key ring');
  for (const candidate of candidates) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', candidate.key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(id, associatedData));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // try the next key with the same id (a hash collision is possible, if unlikely)
    }
  }
  throw new Error('Decryption failed: the data was altered or the key is wrong');
}

/** Version and key id are authenticated too, so they cannot be swapped. */
function aad(id: string, associatedData: string): Buffer {
  return Buffer.from(`${VERSION}.${id}.${associatedData}`, 'utf8');
}

/**
 * Development only (TOKEN_ENCRYPTION_KEY unset): reads `<dataDir>/token-encryption.key`, creating
 * it with a fresh key and mode 0600 the first time. Losing the file makes stored links unreadable
 * (users relink), which is acceptable in development and the reason it is not for production.
 */
export async function loadOrCreateDevKey(dataDir: string, logger?: Logger): Promise<KeyRing> {
  const path = join(dataDir, 'token-encryption.key');
  await mkdir(dataDir, { recursive: true });
  // Write a complete file aside, then link it into place: another process starting at the same
  // time either wins (EEXIST here) or sees the whole key, never a half-written file.
  const staging = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(staging, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(staging, path);
    logger?.warn({ path }, 'TOKEN_ENCRYPTION_KEY is not set; created a development key file. Set TOKEN_ENCRYPTION_KEY in production.');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    logger?.warn({ path }, 'TOKEN_ENCRYPTION_KEY is not set; using the development key file. Set TOKEN_ENCRYPTION_KEY in production.');
  } finally {
    await rm(staging, { force: true });
  }
  return parseKeyRing((await readFile(path, 'utf8')).trim());
}
