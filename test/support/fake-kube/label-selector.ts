/**
 * Kubernetes label selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
 * comma-separated (AND). Unparseable input throws, as the API server answers 400.
 */
type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

export type LabelMatcher = (labels: Readonly<Record<string, string>> | undefined) => boolean;

export function parseLabelSelector(selector: string | null | undefined): LabelMatcher {
  const requirements = splitTopLevel(selector ?? '').map(parseRequirement);
  return (labels) => requirements.every((r) => matches(r, labels ?? {}));
}

function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';

function parseRequirement(text: string): Requirement {
  let m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*([-A-Za-z0-9_.]*)$`).exec(text);
  if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
  m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(text);
  if (m)
    return {
      op: m[2] as 'in' | 'notin',
      key: m[1]!,
      values: m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    };
  m = new RegExp(`^(!?)\\s*(${KEY})$`).exec(text);
  if (m) return { op: m[1] === '!' ? 'notexists' : 'exists', key: m[2]! };
  throw new Error(`unable to parse requirement: ${text}`);
}

function matches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'eq':
      return has && value === r.value;
    case 'neq':
      return !has || value !== r.value;
    case 'in':
      return has && r.values.includes(value!);
    case 'notin':
      return !has || !r.values.includes(value!);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}
