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

/** Where a path used in a stage points: absolute as is, relative to the stage's WORKDIR (default `/`). */
function absolute(path: string, workdir: string): string {
  const joined = path.startsWith('/') ? path : `${workdir.replace(/\/+$/, '')}/${path}`;
  const parts: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** `ENV A=1 B="x y"` / `ENV A 1` / `ARG A=1` → the names with their values. */
function assignments(keyword: string, args: string): [string, string][] {
  if (keyword === 'ENV' && !/^[\w.-]+=/.test(args)) {
    const space = args.search(/\s/);
    return space < 0 ? [[args, '']] : [[args.slice(0, space), args.slice(space + 1).trim()]];
  }
  return [...args.matchAll(/([\w.-]+)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?/g)].map((m) => [
    m[1]!,
    (m[2] ?? '').replace(/^(["'])(.*)\1$/s, '$2'),
  ]);
}

/** `${NAME}` / `$NAME` in a FROM line, replaced by the default of an ARG declared before the first FROM. */
export function expandGlobalArgs(instructions: Instruction[], value: string): string {
  const first = instructions.findIndex((i) => i.keyword === 'FROM');
  const args = new Map(
    instructions
      .slice(0, first < 0 ? instructions.length : first)
      .filter((i) => i.keyword === 'ARG')
      .flatMap((i) => assignments('ARG', i.args)),
  );
  return value.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => args.get(name) || whole);
}

/** Names that hold a secret: an image layer keeps them for anyone who can pull it (hadolint's secret rules). */
const SECRET_NAME = /(secret|token|passw(or)?d|api[-_]?key|private[-_]?key|credential|encryption[-_]?key)/i;

/** What a build stage runs to produce the bundle the runtime starts (`node scripts/build.mjs`, `npm run build`). */
export const BUILD_STEP = /\bnode\s+(\S*\/)?scripts\/build\.[cm]?[jt]s\b|\bnpm\s+run(-script)?\s+build\b/;

/**
 * Lints a Containerfile the way hadolint would, for the rules that matter here, plus this project's own:
 * every problem as "line N: …". `contextFiles` tells whether a COPY source exists in the build context.
 *
 *  - FROM: an exact tag or a digest, never `latest` or none (DL3006, DL3007); all external stages on one base;
 *    `FROM <earlier stage>` allowed.
 *  - WORKDIR absolute (DL3000), set before any relative COPY destination (DL3045).
 *  - COPY, never ADD (DL3020); `COPY --from` names an earlier stage (DL3022) or a pinned image.
 *  - `npm ci`, never `npm install`/`npm i`/`npm add` (reproducible installs), and only after the lockfile
 *    was copied in that stage or the stage it builds on.
 *  - node_modules copied into the final stage come from an `npm ci --omit=dev`: production dependencies only.
 *  - No secrets in ENV or ARG (a layer keeps them), no sudo (DL3004), no apt-get upgrade (DL3005), apt-get
 *    install with -y and --no-install-recommends (DL3014, DL3015), no `curl … | sh`, no MAINTAINER (DL4000).
 *  - The final stage: a numeric non-root USER (DL3002, and numeric so runAsNonRoot can verify it) before an
 *    exec-form CMD (DL3025) whose `node <entry>` is a file the stage copies, from the context or from an
 *    earlier stage (e.g. a bundle a build stage made with `node scripts/build.mjs`).
 */
export function lintContainerfile(text: string, contextFiles: (path: string) => boolean = () => true): string[] {
  const problems: string[] = [];
  const instructions = parseContainerfile(text);
  const stages = stagesOf(instructions);
  const at = (line: number, message: string) => problems.push(`line ${line}: ${message}`);
  if (stages.length === 0) return ['no FROM'];

  const expand = (value: string) => expandGlobalArgs(instructions, value);
  const fromLines = instructions.filter((i) => i.keyword === 'FROM');

  const externalBases = new Set<string>();
  const stageInfo: { name?: string; lockfile: boolean; ciOmitsDev: boolean; copied: Set<string>; workdir: string | undefined }[] = [];
  stages.forEach((stage, index) => {
    const fromLine = fromLines[index]!.line;
    const earlier = stageInfo.findIndex((s) => s.name !== undefined && s.name === stage.image);
    const parent = earlier >= 0 ? stageInfo[earlier] : undefined;
    if (!parent) {
      const image = expand(stage.image);
      if (image.includes('$')) at(fromLine, `FROM ${stage.image}: a base named by a variable without a default cannot be checked`);
      const [name, digest] = image.split('@');
      const tag = name!.lastIndexOf(':') > name!.lastIndexOf('/') ? name!.slice(name!.lastIndexOf(':') + 1) : undefined;
      if (tag === undefined && digest === undefined) at(fromLine, `FROM ${image}: pin the base by tag or digest`);
      if (tag === 'latest') at(fromLine, `FROM ${image}: never latest; pin an exact version`);
      externalBases.add(image);
    }
    const info = {
      ...(stage.name !== undefined ? { name: stage.name } : {}),
      lockfile: parent?.lockfile ?? false,
      ciOmitsDev: parent?.ciOmitsDev ?? false,
      copied: new Set(parent?.copied ?? []),
      workdir: parent?.workdir,
    };
    // A stage built on an earlier one starts in its WORKDIR.
    let workdir: string | undefined = parent?.workdir;
    let user: { value: string; line: number } | undefined;
    let cmd: { args: string; line: number } | undefined;
    for (const instruction of stage.instructions) {
      const { keyword, args, line } = instruction;
      switch (keyword) {
        case 'WORKDIR':
          if (!args.startsWith('/') && !args.startsWith('$')) at(line, `WORKDIR ${args}: use an absolute path`);
          workdir = absolute(args, workdir ?? '/');
          break;
        case 'ADD':
          at(line, 'ADD fetches URLs and unpacks archives: use COPY');
          break;
        case 'MAINTAINER':
          at(line, 'MAINTAINER is deprecated: use a LABEL');
          break;
        case 'COPY': {
          const copy = copyArgs(args);
          if (!copy.destination.startsWith('/') && workdir === undefined) at(line, `COPY to ${copy.destination} before any WORKDIR`);
          const destination = absolute(copy.destination, workdir ?? '/');
          const into = (source: string) =>
            copy.destination.endsWith('/') || copy.sources.length > 1 ? absolute(source.split('/').at(-1)!, destination) : destination;
          if (copy.flags.from !== undefined) {
            const from = stageInfo.find((s) => s.name === copy.flags.from) ?? stageInfo[Number(copy.flags.from)];
            if (!from && !/^\d+$/.test(copy.flags.from)) {
              if (!/[:@]/.test(copy.flags.from) || /:latest$/.test(copy.flags.from)) {
                at(line, `COPY --from=${copy.flags.from}: name an earlier stage, or an image pinned by tag or digest`);
              }
            } else if (!from) {
              at(line, `COPY --from=${copy.flags.from}: no such earlier stage`);
            }
            for (const source of copy.sources) {
              if (/(^|\/)node_modules\/?$/.test(source) && from && !from.ciOmitsDev && index === stages.length - 1) {
                at(line, `COPY --from=${copy.flags.from} ${source}: the runtime's node_modules must come from \`npm ci --omit=dev\``);
              }
              info.copied.add(into(source));
            }
          } else {
            for (const source of copy.sources) {
              if (source === '.' || source === './' || source.includes('*')) at(line, `COPY ${source}: name what the image needs`);
              else if (!contextFiles(source)) at(line, `COPY ${source}: not in the build context`);
              if (/(^|\/)package-lock\.json$/.test(source)) info.lockfile = true;
              info.copied.add(into(source));
            }
          }
          break;
        }
        case 'RUN': {
          if (workdir === undefined && /\bnpm\b/.test(args)) at(line, 'npm before any WORKDIR runs in /');
          if (/\bnpm\s+(install|i|add)\b/.test(args)) at(line, 'use `npm ci` (the lockfile, exactly), not npm install');
          if (/\bnpm\s+ci\b/.test(args)) {
            if (!info.lockfile) at(line, 'npm ci before package-lock.json was copied: COPY it first (and only it, for the layer cache)');
            if (/--omit=dev\b|--only=prod(uction)?\b|--production\b/.test(args)) info.ciOmitsDev = true;
            else if (index === stages.length - 1) at(line, 'the final stage installs dev dependencies: npm ci --omit=dev');
          }
          if (/\bsudo\b/.test(args)) at(line, 'no sudo: the build runs as root until USER');
          if (/\bapt-get\s+(dist-)?upgrade\b/.test(args)) at(line, 'no apt-get upgrade: pin a newer base instead');
          if (
            /\bapt-get\s+install\b/.test(args) &&
            !(/\s-y\b|--yes\b|--assume-yes\b/.test(args) && /--no-install-recommends\b/.test(args))
          ) {
            at(line, 'apt-get install needs -y and --no-install-recommends');
          }
          if (/\b(curl|wget)\b[^|;&]*\|\s*(ba|z|da)?sh\b/.test(args)) at(line, 'no piping a download into a shell');
          break;
        }
        case 'ENV':
        case 'ARG':
          for (const [name] of assignments(keyword, args)) {
            // A build argument shows in the image's history too: use a secret mount (RUN --mount=type=secret).
            if (SECRET_NAME.test(name)) {
              at(line, `${keyword} ${name}: secrets do not belong in an image layer; give them at run time`);
            }
          }
          break;
        case 'USER':
          user = { value: args, line };
          break;
        case 'CMD':
          cmd = { args, line };
          break;
        case 'ENTRYPOINT':
          if (execForm(args) === undefined) at(line, 'ENTRYPOINT in exec form (JSON array), so signals reach the process');
          break;
      }
    }
    info.workdir = workdir;
    stageInfo.push(info);
    if (index !== stages.length - 1) return;

    // The runtime stage.
    if (!user) at(fromLine, 'the final stage sets no USER: it would run as root');
    else {
      const [uid, gid] = user.value.split(':');
      if (!/^\d+$/.test(uid ?? '') || (gid !== undefined && !/^\d+$/.test(gid))) {
        at(user.line, `USER ${user.value}: numeric, so Kubernetes' runAsNonRoot can verify it`);
      } else if (Number(uid) === 0) at(user.line, 'USER 0 is root');
    }
    if (!cmd) at(fromLine, 'the final stage has no CMD');
    else {
      const command = execForm(cmd.args);
      if (command === undefined) at(cmd.line, 'CMD in exec form (JSON array), so the process gets SIGTERM');
      if (user && user.line > cmd.line) at(user.line, 'USER after CMD');
      const [program, entry] = command ?? [];
      if (program === 'node' && entry !== undefined) {
        const path = absolute(entry, workdir ?? '/');
        const provided = [...info.copied].some((copied) => path === copied || path.startsWith(`${copied}/`));
        if (!provided) at(cmd.line, `CMD runs ${entry}, which the final stage does not copy`);
      }
    }
  });
  if (externalBases.size > 1) problems.push(`every stage should build on the same base; found ${[...externalBases].join(', ')}`);
  return problems;
}
