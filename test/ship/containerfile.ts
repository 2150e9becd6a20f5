/**
 * A Containerfile/Dockerfile parser good enough to lint one: instructions with their arguments (line
 * continuations joined, comments and parser directives dropped), grouped into build stages.
 */

export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, … */
  keyword: string;
  /** The rest of the line, continuations joined with a space. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface Stage {
  /** The FROM image reference. */
  image: string;
  /** The `AS name`, if any. */
  name?: string;
  instructions: Instruction[];
}

export function parseContainerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let pending: { parts: string[]; line: number } | undefined;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    // Comments (and parser directives, which are comments too) may appear between continuation lines.
    if (line.startsWith('#') || (line === '' && pending === undefined)) return;
    if (pending === undefined) pending = { parts: [], line: index + 1 };
    const continues = line.endsWith('\\');
    pending.parts.push(continues ? line.slice(0, -1).trim() : line);
    if (!continues) {
      const joined = pending.parts.filter((p) => p !== '').join(' ');
      const space = joined.search(/\s/);
      instructions.push({
        keyword: (space < 0 ? joined : joined.slice(0, space)).toUpperCase(),
        args: space < 0 ? '' : joined.slice(space + 1).trim(),
        line: pending.line,
      });
      pending = undefined;
    }
  });
  if (pending !== undefined) throw new Error(`unterminated continuation at line ${pending.line}`);
  return instructions;
}

export function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const as = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ image: words[0] ?? '', ...(as > 0 && words[as + 1] ? { name: words[as + 1] } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

/** `CMD ["node", "x"]` → ['node', 'x']; undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** COPY/ADD: flags (`--from=deps`), sources and destination. */
export function copyArgs(args: string): { flags: Record<string, string>; sources: string[]; destination: string } {
  const words = execForm(args) ?? args.split(/\s+/);
  const flags: Record<string, string> = {};
  const rest: string[] = [];
  for (const word of words) {
    const flag = /^--([\w-]+)(?:=(.*))?$/.exec(word);
    if (flag && rest.length === 0) flags[flag[1]!] = flag[2] ?? 'true';
    else rest.push(word);
  }
  return { flags, sources: rest.slice(0, -1), destination: rest.at(-1) ?? '' };
}
