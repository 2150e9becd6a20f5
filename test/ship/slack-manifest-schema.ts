/**
 * Slack's app manifest schema, read from the `Manifest` type that @slack/web-api ships
 * (`dist/types/request/manifest.d.ts`, the source reference §6 cites): the keys each object accepts, which
 * are required, the allowed scope and event names, and the length and count limits stated in its doc
 * comments. Validating against it keeps the check in step with the installed SDK.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';

type Shape =
  | { kind: 'string' | 'number' | 'boolean' | 'unknown' }
  | { kind: 'literals'; values: Set<string> }
  | { kind: 'ref'; name: string }
  | { kind: 'array'; element: Shape }
  | { kind: 'record'; value: Shape };

interface Field {
  optional: boolean;
  shape: Shape;
  /** "Maximum length is N characters" (strings) or "a maximum of N …" (arrays, records). */
  max?: number;
}

export interface ManifestSchema {
  interfaces: Map<string, Map<string, Field>>;
  aliases: Map<string, Shape>;
}

export function loadManifestSchema(): ManifestSchema {
  const require = createRequire(import.meta.url);
  const packageRoot = dirname(require.resolve('@slack/web-api/package.json'));
  const path = join(packageRoot, 'dist/types/request/manifest.d.ts');
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, Map<string, Field>>();
  const aliases = new Map<string, Shape>();
  for (const statement of source.statements) {
    if (ts.isInterfaceDeclaration(statement)) {
      const fields = new Map<string, Field>();
      for (const member of statement.members) {
        if (!ts.isPropertySignature(member) || !member.type) continue;
        const doc = member.getFullText(source);
        const max = /Maximum length is (\d+)/i.exec(doc)?.[1] ?? /maximum of (\d+)/i.exec(doc)?.[1];
        fields.set(member.name.getText(source), {
          optional: member.questionToken !== undefined,
          shape: shapeOf(member.type, source),
          ...(max ? { max: Number(max) } : {}),
        });
      }
      interfaces.set(statement.name.text, fields);
    } else if (ts.isTypeAliasDeclaration(statement)) {
      aliases.set(statement.name.text, shapeOf(statement.type, source));
    }
  }
  if (!interfaces.has('Manifest')) throw new Error(`no Manifest interface in ${path}`);
  return { interfaces, aliases };
}

function shapeOf(node: ts.TypeNode, source: ts.SourceFile): Shape {
  if (node.kind === ts.SyntaxKind.StringKeyword) return { kind: 'string' };
  if (node.kind === ts.SyntaxKind.NumberKeyword) return { kind: 'number' };
  if (node.kind === ts.SyntaxKind.BooleanKeyword) return { kind: 'boolean' };
  if (ts.isArrayTypeNode(node)) return { kind: 'array', element: shapeOf(node.elementType, source) };
  if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) return { kind: 'literals', values: new Set([node.literal.text]) };
  if (ts.isUnionTypeNode(node)) {
    const members = node.types.map((t) => shapeOf(t, source));
    if (members.every((m) => m.kind === 'literals')) {
      return { kind: 'literals', values: new Set(members.flatMap((m) => [...(m as { values: Set<string> }).values])) };
    }
    return { kind: 'unknown' };
  }
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText(source);
    const [, value] = node.typeArguments ?? [];
    if (name === 'Record' && value) return { kind: 'record', value: shapeOf(value, source) };
    return { kind: 'ref', name };
  }
  return { kind: 'unknown' };
}

/** Every way `manifest` breaks the schema, as `path: problem` lines; empty when it is valid. */
export function validateManifest(manifest: unknown, schema: ManifestSchema): string[] {
  const problems: string[] = [];
  check(manifest, { kind: 'ref', name: 'Manifest' }, 'manifest', schema, problems);
  return problems;
}

function check(value: unknown, shape: Shape, path: string, schema: ManifestSchema, problems: string[], max?: number): void {
  switch (shape.kind) {
    case 'unknown':
      return;
    case 'string':
      if (typeof value !== 'string') problems.push(`${path}: expected a string`);
      else if (max !== undefined && value.length > max) problems.push(`${path}: ${value.length} characters, at most ${max}`);
      return;
    case 'number':
    case 'boolean':
      if (typeof value !== shape.kind) problems.push(`${path}: expected a ${shape.kind}`);
      return;
    case 'literals':
      if (typeof value !== 'string' || !shape.values.has(value))
        problems.push(`${path}: ${JSON.stringify(value)} is not one of Slack's values`);
      return;
    case 'array':
      if (!Array.isArray(value)) {
        problems.push(`${path}: expected a list`);
        return;
      }
      if (max !== undefined && value.length > max) problems.push(`${path}: ${value.length} entries, at most ${max}`);
      if (new Set(value.map((v) => JSON.stringify(v))).size !== value.length) problems.push(`${path}: duplicate entries`);
      value.forEach((element, i) => check(element, shape.element, `${path}[${i}]`, schema, problems));
      return;
    case 'record':
      if (!isPlainObject(value)) {
        problems.push(`${path}: expected a mapping`);
        return;
      }
      for (const [key, element] of Object.entries(value)) check(element, shape.value, `${path}.${key}`, schema, problems);
      return;
    case 'ref': {
      const alias = schema.aliases.get(shape.name);
      if (alias) {
        check(value, alias, path, schema, problems, max);
        return;
      }
      const fields = schema.interfaces.get(shape.name);
      if (!fields) {
        problems.push(`${path}: the schema has no type ${shape.name}`);
        return;
      }
      if (!isPlainObject(value)) {
        problems.push(`${path}: expected a mapping`);
        return;
      }
      for (const key of Object.keys(value)) if (!fields.has(key)) problems.push(`${path}.${key}: not a key Slack accepts here`);
      for (const [key, field] of fields) {
        if (value[key] === undefined) {
          if (!field.optional) problems.push(`${path}.${key}: required`);
          continue;
        }
        check(value[key], field.shape, `${path}.${key}`, schema, problems, field.max);
      }
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The scope and event names the schema allows (for checks that go beyond shape). */
export function allowedValues(schema: ManifestSchema, alias: 'BotScope' | 'ManifestEvent'): Set<string> {
  const shape = schema.aliases.get(alias);
  if (shape?.kind !== 'literals') throw new Error(`${alias} is not a union of names in the installed @slack/web-api`);
  return shape.values;
}
