// The CLI compiled ahead of time: cli/main.ts bundled by esbuild (a dependency of tsx) into
// `.cli-build/`, one chunk per lazily imported command, so `sparsebook --help` starts without
// transpiling anything or loading the runtime. `.cli-build/current.json` names the entry and every
// source file that went into it with its mtime; a bundle is used only while none of them changed
// (a stale bundle is never run: `ensureCliBuild` rebuilds it first).
//
// The output directory sits directly under the repository root on purpose: modules that find the
// root as `import.meta.url/..` (cli/headless-notebook.ts, cli/report-shell-cache.ts) resolve the
// same from the bundle as from cli/.
//
//   node scripts/cli-build.mjs   (run by `npm install` and `npm test`; the CLI also rebuilds on demand)
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureWasmBuild, wasmInputs } from './wasm-build.mjs';

const defaultRoot = path.resolve(import.meta.dirname, '..');

/** Files outside the import graph that still change the bundle. */
const CONFIG_INPUTS = ['package.json', 'tsconfig.json', 'scripts/cli-build.mjs'];

function mtimeMs(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1; // gone: the bundle is stale
  }
}

/** The current bundle's entry file, or null when there is none or any of its inputs changed. */
export function freshCliEntry(root = defaultRoot) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(root, '.cli-build', 'current.json'), 'utf8'));
  } catch {
    return null;
  }
  for (const [rel, ms] of Object.entries(stamp.inputs)) {
    if (mtimeMs(path.join(root, rel)) !== ms) return null;
  }
  const entry = path.join(root, '.cli-build', stamp.entry);
  return mtimeMs(entry) >= 0 ? entry : null;
}

// Kernels import their shaders as `./x.wgsl?raw` (Vite's raw import): the bundle inlines the text.
export const wgslRaw = {
  name: 'wgsl-raw',
  setup(build) {
    build.onResolve({ filter: /\.wgsl\?raw$/ }, (args) => ({
      path: path.resolve(args.resolveDir, args.path.slice(0, -'?raw'.length)),
      namespace: 'wgsl-raw',
    }));
    build.onLoad({ filter: /.*/, namespace: 'wgsl-raw' }, (args) => ({
      contents: `export default ${JSON.stringify(readFileSync(args.path, 'utf8'))};`,
      loader: 'js',
      watchFiles: [args.path],
    }));
  },
};

/** Bundle cli/main.ts into `root/.cli-build/` and point current.json at it; returns the entry file. */
export async function buildCli(root = defaultRoot) {
  // The bundle inlines the compiled WebAssembly kernels (kernels/wasm/build/): fresh ones first.
  ensureWasmBuild(root);
  const { build } = await import('esbuild');
  const outdir = path.join(root, '.cli-build');
  const started = Date.now();
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: 'cli/main.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    sourcemap: 'inline',
    metafile: true,
    write: false,
    logLevel: 'silent',
    plugins: [wgslRaw],
  });
  mkdirSync(outdir, { recursive: true });
  // Content-hashed names plus write-then-rename: CLI processes started side by side (the tests)
  // may build at once, and none ever reads a half-written file.
  for (const file of result.outputFiles) {
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
  const inputs = {};
  for (const key of Object.keys(result.metafile.inputs)) {
    const rel = key.startsWith('wgsl-raw:') ? path.relative(root, key.slice('wgsl-raw:'.length)) : key;
    inputs[rel] = mtimeMs(path.join(root, rel));
  }
  for (const rel of [...CONFIG_INPUTS, ...wasmInputs(root)]) inputs[rel] = mtimeMs(path.join(root, rel));
  const entryOut = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === 'cli/main.ts')[0];
  const entry = path.basename(entryOut);
  const stampTmp = path.join(outdir, `current.json.${process.pid}.tmp`);
  writeFileSync(stampTmp, JSON.stringify({ entry, inputs, metafile: result.metafile }));
  renameSync(stampTmp, path.join(outdir, 'current.json'));
  removeOldOutputs(outdir, new Set(result.outputFiles.map((f) => path.basename(f.path))), started);
  return path.join(outdir, entry);
}

/** Drop earlier builds' files, sparing any written in the last ten minutes (a running CLI may use them). */
function removeOldOutputs(outdir, keep, now) {
  for (const name of readdirSync(outdir)) {
    if (keep.has(name) || name === 'current.json') continue;
    const file = path.join(outdir, name);
    if (now - mtimeMs(file) > 10 * 60_000) rmSync(file, { force: true });
  }
}

/** The bundle's entry, built first when missing or stale. */
export async function ensureCliBuild(root = defaultRoot) {
  return freshCliEntry(root) ?? (await buildCli(root));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const entry = await buildCli();
  console.log(`sparsebook CLI built: ${path.relative(defaultRoot, entry)}`);
}
