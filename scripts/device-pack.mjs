// The GPU device check, packed to travel (bench/gpu-device.sh runs it; bench/README.md explains).
// A device machine has no Node and no npm, and a call carries at most 64 MiB with the working
// tree (this repository alone is ~36 MB), so node_modules (~850 MB) cannot go. This writes
// `.device/` (git-ignored) with two xz archives:
//   node.tar.xz  — this machine's Node binary (linux-x64, ~25 MB compressed);
//   bench.tar.xz — the four benchmarks bundled by esbuild with every JS dependency inlined
//                  (bench/forward.ts, attention-probes.ts, gpu-matmul.ts, gpu-attention.ts), the two
//                  native/wasm packages they load at run time trimmed to linux-x64 and the files
//                  used (webgpu's dawn.node; onnxruntime-web's webgpu build and its wasm — the
//                  device runs ORT's webgpu EP only), a Vulkan loader (Chromium's
//                  libvulkan.so.1, used only where the machine has none), and the shared inputs
//                  (stories260K, its tokenizer, the text).
// Their sizes are printed: if both with the tree exceed 64 MiB, carry node.tar.xz in one call
// (the script unpacks it into /tmp, which stays while the machine is warm) and bench.tar.xz in
// the next.
//
//   node scripts/device-pack.mjs
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
// The CLI bundle's plugin for `./x.wgsl?raw` shader imports (Vite's raw import).
import { wgslRaw } from './cli-build.mjs';

const root = path.resolve(import.meta.dirname, '..');
const shared = process.env.SPARSEBOOK_SHARED ?? path.resolve(root, '../shared');
const out = path.join(root, '.device');
const stage = path.join(out, 'stage');
// Node's archive is kept when it holds this same Node (compressing 99 MB takes minutes).
const nodeStamp = path.join(out, 'node.version');
const keepNode = existsSync(path.join(out, 'node.tar.xz')) && readIfAny(nodeStamp) === process.version;
rmSync(stage, { recursive: true, force: true });
rmSync(path.join(out, 'bench.tar.xz'), { force: true });
mkdirSync(path.join(stage, 'bench', 'dist'), { recursive: true });
mkdirSync(path.join(stage, 'node', 'bin'), { recursive: true });

function readIfAny(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

const { build } = await import('esbuild');
await build({
  absWorkingDir: root,
  entryPoints: {
    forward: 'bench/forward.ts',
    'attention-probes': 'bench/attention-probes.ts',
    'gpu-matmul': 'bench/gpu-matmul.ts',
    'gpu-attention': 'bench/gpu-attention.ts',
  },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['webgpu', 'onnxruntime-web', 'onnxruntime-web/*'],
  outdir: path.join(stage, 'bench', 'dist'),
  outExtension: { '.js': '.mjs' },
  // Bundled CommonJS dependencies call require(): give the ESM bundle one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  plugins: [wgslRaw],
  logLevel: 'warning',
});

const copy = (from, to) => {
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(from, to);
};
const nm = path.join(root, 'node_modules');
const dst = path.join(stage, 'bench', 'node_modules');
for (const f of ['package.json', 'index.js', 'dist/linux-x64/dawn.node'])
  copy(path.join(nm, 'webgpu', f), path.join(dst, 'webgpu', f));
for (const f of [
  'package.json',
  'dist/ort.webgpu.bundle.min.mjs',
  'dist/ort-wasm-simd-threaded.asyncify.mjs',
  'dist/ort-wasm-simd-threaded.asyncify.wasm',
  'dist/ort-wasm-simd-threaded.jsep.mjs',
])
  copy(path.join(nm, 'onnxruntime-web', f), path.join(dst, 'onnxruntime-web', f));
for (const f of [
  'models/stories260K/stories260K.bin',
  'models/stories260K/tok512.bin',
  'data/tinystories-valid-1000.txt',
])
  copy(path.join(shared, f), path.join(stage, 'bench', 'shared', f));
// The Vulkan loader Dawn opens, for a machine without one (Chromium ships it beside itself).
if (existsSync('/usr/lib/chromium/libvulkan.so.1'))
  copy('/usr/lib/chromium/libvulkan.so.1', path.join(stage, 'bench', 'lib', 'libvulkan.so.1'));
if (!keepNode) copy(process.execPath, path.join(stage, 'node', 'bin', 'node'));

const sizes = {};
for (const part of ['node', 'bench']) {
  const file = path.join(out, `${part}.tar.xz`);
  if (part !== 'node' || !keepNode)
    execFileSync('tar', ['-C', stage, '-cJf', file, part], { env: { ...process.env, XZ_OPT: '-9 -T0' } });
  sizes[part] = +(statSync(file).size / 2 ** 20).toFixed(1);
}
writeFileSync(nodeStamp, process.version);
rmSync(stage, { recursive: true, force: true });
writeFileSync(
  path.join(out, 'README'),
  'Made by scripts/device-pack.mjs; unpacked by bench/gpu-device.sh.\n',
);
console.log(JSON.stringify({ pack: '.device', mib: sizes, node: process.version }));
