/**
 * 16-bit weights on the CPU backend: fidelity of F16 / BF16 fixture copies against their float32
 * conversion (≤ 1e-5) and embeddings split by rows (test/helpers/weight16-suite.ts).
 */
import { readFileSync } from 'node:fs';
import { describe } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { weight16Suite } from '../helpers/weight16-suite';

describe('16-bit weights [cpu]', () => {
  const backend = createCpuBackend();
  weight16Suite(
    () => backend,
    (rel) => Promise.resolve(readFileSync(rel)),
    1e-5,
  );
});
