#!/usr/bin/env node
// The `sparsebook` command. Runs cli/main.ts under tsx with WGSL-as-text imports. For
// `--backend webgpu` on a machine with no Vulkan driver of its own, it points Dawn at Chromium's
// SwiftShader ICD (and its libvulkan) — these must be set before the process starts, hence the re-exec.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const here = import.meta.dirname;
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

const r = spawnSync(
  process.execPath,
  ['--import', path.join(here, 'register.mjs'), path.join(here, 'main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit', env },
);
process.exit(r.status ?? 1);
