#!/usr/bin/env node
// Make sure Debian's Chromium is present for the browser tests: install it with apt-get when
// running as root, otherwise say exactly what to install. Playwright cannot download browsers here.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(path)) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(
    `Chromium is missing at ${path}. The browser and kernel tests need Debian's Chromium:\n` +
      `  sudo apt-get update && sudo apt-get install -y chromium\n` +
      `(or set CHROMIUM_PATH to another Chromium with WebGPU support).`,
  );
  process.exit(1);
}
console.log(`Chromium is missing at ${path}: installing Debian's chromium with apt-get…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [
  ['update', '-qq'],
  ['install', '-y', '-qq', 'chromium'],
]) {
  const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`apt-get ${args.join(' ')} failed (exit ${r.status}); install chromium by hand.`);
    process.exit(1);
  }
}
if (!existsSync(path)) {
  console.error(`apt-get finished but ${path} still does not exist.`);
  process.exit(1);
}
