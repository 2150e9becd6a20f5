/**
 * `npm run build`: the production build that the container image runs as plain JavaScript, with no
 * node_modules, no type stripping and no module resolution at run time (issue 14: footprint):
 *
 *   dist/app.js (+ .map)   src/main.ts and every dependency in one tree-shaken, minified ES module
 *   dist/main.js           the entry (`node dist/main.js`): turns on V8's compile cache, imports app.js
 *   dist/compile-cache/    that cache, made here by loading app.js once (it stops at the missing
 *                          configuration, exit 78, after every module is compiled)
 *
 * Parsing a 4 MB module makes V8 allocate ~30 MB that the C allocator keeps for the life of the process;
 * with the cache V8 deserializes the compiled top-level code instead (bench/scenarios/footprint.ts).
 * Node keys the cache by its version, V8's flags, the user id and the bundle's absolute path: the image
 * builds it in place (/app/dist), on the runtime's Node, for the runtime's user (1000). Any other user
 * (OpenShift's arbitrary uid) or place misses it, and Node compiles as usual (read-only: nothing written).
 *
 * `node scripts/build.ts [outdir] [--compile-cache-uid=<uid>]` (default dist/, the current user): prints
 * the bundle's size and its largest inputs. Run as root, it can make the cache for another user.
 */
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Metafile, type Plugin } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

export interface BuildResult {
  /** Absolute path of the entry to run with `node`. */
  entry: string;
  /** Bytes of app.js. */
  bytes: number;
  /** Bytes in app.js per package (or `src`), largest first. */
  inputs: { name: string; bytes: number }[];
  /** Files in the compile cache (0 if it could not be made). */
  compileCacheFiles: number;
  metafile: Metafile;
}

/** The entry: the compile cache must be on before app.js is loaded, so it cannot live inside app.js. */
const ENTRY = `// vteam-slack production entry (scripts/build.ts). NODE_DISABLE_COMPILE_CACHE=1 turns the cache off.
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
enableCompileCache(fileURLToPath(new URL('./compile-cache/', import.meta.url)));
await import('./app.js');
`;

export interface BuildOptions {
  /** Make the compile cache (default true). */
  compileCache?: boolean;
  /** The user the app runs as, when it is not the one building (root building for 1000). */
  compileCacheUid?: number | undefined;
}

export async function buildBundle(outdir = join(ROOT, 'dist'), options: BuildOptions = {}): Promise<BuildResult> {
  const out = resolve(outdir);
  await rm(out, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { app: 'src/main.ts' },
    outdir: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    // pino logs an error's constructor name as err.type, and stack traces stay readable.
    keepNames: true,
    treeShaking: true,
    sourcemap: 'external',
    // Dependencies' licence comments, in one file beside the bundle rather than inside it.
    legalComments: 'linked',
    // CommonJS dependencies inlined into an ES module still call require() (node: built-ins, optional
    // packages in try/catch); esbuild's shim throws unless a real require exists in scope.
    banner: {
      js: "import { createRequire as __vteamCreateRequire } from 'node:module'; const require = __vteamCreateRequire(import.meta.url);",
    },
    // Optional native add-ons that ws loads in try/catch when installed; never installed here.
    external: ['bufferutil', 'utf-8-validate'],
    plugins: [onlyWhatTheAppUses(), sourcesKeepTheirPlace()],
    metafile: true,
    logLevel: 'warning',
  });
  const entry = join(out, 'main.js');
  await writeFile(entry, ENTRY);
  // Wherever dist/ is copied its .js files are ES modules, and the sources find the version they report
  // (sourcesKeepTheirPlace).
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const distPackage = { name: pkg.name, version: pkg.version, private: true, type: 'module' };
  await writeFile(join(out, 'package.json'), `${JSON.stringify(distPackage, null, 2)}\n`);
  const compileCacheFiles =
    options.compileCache === false ? 0 : await makeCompileCache(entry, join(out, 'compile-cache'), options.compileCacheUid);
  return { entry, metafile: result.metafile, compileCacheFiles, ...summarize(result.metafile) };
}

/**
 * Loads the build once with no configuration, as `uid`: every module is compiled, the app exits 78, and
 * Node writes the cache. The files end up owned by whoever builds, readable by everyone (Node writes
 * them owner-only, and in the image the app's user is not their owner).
 */
async function makeCompileCache(entry: string, dir: string, uid: number | undefined): Promise<number> {
  await mkdir(dir, { recursive: true });
  const owner = await stat(dir);
  const asUser = uid !== undefined && uid !== process.getuid?.();
  if (asUser) await chown(dir, uid, owner.gid);
  const run = spawnSync(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 60_000,
    ...(asUser ? { uid } : {}),
  });
  if (run.status !== 78) throw new Error(`loading ${entry} to fill the compile cache: exit ${run.status}\n${run.stderr}`);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const path of [dir, ...entries.map((e) => join(e.parentPath, e.name))]) {
    if (asUser) await chown(path, owner.uid, owner.gid);
    await chmod(path, (await stat(path)).isDirectory() ? 0o755 : 0o644);
  }
  return entries.filter((e) => e.isFile()).length;
}

/**
 * Two packages whose entry points load far more than the app uses:
 * - @kubernetes/client-node's index re-exports every module (exec, attach, cp with tar-fs, port-forward,
 *   metrics, …) and declares no `sideEffects`, so a bundler keeps them all. Its modules have no side
 *   effects but the `File` polyfill: marked so, only the modules reached from what the app imports stay.
 * - @slack/bolt is CommonJS, and its index requires every receiver (Express with body-parser, qs, send…;
 *   AWS Lambda): the app imports only App and SocketModeReceiver, taken from their own files.
 * The app's imports are checked against these: a name the app uses that is not re-exported below fails
 * the build (esbuild: "No matching export").
 */
function onlyWhatTheAppUses(): Plugin {
  const CLIENT_NODE = '/node_modules/@kubernetes/client-node/';
  const BOLT_USED = [
    "export { default as App } from '@slack/bolt/dist/App.js';",
    "export { default as SocketModeReceiver } from '@slack/bolt/dist/receivers/SocketModeReceiver.js';",
  ].join('\n');
  return {
    name: 'only-what-the-app-uses',
    setup(b) {
      b.onResolve({ filter: /^@slack\/bolt$/ }, () => ({ path: 'bolt-used', namespace: 'only-what-the-app-uses' }));
      b.onLoad({ filter: /^bolt-used$/, namespace: 'only-what-the-app-uses' }, () => ({
        contents: BOLT_USED,
        resolveDir: ROOT,
        loader: 'js',
      }));
      // Relative imports inside client-node are explicit file paths (`./config.js`): joined here, since
      // asking esbuild to resolve each of its ~2,000 imports through the plugin API is slow.
      b.onResolve({ filter: /^\./ }, (args) =>
        args.importer.includes(CLIENT_NODE)
          ? { path: join(args.resolveDir, args.path), sideEffects: args.path.endsWith('/polyfill.js') }
          : undefined,
      );
      b.onResolve({ filter: /^@kubernetes\/client-node$/ }, async (args) => {
        if (args.pluginData === 'resolving') return undefined;
        const { path, errors } = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'resolving' });
        return errors.length > 0 ? { errors } : { path, sideEffects: false };
      });
    },
  };
}

/**
 * A source file that finds a file relative to itself (src/observability/metrics.ts reads
 * `new URL('../../package.json', import.meta.url)`) finds it in dist/ as if dist/ were the project root:
 * its `import.meta.url` becomes the URL it would have there, and buildBundle writes dist/package.json.
 */
function sourcesKeepTheirPlace(): Plugin {
  const SRC = join(ROOT, 'src') + sep;
  return {
    name: 'sources-keep-their-place',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (!args.path.startsWith(SRC)) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta')) return undefined;
        const file = relative(ROOT, args.path);
        if (/import\.meta\.(dirname|filename|resolve)\b/.test(text)) {
          return {
            errors: [
              { text: `${file}: use new URL(…, import.meta.url); import.meta.dirname/filename/resolve are not mapped in the bundle` },
            ],
          };
        }
        return {
          contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(`./${file}`)}, import.meta.url).href`),
          loader: 'ts',
        };
      });
    },
  };
}

function summarize(metafile: Metafile): Pick<BuildResult, 'bytes' | 'inputs'> {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  const byPackage = new Map<string, number>();
  for (const [file, input] of Object.entries(output?.inputs ?? {})) {
    const parts = file.split('node_modules/').at(-1)!.split('/');
    const name = !file.includes('node_modules/') ? 'src' : parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
  }
  return {
    bytes: output?.bytes ?? 0,
    inputs: [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'compile-cache-uid': { type: 'string' } } });
  const uid = values['compile-cache-uid'];
  const result = await buildBundle(positionals[0], { compileCacheUid: uid === undefined ? undefined : Number(uid) });
  const kb = (bytes: number) => `${Math.round(bytes / 1024)} kB`;
  const ms = Math.round(performance.now() - started);
  const lines = [`${result.entry}: app.js ${kb(result.bytes)}, compile cache ${result.compileCacheFiles} file(s), in ${ms} ms`];
  for (const input of result.inputs.slice(0, 12)) lines.push(`  ${kb(input.bytes).padStart(8)}  ${input.name}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
