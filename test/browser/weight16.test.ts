/**
 * 16-bit weights on WebGPU in Chromium: fidelity of F16 / BF16 fixture copies against their
 * float32 conversion (≤ 3e-5) and embeddings split by rows (test/helpers/weight16-suite.ts).
 */
import { fetchRepoFile } from './shared-files';
import { describe } from 'vitest';
import { weight16Suite } from '../helpers/weight16-suite';
import { webGpuSuite } from '../kernels/harness';

const read = fetchRepoFile;

describe('16-bit weights [webgpu]', () => {
  const webgpu = webGpuSuite();
  weight16Suite(webgpu, read, 3e-5, (fn) => webgpu().ctx.checked(fn));
});
