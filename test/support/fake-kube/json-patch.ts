/** RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch, as the API server applies them to an object. */
import { isDeepStrictEqual } from 'node:util';

export class PatchError extends Error {}

type Json = unknown;

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer: ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function isContainer(value: Json): value is Record<string, Json> | Json[] {
  return typeof value === 'object' && value !== null;
}

/** Returns the parent container and the last token, failing like evanphx/json-patch on missing parents. */
function locate(doc: Json, pointer: string): { parent: Record<string, Json> | Json[]; key: string } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('cannot operate on the document root');
  let node: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length - 1)];
    else if (isContainer(node) && Object.hasOwn(node, token)) node = (node as Record<string, Json>)[token];
    else throw new PatchError(`doc is missing path: "${pointer}"`);
  }
  if (!isContainer(node)) throw new PatchError(`doc is missing path: "${pointer}"`);
  return { parent: node, key: tokens.at(-1)! };
}

function arrayIndex(token: string, max: number): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`invalid array index: ${token}`);
  const index = Number(token);
  if (index > max) throw new PatchError(`array index out of bounds: ${token}`);
  return index;
}

function get(doc: Json, pointer: string): Json {
  if (pointer === '') return doc;
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) return parent[arrayIndex(key, parent.length - 1)];
  if (!Object.hasOwn(parent, key)) throw new PatchError(`doc is missing path: "${pointer}"`);
  return parent[key];
}

function add(doc: Json, pointer: string, value: Json): void {
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) {
    if (key === '-') parent.push(value);
    else parent.splice(arrayIndex(key, parent.length), 0, value);
  } else {
    parent[key] = value;
  }
}

function remove(doc: Json, pointer: string): void {
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length - 1), 1);
  else if (Object.hasOwn(parent, key)) delete parent[key];
  else throw new PatchError(`doc is missing path: "${pointer}"`);
}

export function applyJsonPatch<T>(document: T, operations: unknown): T {
  if (!Array.isArray(operations)) throw new PatchError('json patch must be an array of operations');
  const doc = structuredClone(document) as Json;
  for (const raw of operations as Operation[]) {
    if (!isContainer(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string')
      throw new PatchError('malformed json patch operation');
    const clone = (v: Json) => structuredClone(v);
    switch (raw.op) {
      case 'add':
        add(doc, raw.path, clone(raw.value));
        break;
      case 'remove':
        remove(doc, raw.path);
        break;
      case 'replace':
        get(doc, raw.path);
        remove(doc, raw.path);
        add(doc, raw.path, clone(raw.value));
        break;
      case 'move': {
        const v = get(doc, raw.from ?? '');
        remove(doc, raw.from ?? '');
        add(doc, raw.path, v);
        break;
      }
      case 'copy':
        add(doc, raw.path, clone(get(doc, raw.from ?? '')));
        break;
      case 'test': {
        let actual: Json;
        try {
          actual = get(doc, raw.path);
        } catch {
          throw new PatchError(`testing value ${raw.path} failed: test failed`);
        }
        if (!isDeepStrictEqual(actual, raw.value)) throw new PatchError(`testing value ${raw.path} failed: test failed`);
        break;
      }
      default:
        throw new PatchError(`unexpected kind: ${raw.op}`);
    }
  }
  return doc as T;
}

/** RFC 7386: objects merge recursively, `null` deletes, anything else (arrays included) replaces. */
export function applyMergePatch<T>(target: T, patch: unknown): T {
  return merge(structuredClone(target), patch) as T;
}

function merge(target: Json, patch: Json): Json {
  if (!isContainer(patch) || Array.isArray(patch)) return structuredClone(patch);
  const result: Record<string, Json> = isContainer(target) && !Array.isArray(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = merge(result[key], value);
  }
  return result;
}
