/** The Node file store of the matmul autotune's choices: round trip, and no failure on a bad file. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileTuneStore } from '../../cli/matmul-tune-store';
import { recordMatmulChoice, setMatmulTuneStore, tunedMatmulVariant } from '../../kernels/matmul-tune-cache';
import type { MatmulShape } from '../../kernels/matmul';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sparsebook-tune-'));
afterAll(() => {
  setMatmulTuneStore(undefined);
  rmSync(dir, { recursive: true, force: true });
});

const device = {
  adapterInfo: { vendor: 'nvidia', architecture: 'hopper', device: 'h100', description: 'NVIDIA H100' },
} as unknown as GPUDevice;
const shape: MatmulShape = { m: 512, k: 768, n: 2304, transposeA: false, transposeB: true, bType: 'f32' };

describe('fileTuneStore', () => {
  it('persists choices per adapter and shape class across processes (a fresh store reads them)', () => {
    const file = path.join(dir, 'nested', 'matmul-tune.json');
    setMatmulTuneStore(fileTuneStore(file));
    recordMatmulChoice(device, shape, { kernel: 'vec4', sm: 16, sn: 16, tk: 16 });
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(saved)).toEqual(['nvidia/hopper/h100/NVIDIA H100|a:bt:f32:m512:k1024:n4096:k4:n4']);
    setMatmulTuneStore(fileTuneStore(file)); // as a new process would
    expect(tunedMatmulVariant(device, shape)).toEqual({ kernel: 'vec4', sm: 16, sn: 16, tk: 16 });
  });

  it('treats a missing or corrupt file as an empty cache', () => {
    expect(fileTuneStore(path.join(dir, 'none.json')).load()).toEqual({});
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{not json');
    setMatmulTuneStore(fileTuneStore(bad));
    expect(tunedMatmulVariant(device, shape)).toBeUndefined();
  });
});
