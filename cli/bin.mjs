#!/usr/bin/env node
// The `sparsebook` command. Runs cli/main.ts compiled ahead of time (scripts/cli-build.mjs; rebuilt
// here first when missing or older than its sources). For `--backend webgpu` on a machine with no
// Vulkan driver of its own, it points Dawn at Chromium's SwiftShader ICD (and its libvulkan) — these
// must be set before the process starts, hence a re-exec in that case only.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureCliBuild } from '../scripts/cli-build.mjs';

const env = { ...process.env };
const wantsGpu = process.argv.some(
  (a, i) => a === '--backend=webgpu' || (a === '--backend' && process.argv[i + 1] === 'webgpu'),
);

function hasSystemVulkanDriver() {
  for (const dir of ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d']) {
    try {
      if (readdirSync(dir).some((f) => f.endsWith('.json'))) return true;
    } catch {
      // no such directory
    }
  }
  return false;
}

const chromiumDir = '/usr/lib/chromium';
const swiftshaderIcd = path.join(chromiumDir, 'vk_swiftshader_icd.json');
if (wantsGpu && !env.VK_ICD_FILENAMES && !hasSystemVulkanDriver() && existsSync(swiftshaderIcd)) {
  env.VK_ICD_FILENAMES = swiftshaderIcd;
  env.SPARSEBOOK_GPU_NOTE = 'SwiftShader (CPU Vulkan) from Chromium';
}
if (
  wantsGpu &&
  !existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1') &&
  existsSync(path.join(chromiumDir, 'libvulkan.so.1'))
) {
  env.LD_LIBRARY_PATH = [env.LD_LIBRARY_PATH, chromiumDir].filter(Boolean).join(':');
}

const entry = await ensureCliBuild();
if (
  env.VK_ICD_FILENAMES === process.env.VK_ICD_FILENAMES &&
  env.LD_LIBRARY_PATH === process.env.LD_LIBRARY_PATH
) {
  await import(pathToFileURL(entry).href); // exits when the command is done
} else {
  const r = spawnSync(process.execPath, [entry, ...process.argv.slice(2)], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}
