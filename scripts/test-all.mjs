#!/usr/bin/env node
// `npm test`: every check the project has, in order, each step run even when an earlier one fails,
// ending with one line `N passed, N failed` that sums all suites (a check counts as one test).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const resultsDir = path.join(root, '.vitest-results');
rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });

const bin = (name) => path.join(root, 'node_modules', '.bin', name);
let passed = 0;
let failed = 0;
const failures = [];

function run(label, cmd, args) {
  console.log(`\n── ${label} ─────────────────────────────────────────`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(
    `── ${label}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${seconds}s`,
  );
  return r.status === 0;
}

function check(label, cmd, args) {
  if (run(label, cmd, args)) passed++;
  else {
    failed++;
    failures.push(label);
  }
}

function vitest(project) {
  const out = path.join(resultsDir, `${project}.json`);
  const ok = run(`vitest ${project}`, bin('vitest'), [
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
  ]);
  let counted = false;
  try {
    const json = JSON.parse(readFileSync(out, 'utf8'));
    passed += json.numPassedTests;
    failed += json.numFailedTests;
    counted = true;
    // A suite that fails to load has no failed tests but is a failure all the same.
    if (!ok && json.numFailedTests === 0) failed++;
  } catch {
    // no report: the run crashed before reporting
  }
  if (!ok || !counted) {
    if (!counted) failed++;
    failures.push(`vitest ${project}`);
  }
}

// Chromium first: the kernel and browser suites run in it, and the unit suite's CLI tests run WebGPU
// through Dawn, which needs the SwiftShader Vulkan driver that Debian's chromium package installs.
// On a fresh machine a later install would leave those unit tests failing on the first `npm test`.
const haveChromium = run('chromium present', process.execPath, [
  path.join(root, 'scripts/ensure-chromium.mjs'),
]);
if (!haveChromium) {
  failed++;
  failures.push('chromium present');
}
// The WebAssembly kernels (compiled from AssemblyScript), which the bundle and every suite load.
check('build (wasm kernels)', process.execPath, [path.join(root, 'scripts/wasm-build.mjs')]);
// The CLI's bundle once, before the suites whose CLI processes would otherwise each rebuild it.
check('build (CLI bundle)', process.execPath, [path.join(root, 'scripts/cli-build.mjs')]);
check('typecheck (tsc)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
check('typecheck (svelte-check)', bin('svelte-check'), [
  '--tsconfig',
  './tsconfig.json',
  '--fail-on-warnings',
]);
check('lint (eslint)', bin('eslint'), ['.']);
check('format (prettier --check)', bin('prettier'), ['--check', '.']);
vitest('unit');
if (haveChromium) {
  vitest('kernels');
  check('build (vite build)', bin('vite'), ['build']);
  vitest('e2e');
}

console.log('');
if (failures.length) console.log(`failed: ${failures.join(', ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
